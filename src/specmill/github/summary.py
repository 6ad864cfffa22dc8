"""The summary comment, the step summary, the check's verdict and workflow annotations.

Pure, apart from ``write_step_summary``. The Markdown lives in
``templates/github/summary.md.j2``; this module only shapes the data it renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from specmill.core.quorum import recorded_passes
from specmill.core.records import AttemptRecord, ModuleResult, RunRecord
from specmill.github.render import render
from specmill.github.review import Note

SUMMARY_MARKER = "<!-- specmill:summary -->"
COMMENT_LIMIT = 65_000  # GitHub refuses comment bodies over 65,536 characters
STEP_SUMMARY_LIMIT = 1_000_000  # and step summaries over 1 MiB
STATUS_CONTEXT = "specmill"
DESCRIPTION_LIMIT = 140
_ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "budget-exceeded": "💸", "unchanged": "➖"}


@dataclass(frozen=True)
class Delivery:
    """What happened to the regenerated code (filled in by the delivery adapter)."""

    mode: Literal["commit", "pull-request", "patch", "none"]
    detail: str  # one line, plain text: "pushed 1a2b3c4 to feature/x", "artifact specmill-patch"
    files: tuple[str, ...] = ()  # the files a bundle's patch touches, as checked


@dataclass(frozen=True)
class CheckVerdict:
    state: Literal["success", "failure", "neutral"]
    reason: str

    @property
    def github_state(self) -> str:
        """Commit statuses have no neutral: it is a success that says so."""
        return "success" if self.state == "neutral" else self.state

    @property
    def description(self) -> str:
        text = f"neutral: {self.reason}" if self.state == "neutral" else self.reason
        text = " ".join(text.split())
        return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


@dataclass(frozen=True)
class SummaryInput:
    repository: str
    html_url: str  # the repository's web address (GHES aware), for links
    head_sha: str
    base_sha: str | None
    reason: str  # why the run did what it did (RunDecision.reason)
    record: RunRecord | None
    notes: Sequence[Note]  # all of them: counted here, listed below when outside the diff
    outside: Sequence[Note]  # those not posted inline
    verdict: CheckVerdict
    graph: Mapping[str, Sequence[str]] = field(default_factory=dict)  # module -> depends_on
    pending: Sequence[str] = ()  # affected modules this run did not regenerate
    delivery: Delivery | None = None
    run_url: str | None = None
    unreported: Sequence[str] = ()  # a matrix job's modules whose bundle never arrived
    conflicts: Sequence[str] = ()  # why the matrix's bundles contradict one another
    refused: Sequence[str] = ()  # why a bundle's code is neither delivered nor offered


def decide_verdict(
    record: RunRecord | None,
    notes: Sequence[Note],
    pending: Sequence[str] = (),
    why: str = "",
    *,
    unreported: Sequence[str] = (),
    conflicts: Sequence[str] = (),
    refused: Sequence[str] = (),
) -> CheckVerdict:
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        return CheckVerdict("failure", refused[0] + more)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        return CheckVerdict("failure", conflicts[0] + more)
    if unreported:
        listed = ", ".join(unreported[:10]) + (" …" if len(unreported) > 10 else "")
        return CheckVerdict("failure", f"not reported (a matrix job left no bundle): {listed}")
    problems = Counter(note.kind for note in notes if note.source == "problem")
    if problems:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(problems.items()))
        return CheckVerdict("failure", f"{counts}; run `specmill check` locally")
    modules = record.modules if record else []
    failed = [m.module for m in modules if not recorded_passes(m)]  # the one verdict rule
    if failed:
        return CheckVerdict("failure", f"not verified: {', '.join(failed)}")
    blocking = [note for note in notes if note.blocking]
    if blocking:
        return CheckVerdict("failure", f"{len(blocking)} blocking finding(s)")
    dissent = [m.module for m in modules if m.dissent]
    if pending:
        return CheckVerdict("neutral", f"{len(pending)} module(s) not regenerated here: {why}")
    if modules:
        reason = f"{len(modules)} module(s) regenerated and verified"
        if dissent:
            reason += f"; quorum passed with dissent on {', '.join(dissent)}"
        return CheckVerdict("success", reason)
    return CheckVerdict("success", "no hand edits, nothing stale")


def render_summary(summary: SummaryInput) -> str:
    """The summary comment (and step summary), kept under GitHub's size limit."""
    for limit in (100, 20, 0):
        body = render("summary.md.j2", s=summary, view=_view(summary, limit), marker=SUMMARY_MARKER)
        if len(body) <= COMMENT_LIMIT:
            return body
    return body[:COMMENT_LIMIT]


