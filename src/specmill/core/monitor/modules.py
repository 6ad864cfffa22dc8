"""Per module: its runs, attempts, escalations, candidates, why the winner won, what
failed last, its current state, and the spec questions it still leaves open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from specmill.core.monitor.runs import FAILED, disagreed, module_cost, tier_rises
from specmill.core.records import Finding, ModuleResult, RunRecord
from specmill.core.status import ModuleStatus

# The state a module shows: its worst output's (a hand edit matters more than staleness).
STATE_ORDER = ("hand-edited", "header-missing", "missing", "stale", "fresh")
GONE = "not in the project"  # seen in a record, no spec declares it now


@dataclass(frozen=True)
class ModuleRun:
    run_id: str
    started_at: str
    status: str
    attempts: int
    tier: str | None
    candidates: int  # candidates tried, over every attempt
    escalations: int
    dissent: bool
    cost_usd: float
    winner: int | None
    choice: str


@dataclass(frozen=True)
class Failure:
    run_id: str
    reason: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class OpenQuestion:
    """A planner's ambiguity or a verifier's spec gap from the module's latest run."""

    module: str
    kind: str  # "ambiguity" or "spec-gap"
    requirement: str | None
    text: str
    run_id: str
    spec_changed: bool  # the module is stale: its spec (or inputs) changed since


@dataclass
class ModuleRow:
    module: str
    spec: str | None
    state: str
    runs: list[ModuleRun] = field(default_factory=list)  # oldest first
    last_failure: Failure | None = None
    questions: list[OpenQuestion] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.runs if r.status == "passed")

    @property
    def failed(self) -> int:
        return sum(1 for r in self.runs if r.status in FAILED)

    @property
    def attempts_per_run(self) -> float | None:
        tried = [r.attempts for r in self.runs if r.attempts]
        return round(sum(tried) / len(tried), 2) if tried else None

    @property
    def escalations(self) -> int:
        return sum(r.escalations for r in self.runs)

    @property
    def candidates(self) -> int:
        return sum(r.candidates for r in self.runs)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.runs)

    @property
    def last_win(self) -> ModuleRun | None:
        return next((r for r in reversed(self.runs) if r.status == "passed"), None)

    @property
    def outcomes(self) -> tuple[str, ...]:
        found = [
            name
            for name, present in (
                ("failures", self.failed),
                ("escalations", self.escalations),
                ("dissent", any(r.dissent for r in self.runs)),
            )
            if present
        ]
        return tuple(found)


def module_state(status: ModuleStatus) -> str:
    states = {o.state for o in status.outputs}
    return next((s for s in STATE_ORDER if s in states), "fresh")


def _module_run(record: RunRecord, result: ModuleResult) -> ModuleRun:
    return ModuleRun(
        run_id=record.run_id,
        started_at=record.started_at,
        status=result.status,
        attempts=result.attempts,
        tier=result.tier,
        candidates=len(result.history),
        escalations=tier_rises(result),
        dissent=disagreed(result),
        cost_usd=module_cost(record, result.module),
        winner=result.winner,
        choice=result.choice,
    )


def _failure(record: RunRecord, result: ModuleResult) -> Failure:
    last = result.history[-1] if result.history else None
    findings = result.findings or (last.findings if last else [])
    reason = result.error or result.skipped_because or (last.reason if last else "") or ""
    blocking_first = sorted(findings, key=lambda f: not f.blocking)
    return Failure(record.run_id, reason or result.status, tuple(blocking_first))


def _questions(record: RunRecord, result: ModuleResult, stale: bool) -> list[OpenQuestion]:
    found = [
        OpenQuestion(result.module, "ambiguity", a.requirement, a.question, record.run_id, stale)
        for a in (result.plan.ambiguities if result.plan else [])
    ]
    found += [
        OpenQuestion(result.module, "spec-gap", f.requirement, f.message, record.run_id, stale)
        for f in result.findings
        if f.kind == "spec-gap"
    ]
    return found


def module_rows(records: Sequence[RunRecord], statuses: Sequence[ModuleStatus]) -> list[ModuleRow]:
    """Every module of the project (in its order), then those only the records name."""
    rows: dict[str, ModuleRow] = {
        s.module: ModuleRow(s.module, s.spec, module_state(s)) for s in statuses
    }
    for record in sorted(records, key=lambda r: (r.started_at, r.run_id)):
        for result in record.modules:
            if result.status == "unchanged":
                continue  # not regenerated in this run
            row = rows.get(result.module)
            if row is None:
                row = rows[result.module] = ModuleRow(result.module, result.spec, GONE)
            row.runs.append(_module_run(record, result))
            if result.status in FAILED:
                row.last_failure = _failure(record, result)
            if result.plan is not None or result.findings:
                # the latest run that planned or reviewed it says what is still open
                row.questions = _questions(record, result, row.state == "stale")
    return list(rows.values())


def open_questions(rows: Sequence[ModuleRow]) -> list[OpenQuestion]:
    return [q for row in rows for q in row.questions]
