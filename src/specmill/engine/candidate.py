"""One candidate of one attempt: execute, guard, stamp, check and verify in a worktree.

A candidate's own failure (invalid answer, model error, budget, refused paths, failed
checks) ends that candidate only: ``run_candidate`` returns it with ``stage`` and
``reason`` set, and the other candidates go on. With ``stop`` (early stop), a
candidate stops as soon as another one of its attempt has passed; its pending model
calls are cancelled. Its worktree is removed whatever happens.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from specmill.core.config import Endpoint
from specmill.core.header import split_header, stamp
from specmill.core.records import (
    CandidateStage,
    CheckResult,
    Finding,
    LineRange,
    Plan,
    Tier,
    Verdict,
)
from specmill.core.sensitivity import mark
from specmill.core.spec import Spec
from specmill.engine.agents import verifier_names
from specmill.engine.context import RunContext, parallel
from specmill.engine.exploration import Exploration
from specmill.engine.guard import guard, missing_outputs
from specmill.engine.inputs import Brief
from specmill.engine.sensitivity import ModuleProbe, check_commands, checks_in
from specmill.engine.verdicts import Decision, decide, normalize, verdict_of
from specmill.engine.worktrees import Pending
from specmill.files import write_atomic
from specmill.llm.errors import BudgetExceeded, CallCancelled, InvalidAnswerError, LLMError


class Stopped(Exception):
    """Another candidate of the attempt passed: this one is no longer needed."""


@dataclass
class Candidate:
    attempt: int
    index: int
    tier: Tier
    model: str
    exploration: Exploration | None = None
    answered: bool = False
    error: str = ""  # why there is no usable answer (the full message: it may span lines)
    stopped: bool = False
    budget_exceeded: bool = False
    notes: str = ""
    contents: dict[str, str] = field(default_factory=dict)  # as the executor wrote them
    files: dict[str, str] = field(default_factory=dict)  # stamped, as they would be written
    lines: dict[str, list[LineRange]] = field(default_factory=dict)
    refused: list[Finding] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def checks_passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def passed(self) -> bool:
        return (
            not self.refused and self.checks_passed and bool(self.decision and self.decision.passed)
        )

    @property
    def stage(self) -> CandidateStage:
        if self.passed:
            return "passed"
        if not self.answered or self.error:
            return "no-answer"
        if self.refused:
            return "refused"
        return "checks-failed" if not self.checks_passed else "checks-passed"

    @property
    def reason(self) -> str:
        """Why it did not pass, in one line ("" when it passed)."""
        if self.passed:
            return ""
        if self.error:
            return self.error
        if self.refused:
            return "; ".join(f.message for f in self.refused)
        failed = [c for c in self.checks if not c.passed]
        if failed:
            return "checks failed: " + ", ".join(
                f"{c.command} ({c.outcome})" if c.insensitive else c.command for c in failed
            )
        reason = self.decision.reason if self.decision else "not verified"
        return f"the verifiers rejected it ({reason})"

    @property
    def findings(self) -> list[Finding]:
        """Every finding, of any severity: refused paths, then the verifiers'."""
        return [*self.refused, *(self.decision.findings if self.decision else [])]

    @property
    def blocking(self) -> list[Finding]:
        """What goes back to the executor."""
        return [*self.refused, *(self.decision.blocking if self.decision else [])]

    def feedback(self, others: Sequence[Candidate] = ()) -> dict[str, Any]:
        """What the next attempt's executors are told: this candidate's code, checks and
        findings, plus the findings of ``others`` that this one did not get."""
        failing = [v for v in self.verdicts if v.verdict == "fail"]
        own = {_finding_key(f) for f in self.blocking}
        distinct: dict[tuple[object, ...], Finding] = {}
        for other in others:
            for f in other.blocking:
                if _finding_key(f) not in own:
                    distinct.setdefault(_finding_key(f), f)
        return {
            "attempt": self.attempt,
            "candidate": self.index,
            "files": self.files or self.contents,  # stamped: line numbers as reviewers cite
            "checks": [c.model_dump() for c in self.checks if not c.passed],
            "findings": [f.model_dump() for f in self.blocking],
            "summaries": [v.summary for v in failing if v.summary],
            "others": [f.model_dump() for f in distinct.values()],
            "error": self.error,
        }