def _view(summary: SummaryInput, limit: int) -> dict[str, object]:
    record = summary.record
    modules = record.modules if record else []
    questions = [note for note in summary.outside if note.source == "question"]
    outside = [note for note in summary.outside if note.source != "question"]
    return {
        "modules": [_module_view(m, record) for m in modules],
        "mermaid": _mermaid(modules, summary.graph),
        "outside": [
            (note, note.link(summary.html_url, summary.head_sha)) for note in outside[:limit]
        ],
        "more_outside": max(0, len(outside) - limit),
        "questions": [
            (note, note.link(summary.html_url, summary.head_sha)) for note in questions[:limit]
        ],
        "more_questions": max(0, len(questions) - limit),
        "problems": sum(1 for note in summary.notes if note.source == "problem"),
        "findings": sum(1 for note in summary.notes if note.source == "finding"),
        "asked": sum(1 for note in summary.notes if note.source == "question"),
        "inline": len(summary.notes) - len(summary.outside),
        "regen": sorted(
            {m.module for m in modules if m.status not in ("passed", "unchanged")}
            | {n.module for n in summary.notes if n.source == "problem" and n.module}
            | set(summary.unreported)
        ),
        "icon": {"success": "✅", "failure": "❌", "neutral": "➖"}[summary.verdict.state],
    }


def _module_view(module: ModuleResult, record: RunRecord | None) -> dict[str, object]:
    calls = [c for c in (record.calls if record else []) if c.module == module.module]
    votes = Counter(v.verdict for v in module.verdicts)
    dissent = set(module.dissent) if module.votes_needed is not None else set()
    if module.votes_needed is None:  # an older record: the majority stands in for the result
        majority = votes.most_common(1)[0][0] if votes else None
        dissent = {v.verifier for v in module.verdicts if v.verdict != majority}
    return {
        "result": module,
        "icon": _ICONS.get(module.status, "❔"),
        "verdicts": [(v, v.verifier not in dissent) for v in module.verdicts],
        "dissent": sorted(dissent),
        "disagreement": module.disagreement or len(votes) > 1,
        "models": sorted({c.model for c in calls}),
        "tokens": sum(c.prompt_tokens + c.completion_tokens for c in calls),
        "cost": sum(c.cost_usd for c in calls),
        "several": any(h.candidate > 1 for h in module.history),
        "candidates": [_candidate_row(h, module) for h in module.history],
    }


def _candidate_row(attempt: AttemptRecord, module: ModuleResult) -> dict[str, object]:
    """One row of a module's candidate table."""
    passes = sum(1 for v in attempt.verdicts if v.verdict == "pass")
    checks = {None: "–", True: "passed", False: "failed"}[attempt.checks_passed]
    return {
        "attempt": attempt.attempt,
        "candidate": attempt.candidate,
        "approach": attempt.approach,
        "model": attempt.model,
        "checks": checks,
        "verifiers": f"{passes}/{len(attempt.verdicts)}" if attempt.verdicts else "–",
        "findings": attempt.finding_count,
        "blocking": len(attempt.findings),
        "passed": attempt.passed,
        "winner": module.status == "passed"
        and (attempt.attempt, attempt.candidate) == (module.attempts, module.winner),
        "reason": attempt.reason,
    }


def _mermaid(modules: Sequence[ModuleResult], graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Mermaid statements (node ids are generated, labels sanitised by the template)."""
    ids = {m.module: f"m{i}" for i, m in enumerate(modules)}
    edges = [
        (ids[dep], ids[module]) for module in ids for dep in graph.get(module, ()) if dep in ids
    ]
    return [f"{a} --> {b}" for a, b in edges]


def workflow_commands(notes: Sequence[Note]) -> list[str]:
    """``::error``/``::warning`` workflow commands, escaped as GitHub's toolkit does."""
    lines = []
    for note in notes:
        level = "error" if note.blocking else "warning"
        props = {"title": f"specmill {note.kind}"}
        if note.path:
            props["file"] = note.path
            if note.line:
                props["line"] = str(note.line)
        rendered = ",".join(f"{key}={_escape_property(value)}" for key, value in props.items())
        message = f"{note.message} ({note.hint})" if note.hint else note.message
        lines.append(f"::{level} {rendered}::{_escape_data(message)}")
    return lines


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def write_step_summary(path: str | Path, markdown: str) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` (the one piece of I/O here)."""
    text = markdown if len(markdown) <= STEP_SUMMARY_LIMIT else markdown[:STEP_SUMMARY_LIMIT]
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
