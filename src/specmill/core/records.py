"""Data that crosses stage boundaries: what agents return, what a run records.

Agent outputs (``Plan``, ``ExecutorOutput``, ``VerifierReport``) are validated from model
answers; ``ModuleResult`` and ``RunRecord`` are what the engine hands to reports, the
bot and ``specmill runs``/``trace``. All pure data, ``extra="forbid"``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from specmill.core.calibration import CalibrationReport

Severity = Literal["blocker", "major", "minor", "info"]
BLOCKING_SEVERITIES: frozenset[str] = frozenset({"blocker", "major"})
FindingKind = Literal[
    "code-defect",  # the code does not do what the spec says
    "spec-gap",  # the spec is ambiguous, contradictory or silent on something that matters
    "plan-deviation",  # the code departs from the plan
    "path-refused",  # the executor tried to write outside the declared outputs
    "check-failed",  # a configured check command failed
]
Complexity = Literal["low", "medium", "high"]
Tier = Literal["fast", "standard", "strong"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- what agents answer -------------------------------------------------------------


class PlannedFile(_Record):
    path: str
    purpose: str


class PlanStep(_Record):
    description: str
    requirements: list[str] = Field(description="requirement ids this step implements")


class Ambiguity(_Record):
    requirement: str | None = Field(description="requirement id, or null if general")
    question: str


class Plan(_Record):
    files: list[PlannedFile]
    public_api: list[str] = Field(description="signatures other modules may rely on")
    steps: list[PlanStep]
    complexity: Complexity
    ambiguities: list[Ambiguity]
    approaches: list[str] = Field(
        default_factory=list,
        description="two or three genuinely different ways to write this module (e.g."
        " 'iterative', 'table-driven'), one line each; parallel candidates take one each",
    )


class LineRange(_Record):
    start: int = Field(description="first line, 1-based")
    end: int = Field(description="last line, inclusive")
    requirements: list[str] = Field(description="requirement ids these lines implement")


class FileContent(_Record):
    path: str
    content: str = Field(description="the whole file, without the specmill header")
    requirement_lines: list[LineRange] | None = Field(
        default=None,
        description="which lines of content (1-based) implement which requirement ids",
    )


class ExecutorOutput(_Record):
    files: list[FileContent]
    notes: str


class SearchReplace(_Record):
    """One edit of a previous version, as Aider's SEARCH/REPLACE blocks are."""

    path: str
    search: str = Field(
        description="lines copied exactly from the previous version (whitespace included),"
        " enough of them to occur exactly once"
    )
    replace: str = Field(description="the lines that take their place")


class ExecutorEdits(_Record):
    """The executor's answer as edits of the previous version, for long outputs."""

    edits: list[SearchReplace] = Field(
        description="applied in order; an output listed for edits and not edited is unchanged"
    )
    files: list[FileContent] = Field(
        description="the whole content of every other output (those not listed for edits)"
    )
    notes: str


class Finding(_Record):
    kind: FindingKind
    severity: Severity
    message: str
    requirement: str | None = Field(default=None, description="requirement id, e.g. R2")
    file: str | None = Field(default=None, description="repository-relative path")
    line: int | None = Field(default=None, description="1-based line in file")
    spec_line: int | None = Field(default=None, description="1-based line in the spec")

    @property
    def blocking(self) -> bool:
        return self.severity in BLOCKING_SEVERITIES


class VerifierReport(_Record):
    verdict: Literal["pass", "fail"]
    summary: str
    findings: list[Finding]


# --- what a run records -------------------------------------------------------------


class Verdict(_Record):
    verifier: str  # model name (or endpoint label)
    verdict: Literal["pass", "fail", "error"]
    summary: str = ""
    findings: list[Finding] = Field(default_factory=list)


class CheckResult(_Record):
    command: str
    exit_code: int | None  # None: timed out or could not start
    duration_s: float
    output: str  # captured, truncated
    timed_out: bool = False
    ended: int = 0  # processes it left running, which specmill ended after it
    # It passed with the module's outputs sabotaged: it cannot tell their good code from
    # broken code, so its pass is no evidence (``specmill.engine.sensitivity``).
    insensitive: bool = False
    insensitive_accepted: bool = False  # counted anyway: insensitive_checks = "warn"
    insensitive_cause: str = ""  # the likely reason, when specmill can tell

    @property
    def passed(self) -> bool:
        if self.insensitive and not self.insensitive_accepted:
            return False
        return self.exit_code == 0 and not self.timed_out

    @property
    def outcome(self) -> str:
        """One phrase for every place a check is shown: terminal, review, summary."""
        if self.insensitive:
            accepted = (
                ' (accepted: insensitive_checks = "warn")' if self.insensitive_accepted else ""
            )
            return f"insensitive{accepted}: it passes with the module's outputs sabotaged"
        if self.timed_out:
            return "timed out"
        if self.exit_code == 0:
            return "passed"
        return "failed" if self.exit_code is None else f"failed (exit {self.exit_code})"


