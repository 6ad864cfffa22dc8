"""The pipeline for one module: plan once, then attempts of candidates until one passes.

Returns the ``ModuleResult`` and, when it passed, the stamped files to write. Failures
of the model endpoint end the module with status ``error`` (``budget-exceeded`` for
the budget) and a message; the working tree is never touched here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from specmill.core.header import style_for
from specmill.core.records import AttemptRecord, ModuleResult, Plan
from specmill.core.spec import Spec
from specmill.engine.candidate import Candidate, run_candidate
from specmill.engine.context import RunContext, parallel
from specmill.engine.inputs import gather, overlay
from specmill.engine.verdicts import Outcome, best, escalate, first_tier
from specmill.engine.worktrees import Cancelled, Pending
from specmill.errors import SpecmillError
from specmill.llm.errors import BudgetExceeded


@dataclass
class Produced:
    """A module that passed: its plan and its files, stamped, ready to write."""

    plan: Plan
    files: dict[str, str] = field(default_factory=dict)


def _history(candidate: Candidate) -> AttemptRecord:
    return AttemptRecord(
        attempt=candidate.attempt,
        candidate=candidate.index,
        tier=candidate.tier,
        model=candidate.model,
        passed=candidate.passed,
        checks_passed=None if candidate.refused else candidate.checks_passed,
        verdicts=candidate.verdicts,
        findings=candidate.blocking,
    )


def _outcome(candidate: Candidate) -> Outcome:
    findings = candidate.decision.findings if candidate.decision else []
    return Outcome(candidate.passed, len(candidate.blocking), len(findings), candidate.index)


def _only_errors(candidate: Candidate) -> bool:
    """Failed only because verifiers could not answer: another attempt would not help."""
    votes = [v.verdict for v in candidate.verdicts]
    return bool(votes) and "error" in votes and "fail" not in votes and not candidate.blocking


def run_module(
    ctx: RunContext,
    spec: Spec,
    inputs_hash: str,
    dependency_files: Mapping[str, str],
    plans: Mapping[str, Plan],
) -> tuple[ModuleResult, Produced | None]:
    result = ModuleResult(module=spec.id, spec=spec.path, inputs_hash=inputs_hash, status="error")
    spare = None
    try:
        spare = ctx.worktrees.start(dependency_files)  # made while the planner thinks
        produced = _attempts(ctx, spec, inputs_hash, dependency_files, plans, result, spare)
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
    tier = first_tier(spec.front.tier, plan.complexity)
    feedback = None
    winner: Candidate | None = None
    for attempt in range(1, config.max_attempts + 1):
        result.attempts, result.tier = attempt, tier
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
                index=i,
                tier=tier,
                feedback=feedback,
                ready=spare if (attempt, i) == (1, 1) else None,
            )
            for i in range(1, config.candidates + 1)
        ]
        candidates = parallel(tasks)
        result.history += [_history(c) for c in candidates]
        chosen = best([_outcome(c) for c in candidates])
        winner = candidates[chosen.candidate - 1]
        _describe(result, winner)
        if winner.passed:
            result.status = "passed"
            result.files = sorted(winner.files)
            result.line_requirements = winner.lines
            return Produced(plan, winner.files)
        if _only_errors(winner):
            result.status = "error"
            reason = winner.decision.reason if winner.decision else ""
            result.error = f"the verifiers could not review it: {reason}"
            return None
        feedback = winner.feedback()
        tier = escalate(tier)
    result.status = "failed"
    result.error = _why(winner)
    return None


def _describe(result: ModuleResult, candidate: Candidate) -> None:
    decision = candidate.decision
    result.checks = candidate.checks
    result.verdicts = candidate.verdicts
    result.findings = [*candidate.refused, *(decision.findings if decision else [])]
    result.disagreement = bool(decision and decision.disagreement)
    result.dissent = decision.dissent if decision else []
    result.votes_needed = decision.needed if decision else None


def _why(candidate: Candidate | None) -> str:
    if candidate is None:
        return "no attempt was made"
    if candidate.refused:
        return "; ".join(f.message for f in candidate.refused)
    failed = [c.command for c in candidate.checks if not c.passed]
    if failed:
        return "checks failed: " + ", ".join(failed)
    reason = candidate.decision.reason if candidate.decision else "not verified"
    return f"the verifiers rejected it ({reason})"
