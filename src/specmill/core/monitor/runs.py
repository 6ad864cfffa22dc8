"""Runs over time: one row per run, in the order they started, with running totals."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from specmill.core.records import ModuleResult, RunRecord, Verdict

TIERS = ("fast", "standard", "strong")
FAILED = frozenset({"failed", "error", "budget-exceeded"})


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    command: str
    source: str  # where the record was found: "local", "git note" or both
    duration_s: float | None
    calls: int
    tokens: int
    cost_usd: float
    passed: int
    failed: int  # failed, error or budget-exceeded
    unchanged: int
    modules: tuple[str, ...]
    escalated: tuple[str, ...]  # modules whose tier rose during the run
    dissent: tuple[str, ...]  # modules on which the verifiers disagreed
    commit: str | None
    cumulative_cost: float
    cumulative_tokens: int
    calibration: bool

    @property
    def outcomes(self) -> tuple[str, ...]:
        """What the page's outcome filter matches on."""
        found = [
            name
            for name, present in (
                ("failures", self.failed),
                ("escalations", self.escalated),
                ("dissent", self.dissent),
                ("calibration", self.calibration),
            )
            if present
        ]
        return tuple(found)


def seconds_between(start: str, end: str | None) -> float | None:
    if end is None:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (ValueError, TypeError):  # a hand-made record with odd dates: no duration
        return None


def tier_rises(module: ModuleResult) -> int:
    """How many times the tier went up from one attempt to the next (escalations)."""
    by_attempt: dict[int, int] = {}
    for entry in module.history:
        if entry.tier is not None:
            rank = TIERS.index(entry.tier)
            by_attempt[entry.attempt] = max(rank, by_attempt.get(entry.attempt, rank))
    ranks = [by_attempt[a] for a in sorted(by_attempt)]
    return sum(1 for before, after in itertools.pairwise(ranks) if after > before)


def attempt_verdicts(module: ModuleResult) -> list[list[Verdict]]:
    """Every attempt's verdicts (its last verdicts, for a record without a history)."""
    return [a.verdicts for a in module.history] or [module.verdicts]


def disagreed(module: ModuleResult) -> bool:
    return bool(module.dissent) or module.disagreement


def module_cost(record: RunRecord, module: str) -> float:
    return sum(c.cost_usd for c in record.calls if c.module == module)


def run_rows(records: Sequence[RunRecord], sources: Mapping[str, str]) -> list[RunRow]:
    """One row per record, oldest first, with cumulative cost and tokens."""
    rows = []
    cost, tokens = 0.0, 0
    for record in sorted(records, key=lambda r: (r.started_at, r.run_id)):
        cost += record.cost_usd
        tokens += record.tokens
        statuses = [m.status for m in record.modules]
        rows.append(
            RunRow(
                run_id=record.run_id,
                started_at=record.started_at,
                command=record.command or "regen",
                source=sources.get(record.run_id, "local"),
                duration_s=seconds_between(record.started_at, record.finished_at),
                calls=len(record.calls),
                tokens=record.tokens,
                cost_usd=record.cost_usd,
                passed=statuses.count("passed"),
                failed=sum(1 for s in statuses if s in FAILED),
                unchanged=statuses.count("unchanged"),
                modules=tuple(m.module for m in record.modules),
                escalated=tuple(m.module for m in record.modules if tier_rises(m)),
                dissent=tuple(m.module for m in record.modules if disagreed(m)),
                commit=record.commit,
                cumulative_cost=cost,
                cumulative_tokens=tokens,
                calibration=record.calibration is not None,
            )
        )
    return rows
