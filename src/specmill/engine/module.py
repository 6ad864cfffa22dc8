"""The pipeline for one module: plan once, then attempts of candidates until one passes.

Returns the ``ModuleResult`` and, when it passed, the stamped files to write. The
candidates of an attempt explore side by side (``engine.exploration``); one's failure
is its own. The best-ranked one (``engine.ranking``) wins, or gives the next attempt
its feedback. The module ends with status ``error`` when the planner fails or no
candidate got an answer, ``budget-exceeded`` when the budget stopped one, ``failed``
when the attempts ran out; the working tree is never touched here.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from specmill.core.header import style_for
from specmill.core.records import AttemptRecord, Finding, ModuleResult, Plan
from specmill.core.sensitivity import Sensitivity
from specmill.core.spec import Spec
from specmill.core.verifier_stats import code_digest
from specmill.engine.candidate import Candidate, run_candidate
from specmill.engine.context import RunContext, parallel
from specmill.engine.divergence import Passed, Requirement, divergences
from specmill.engine.exploration import explorations
from specmill.engine.inputs import Brief, gather, overlay
from specmill.engine.ranking import Standing, changed_lines, explain, rank
from specmill.engine.sensitivity import ModuleProbe
from specmill.engine.verdicts import escalate, first_tier
from specmill.engine.worktrees import Cancelled, Pending
from specmill.errors import SpecmillError
from specmill.llm.errors import BudgetExceeded

UNCHECKED = ("no-answer", "refused")  # stages at which the checks did not run


@dataclass
class Produced:
    """A module that passed: its plan and its files, stamped, ready to write."""

    plan: Plan
    files: dict[str, str] = field(default_factory=dict)


def _history(candidate: Candidate, changed: int | None) -> AttemptRecord:
    exploration = candidate.exploration
    return AttemptRecord(
        attempt=candidate.attempt,
        candidate=candidate.index,
        tier=candidate.tier,
        model=candidate.model,
        passed=candidate.passed,
        checks_passed=None if candidate.stage in UNCHECKED else candidate.checks_passed,
        verdicts=candidate.verdicts,
        code=code_digest(candidate.files) if candidate.verdicts else None,
        findings=candidate.blocking,
        approach=exploration.approach if exploration else None,
        seed=exploration.seed if exploration else None,
        temperature=exploration.temperature if exploration else None,
        stage=candidate.stage,
        reason=candidate.reason.split("\n", 1)[0],
        stopped=candidate.stopped,
        finding_count=len(candidate.findings),
        changed_lines=changed,
        notes=candidate.notes,
    )


def _standing(candidate: Candidate, changed: int | None) -> Standing:
    return Standing(
        candidate=candidate.index,
        stage=candidate.stage,
        blocking=len(candidate.blocking),
        findings=len(candidate.findings),
        failing_verifiers=sum(1 for v in candidate.verdicts if v.verdict != "pass"),
        changed_lines=changed or 0,
    )


def _only_errors(candidate: Candidate) -> bool:
    """Failed only because verifiers could not answer: another attempt would not help."""
    votes = [v.verdict for v in candidate.verdicts]
    return bool(votes) and "error" in votes and "fail" not in votes and not candidate.blocking


def _changed(brief: Brief, candidate: Candidate) -> int | None:
    if not candidate.answered or candidate.error:
        return None
    return changed_lines(brief.previous, candidate.contents)


def run_module(
    ctx: RunContext,
    spec: Spec,
    inputs_hash: str,
    dependency_files: Mapping[str, str],
    plans: Mapping[str, Plan],
) -> tuple[ModuleResult, Produced | None]:
    result = ModuleResult(module=spec.id, spec=spec.path, inputs_hash=inputs_hash, status="error")
    spare = None
    # Both made while the planner thinks: a worktree, and the checks' sensitivity.
    probe = ModuleProbe(ctx, spec, dependency_files)
    try:
        spare = ctx.worktrees.start(dependency_files)
        produced = _attempts(ctx, spec, inputs_hash, dependency_files, plans, result, spare, probe)
    except BudgetExceeded as exc:
        result.status, result.error = "budget-exceeded", str(exc)
        produced = None
    except Cancelled:
        result.error = "interrupted"
        produced = None
    except SpecmillError as exc:  # model errors, bad templates, unsupported formats
        result.error = str(exc)
        produced = None
    finally:
        if spare is not None:
            spare.release()
        probe.wait()  # never leave the probe's checks running after the module
    ctx.progress.finished(result)
    return result, produced


def _attempts(
    ctx: RunContext,
    spec: Spec,
    inputs_hash: str,
    dependency_files: Mapping[str, str],
    plans: Mapping[str, Plan],
    result: ModuleResult,
    spare: Pending,
    probe: ModuleProbe,
) -> Produced | None:
    config = ctx.project.config
    for path in spec.outputs:  # a format without comments fails now, before any call
        style_for(path, config.comment_styles)
    read = overlay(ctx.project.read, dependency_files)
    brief = gather(ctx.project, spec, read, plans)
    ctx.checkpoint()
    ctx.progress.stage(spec.id, "planning")
    plan = ctx.agents.plan(brief)
    result.plan = plan
    accept = config.insensitive_checks == "warn"
    if probe.early:
        if probe.commands:  # no check, nothing to probe: nothing to say
            ctx.progress.stage(spec.id, "probing its checks on sabotaged outputs")
        if _cannot_pass(result, probe.result(), accept):  # no executor is paid for
            return None
    tier = first_tier(spec.front.tier, plan.complexity)
    feedback = None
    candidates: list[Candidate] = []
    for attempt in range(1, config.max_attempts + 1):
        result.attempts, result.tier = attempt, tier
        ways = explorations(config.candidates, plan, config.models, tier)
        stop = threading.Event() if config.early_stop and len(ways) > 1 else None
        tasks = [
            functools.partial(
                run_candidate,
                ctx,
                spec,
                brief,
                plan,
                inputs_hash,
                dependency_files,
                attempt=attempt,
                exploration=way,
                tier=tier,
                feedback=feedback,
                ready=spare if (attempt, way.index) == (1, 1) else None,
                stop=stop,
                probe=probe,
            )
            for way in ways
        ]
        candidates = parallel(tasks)
        changed = {c.index: _changed(brief, c) for c in candidates}
        result.history += [_history(c, changed[c.index]) for c in candidates]
        ranked = rank([_standing(c, changed[c.index]) for c in candidates])
        by_index = {c.index: c for c in candidates}
        winner = by_index[ranked[0].candidate]
        _describe(result, winner, explain(ranked))
        if winner.passed:
            result.status = "passed"
            result.files = sorted(winner.files)
            result.line_requirements = winner.lines
            result.findings += _divergences(spec, candidates)
            return Produced(plan, winner.files)
        known = probe.known()
        if known is not None and _cannot_pass(result, known, accept):  # nor would the next
            return None
        refused = [c for c in candidates if c.budget_exceeded]
        if refused:  # the next attempt would be refused too; the budget's message first
            first = refused[0]
            others = "; ".join(
                f"candidate {c.index}: {c.reason}" for c in candidates if c is not first
            )
            why = first.error + (f" (candidate {first.index}; {others})" if others else "")
            result.status, result.error = "budget-exceeded", why
            return None
        if not any(c.answered for c in candidates):  # the endpoint, not the code, failed
            result.error = _why(candidates)
            return None
        if _only_errors(winner):
            result.status = "error"
            reason = winner.decision.reason if winner.decision else ""
            result.error = f"the verifiers could not review it: {reason}"
            return None
        feedback = winner.feedback([by_index[s.candidate] for s in ranked[1:]])
        tier = escalate(tier)
    result.status = "failed"
    result.error = _why(candidates)
    return None


def _cannot_pass(result: ModuleResult, sensitivity: Sensitivity, accept: bool) -> bool:
    """Whether an insensitive check ends the module; if so, ``result`` says why."""
    if not sensitivity.blocks(accept):
        return False
    result.status, result.error = "failed", sensitivity.reason()
    result.checks = sensitivity.evidence(accept)
    return True


def _divergences(spec: Spec, candidates: list[Candidate]) -> list[Finding]:
    passed = [
        Passed(
            c.index,
            c.exploration.approach if c.exploration else None,
            c.files,
            c.lines,
            c.verdicts,
        )
        for c in candidates
        if c.passed
    ]
    requirements = [Requirement(r.id, r.line, r.text) for r in spec.requirements]
    return divergences(passed, requirements)


def _describe(result: ModuleResult, candidate: Candidate, why: str) -> None:
    decision = candidate.decision
    result.checks = candidate.checks
    result.verdicts = candidate.verdicts
    result.findings = candidate.findings
    result.disagreement = bool(decision and decision.disagreement)
    result.winner = candidate.index
    result.choice = why
    result.notes = candidate.notes
    result.dissent = decision.dissent if decision else []
    result.votes_needed = decision.needed if decision else None


def _why(candidates: list[Candidate]) -> str:
    """Why no candidate of the attempt passed: each one's reason."""
    if len(candidates) == 1:
        return candidates[0].reason
    return "; ".join(f"candidate {c.index}: {c.reason}" for c in candidates)