def _finding_key(finding: Finding) -> tuple[object, ...]:
    return (finding.kind, finding.requirement, finding.file, finding.message.strip().lower())


def shift_ranges(ranges: list[LineRange] | None, stamped: str, path: str) -> list[LineRange]:
    """Line ranges of the executor's content, renumbered for the stamped file."""
    header = split_header(stamped, path).header
    prefix = header.line - 1 if header is not None else 0
    size = header.size if header is not None else 0

    def moved(line: int) -> int:
        return line if line <= prefix else line + size

    return [
        LineRange(start=moved(r.start), end=moved(r.end), requirements=r.requirements)
        for r in ranges or []
        if 1 <= r.start <= r.end
    ]


def valid_ranges(ranges: list[LineRange], spec: Spec, text: str) -> list[LineRange]:
    """The executor's claims that can hold: lines inside the file, ids the spec has.

    A range past the file's end is cut to it (dropped when it starts past it); ids the
    spec does not define are dropped, and so is a range left with none.
    """
    known = {r.id for r in spec.requirements}
    count = len(text.splitlines())
    valid = []
    for r in ranges:
        ids = [i for i in r.requirements if i in known]
        if ids and r.start <= count:
            valid.append(LineRange(start=r.start, end=min(r.end, count), requirements=ids))
    return valid


def run_candidate(
    ctx: RunContext,
    spec: Spec,
    brief: Brief,
    plan: Plan,
    inputs_hash: str,
    dependency_files: Mapping[str, str],
    *,
    attempt: int,
    exploration: Exploration,
    tier: Tier,
    feedback: dict[str, Any] | None,
    ready: Pending | None = None,
    stop: threading.Event | None = None,
    probe: ModuleProbe | None = None,
) -> Candidate:
    """The candidate, failed or passed; raises only when the whole run must stop.

    ``probe``: the sensitivity of the module's checks, asked once its checks pass; an
    insensitive check is marked in its results (no pass unless the config accepts it)."""
    result = Candidate(attempt, exploration.index, tier, exploration.model, exploration)

    def checkpoint() -> None:
        ctx.checkpoint()
        if stop is not None and stop.is_set():
            raise Stopped()

    try:
        _run(ctx, spec, brief, plan, inputs_hash, dependency_files, result, feedback, ready,
             stop, checkpoint, probe)  # fmt: skip
    except (Stopped, CallCancelled):
        result.stopped = True
        result.error = "stopped early: another candidate of this attempt passed"
    except BudgetExceeded as exc:  # its message starts with "budget exhausted"
        result.budget_exceeded = True
        result.error = str(exc)
    except InvalidAnswerError as exc:
        result.error = f"no valid answer: {exc}"
    except LLMError as exc:  # the endpoint failed, or a script ran dry
        result.error = f"model error: {exc}"
    if stop is not None and result.passed:
        stop.set()
    return result


