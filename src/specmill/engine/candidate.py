"""One candidate of one attempt: execute, guard, stamp, check and verify in a worktree."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from specmill.core.config import Endpoint
from specmill.core.header import split_header, stamp
from specmill.core.records import (
    CheckResult,
    Finding,
    LineRange,
    Plan,
    Tier,
    Verdict,
)
from specmill.core.spec import Spec
from specmill.engine.agents import verifier_names
from specmill.engine.checks import run_checks
from specmill.engine.context import RunContext, parallel
from specmill.engine.guard import guard, missing_outputs
from specmill.engine.inputs import Brief
from specmill.engine.verdicts import Decision, decide, normalize, verdict_of
from specmill.engine.worktrees import Pending
from specmill.files import write_atomic
from specmill.llm.errors import InvalidAnswerError


@dataclass
class Candidate:
    attempt: int
    index: int
    tier: Tier
    model: str
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
    def blocking(self) -> list[Finding]:
        """What goes back to the executor."""
        return [*self.refused, *(self.decision.blocking if self.decision else [])]

    def feedback(self) -> dict[str, Any]:
        failing = [v for v in self.verdicts if v.verdict == "fail"]
        return {
            "attempt": self.attempt,
            "files": self.files or self.contents,  # stamped: line numbers as reviewers cite
            "checks": [c.model_dump() for c in self.checks if not c.passed],
            "findings": [f.model_dump() for f in self.blocking],
            "summaries": [v.summary for v in failing if v.summary],
        }


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
    index: int,
    tier: Tier,
    feedback: dict[str, Any] | None,
    ready: Pending | None = None,
) -> Candidate:
    config = ctx.project.config
    module = spec.id
    ctx.checkpoint()
    ctx.progress.stage(module, f"executing (attempt {attempt}, {tier} tier)")
    # The worktree is made while the model writes (or was started even earlier: ``ready``).
    with ctx.worktrees.prepare(dependency_files, ready=ready) as pending:
        output = ctx.agents.execute(brief, plan, tier, attempt, feedback)
        result = Candidate(attempt, index, tier, getattr(config.models, tier))
        result.contents = {f.path: f.content for f in output.files}
        ctx.checkpoint()
        tree = pending.path()
        guarded = guard(output.files, spec.outputs, config.protected_patterns, tree)
        result.refused = [*guarded.findings, *missing_outputs(guarded.accepted, spec.outputs)]
        if result.refused:
            return result
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
        commands = spec.front.checks if spec.front.checks is not None else config.checks
        if commands:
            ctx.checkpoint()
            ctx.progress.stage(module, f"checking (attempt {attempt})")
            result.checks = run_checks(
                commands,
                tree,
                env=ctx.check_env,
                timeout=config.check_timeout,
                groups=ctx.groups,
            )
    if not result.checks_passed:
        return result  # reviewers are not asked about code that fails its own checks
    ctx.checkpoint()
    ctx.progress.stage(module, f"verifying (attempt {attempt})")
    result.verdicts = verify(ctx, spec, brief, plan, result.files, result.checks, attempt)
    result.decision = decide(result.verdicts, config.models.quorum)
    return result


def verify(
    ctx: RunContext,
    spec: Spec,
    brief: Brief,
    plan: Plan | None,
    files: dict[str, str],
    checks: list[CheckResult],
    attempt: int,
) -> list[Verdict]:
    """Every verifier, each in a fresh context of its own, concurrently."""
    endpoints = ctx.project.config.models.verifiers
    names = verifier_names(endpoints)
    line_counts = {path: len(text.splitlines()) for path, text in files.items()}
    shown = [{**c.model_dump(), "passed": c.passed} for c in checks]

    def one(endpoint: Endpoint, name: str) -> Verdict:
        try:
            report = ctx.agents.verify(brief, plan, endpoint, files, shown, attempt)
        except InvalidAnswerError as exc:
            return Verdict(verifier=name, verdict="error", summary=str(exc).splitlines()[0])
        report.findings = [normalize(f, spec, line_counts) for f in report.findings]
        return verdict_of(name, report)

    tasks = [functools.partial(one, e, n) for e, n in zip(endpoints, names, strict=True)]
    return parallel(tasks)