class CallRecord(_Record):
    role: Literal["planner", "executor", "verifier"]
    module: str
    model: str
    template: str
    template_sha256: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempt: int = 1
    # abandoned: its caller stopped waiting (early stop); the answer, if any, went unused
    outcome: Literal["ok", "invalid", "error", "abandoned"] = "ok"
    candidate: int | None = None  # which candidate of the attempt; None: the planner's
    # prompt part -> tokens (spec, governance, dependencies, context, previous, feedback)
    prompt_parts: dict[str, int] = Field(default_factory=dict)
    prompt_cut: list[str] = Field(default_factory=list)  # parts left out to fit the limit
    token_count: str = ""  # how prompt_parts were counted: "tiktoken o200k_base", "estimate…"
    answer_form: Literal["whole", "edits"] | None = None  # executor calls
    edit_problems: list[str] = Field(default_factory=list)  # edits of the answer that failed
    # the response format the endpoint took for this call (json_schema,
    # json_object_schema, json_object or none); None: not an OpenAI-compatible call
    structured_output: str | None = None
    # requests sent (re-asks, retries and format negotiation included); 0 in records
    # written before specmill counted them
    requests: int = 0
    # tokens and cost are what was reserved for a request still unanswered when the run
    # was saved (an abandoned call), not what the server reported
    estimated: bool = False
    # whether the answers came streamed (None: not an OpenAI-compatible call), seconds
    # from sending to the first token, and answer tokens a second once they flowed
    streamed: bool | None = None
    first_token_s: float | None = None
    tokens_per_s: float | None = None


CandidateStage = Literal["passed", "checks-passed", "checks-failed", "refused", "no-answer"]


class AttemptRecord(_Record):
    """One candidate of one attempt, as the feedback loop saw it."""

    attempt: int
    candidate: int = 1
    tier: Tier | None = None
    model: str = ""
    passed: bool = False
    checks_passed: bool | None = None  # None: checks did not run
    verdicts: list[Verdict] = Field(default_factory=list)
    # the reviewed files' digest, headers left out (core.verifier_stats.code_digest)
    code: str | None = None
    findings: list[Finding] = Field(default_factory=list)  # what went back to the executor
    approach: str | None = None  # the hint its executor prompt carried (None: a lone candidate)
    seed: int | None = None  # sampling asked of the endpoint (dropped where unsupported)
    temperature: float | None = None
    stage: CandidateStage = "no-answer"  # how far it got; the ranking's first key
    reason: str = ""  # why it failed or was stopped, in one line
    stopped: bool = False  # stopped early: another candidate of its attempt had passed
    finding_count: int = 0  # findings of every severity, from every verifier
    changed_lines: int | None = None  # lines added or removed against the previous version
    notes: str = ""  # what the executor said it could not do, or where it departed


class ModuleResult(_Record):
    module: str
    spec: str
    inputs_hash: str
    status: Literal["passed", "failed", "error", "budget-exceeded", "unchanged"]
    attempts: int = 0
    tier: Tier | None = None
    files: list[str] = Field(default_factory=list)
    plan: Plan | None = None
    verdicts: list[Verdict] = Field(default_factory=list)  # of the winning/last attempt
    code: str | None = None  # the digest of the code those verdicts are on (verify)
    findings: list[Finding] = Field(default_factory=list)  # aggregated, quorum applied
    disagreement: bool = False  # verifiers did not all agree
    dissent: list[str] = Field(default_factory=list)  # verifiers that voted against the result
    votes_needed: int | None = None  # the quorum that decided (None: a majority)
    checks: list[CheckResult] = Field(default_factory=list)
    error: str | None = None
    skipped_because: str | None = None  # status "error": a dependency failed, or the run stopped
    history: list[AttemptRecord] = Field(default_factory=list)  # every attempt, in order
    # output path -> line ranges (in the written file, header included) -> requirement ids
    line_requirements: dict[str, list[LineRange]] = Field(default_factory=dict)
    winner: int | None = None  # the best-ranked candidate of the last attempt
    choice: str = ""  # why it ranked first, in one sentence
    notes: str = ""  # its executor's notes: claims, not verified facts
    # one short digest per input when generated (Project.input_digests): names what changed
    input_digests: dict[str, str] = Field(default_factory=dict)


class DiffStat(_Record):
    """What a pull request changed in one file (``git diff --numstat``)."""

    added: int = Field(default=0, ge=0)
    removed: int = Field(default=0, ge=0)
    new_file: bool = False


class RunRecord(_Record):
    run_id: str
    started_at: str  # ISO 8601, UTC
    finished_at: str | None = None
    base: str | None = None
    head: str | None = None
    modules: list[ModuleResult] = Field(default_factory=list)
    calls: list[CallRecord] = Field(default_factory=list)
    commit: str | None = None
    adopted: list[str] = Field(default_factory=list)  # outputs brought in by `specmill adopt`
    adopted_diff: dict[str, DiffStat] = Field(default_factory=dict)  # path -> the PR's change
    command: str | None = None  # "regen", "plan", "verify", "calibrate"
    calibration: CalibrationReport | None = None  # `specmill calibrate`: the report

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)

    @property
    def models(self) -> list[str]:
        return sorted({c.model for c in self.calls})