def _run(
    ctx: RunContext,
    spec: Spec,
    brief: Brief,
    plan: Plan,
    inputs_hash: str,
    dependency_files: Mapping[str, str],
    result: Candidate,
    feedback: dict[str, Any] | None,
    ready: Pending | None,
    stop: threading.Event | None,
    checkpoint: Callable[[], None],
    probe: ModuleProbe | None,
) -> None:
    config = ctx.project.config
    module, tier, way = spec.id, result.tier, result.exploration
    assert way is not None
    attempt = f"attempt {result.attempt}" + (
        f", candidate {way.index}/{way.count}" if way.varied else ""
    )
    checkpoint()
    ctx.progress.stage(module, f"executing ({attempt}, {tier} tier)")
    # The worktree is made while the model writes (or was started even earlier: ``ready``).
    with ctx.worktrees.prepare(dependency_files, ready=ready) as pending:
        output = ctx.agents.execute(brief, plan, way, result.attempt, feedback, stop)
        result.answered = True
        result.notes = output.notes.strip()
        result.contents = {f.path: f.content for f in output.files}
        checkpoint()
        tree = pending.path()
        guarded = guard(output.files, spec.outputs, config.protected_patterns, tree)
        result.refused = [*guarded.findings, *missing_outputs(guarded.accepted, spec.outputs)]
        if result.refused:
            return
        for item in guarded.accepted:
            text = stamp(
                item.content,
                item.path,
                module=module,
                spec=spec.path,
                inputs=inputs_hash,
                run=ctx.run_id,
                extra_styles=config.comment_styles,
            )
            result.files[item.path] = text
            ranges = shift_ranges(item.requirement_lines, text, item.path)
            result.lines[item.path] = valid_ranges(ranges, spec, text)
            write_atomic(tree / item.path, text)
        commands = check_commands(spec, config)
        if commands:
            checkpoint()
            ctx.progress.stage(module, f"checking ({attempt})")
            result.checks = checks_in(ctx, commands, tree)
    if probe is not None and result.checks_passed and result.checks:  # evidence only if
        accept = config.insensitive_checks == "warn"  # they could have failed
        result.checks = mark(result.checks, probe.result(result.files), accept)
    if not result.checks_passed:
        return  # reviewers are not asked about code that fails its own checks
    checkpoint()
    ctx.progress.stage(module, f"verifying ({attempt})")
    result.verdicts = verify(
        ctx, spec, brief, plan, result.files, result.checks, result.attempt,
        notes=result.notes, candidate=result.index, cancel=stop,
    )  # fmt: skip
    checkpoint()
    result.decision = decide(result.verdicts, config.models.quorum)


def verify(
    ctx: RunContext,
    spec: Spec,
    brief: Brief,
    plan: Plan | None,
    files: dict[str, str],
    checks: list[CheckResult],
    attempt: int,
    *,
    notes: str = "",
    candidate: int | None = None,
    cancel: threading.Event | None = None,
) -> list[Verdict]:
    """Every verifier, each in a fresh context of its own, concurrently.

    An invalid answer is that verifier's ``error`` verdict; any other failure (the
    endpoint, the budget) is raised once every verifier is done.
    """
    given = verify_each(ctx, spec, brief, plan, files, checks, attempt,
                        notes=notes, candidate=candidate, cancel=cancel)  # fmt: skip
    for item in given:
        if isinstance(item, LLMError):
            raise item
    return [item for item in given if isinstance(item, Verdict)]


def verify_each(
    ctx: RunContext,
    spec: Spec,
    brief: Brief,
    plan: Plan | None,
    files: dict[str, str],
    checks: list[CheckResult],
    attempt: int,
    *,
    notes: str = "",
    candidate: int | None = None,
    cancel: threading.Event | None = None,
) -> list[Verdict | LLMError]:
    """Each verifier's verdict, or the error that kept it from giving one, in order:
    what was paid for is kept even when another verifier's call failed."""
    endpoints = ctx.project.config.models.verifiers
    names = verifier_names(endpoints)
    line_counts = {path: len(text.splitlines()) for path, text in files.items()}
    shown = [{**c.model_dump(), "passed": c.passed} for c in checks]

    def one(endpoint: Endpoint, name: str) -> Verdict | LLMError:
        try:
            report = ctx.agents.verify(
                brief, plan, endpoint, files, shown, attempt,
                notes=notes, candidate=candidate, cancel=cancel,
            )  # fmt: skip
        except InvalidAnswerError as exc:
            return Verdict(verifier=name, verdict="error", summary=str(exc).splitlines()[0])
        except LLMError as exc:
            return exc
        report.findings = [normalize(f, spec, line_counts) for f in report.findings]
        return verdict_of(name, report)

    tasks = [functools.partial(one, e, n) for e, n in zip(endpoints, names, strict=True)]
    return parallel(tasks)
