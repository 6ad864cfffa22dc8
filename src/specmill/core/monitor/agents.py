"""Verifiers and models over the recorded runs.

Verifiers: ``core.verifier_stats`` (verdicts, fail rate, agreement with the final
verdict, blocking findings per run), their flags, blocking findings run by run, and
what each calibration measured. Models: calls, tokens, cost, latency and the
structured-output mode, per role and model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from specmill.core.monitor.runs import attempt_verdicts
from specmill.core.records import RunRecord
from specmill.core.verifier_stats import VerifierStats, verifier_stats


@dataclass(frozen=True)
class CalibrationPoint:
    run_id: str
    started_at: str
    seeded: int
    caught: int
    recall: float | None
    clean_runs: int
    false_blocks: int
    errors: int
    flag: str


@dataclass
class VerifierRow:
    stats: VerifierStats
    blocking_by_run: list[int] = field(default_factory=list)  # aligned with the regen runs
    calibrations: list[CalibrationPoint] = field(default_factory=list)  # oldest first

    @property
    def name(self) -> str:
        return self.stats.verifier

    @property
    def flags(self) -> list[str]:
        """Its ``runs --stats`` flag (the rules: ``core.verifier_flags``), and the last
        calibration's."""
        found: list[str] = [] if self.stats.flag == "ok" else [self.stats.flag]
        if self.calibrations and self.calibrations[-1].flag != "ok":
            found.append(f"calibration: {self.calibrations[-1].flag}")
        return found


def _blocking(record: RunRecord, verifier: str) -> int:
    count = 0
    for module in record.modules:
        for verdicts in attempt_verdicts(module):
            count += sum(
                1 for v in verdicts if v.verifier == verifier for f in v.findings if f.blocking
            )
    return count


def verifier_rows(records: Sequence[RunRecord]) -> list[VerifierRow]:
    ordered = sorted(records, key=lambda r: (r.started_at, r.run_id))
    regens = [r for r in ordered if r.calibration is None]
    rows = {s.verifier: VerifierRow(s) for s in verifier_stats(ordered)}
    for record in ordered:
        report = record.calibration
        if report is None:
            continue
        for score in report.verifiers:
            row = rows.setdefault(score.verifier, VerifierRow(VerifierStats(score.verifier)))
            row.calibrations.append(
                CalibrationPoint(
                    run_id=record.run_id,
                    started_at=record.started_at,
                    seeded=score.seeded,
                    caught=score.caught,
                    recall=score.recall,
                    clean_runs=score.clean_runs,
                    false_blocks=score.false_blocks,
                    errors=score.errors,
                    flag=score.flag,
                )
            )
    for row in rows.values():
        row.blocking_by_run = [_blocking(r, row.name) for r in regens]
    return sorted(rows.values(), key=lambda r: r.name)


@dataclass
class ModelRow:
    role: str
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_total_s: float = 0.0
    latency_max_s: float = 0.0
    not_ok: int = 0  # answers that were invalid or errors
    structured: Counter[str] = field(default_factory=Counter)

    @property
    def latency_mean_s(self) -> float | None:
        return self.latency_total_s / self.calls if self.calls else None

    @property
    def modes(self) -> str:
        return ", ".join(f"{mode} ×{n}" for mode, n in sorted(self.structured.items()))


ROLE_ORDER = {"planner": 0, "executor": 1, "verifier": 2}


def model_rows(records: Sequence[RunRecord]) -> list[ModelRow]:
    rows: dict[tuple[str, str], ModelRow] = {}
    for record in records:
        for call in record.calls:
            row = rows.setdefault((call.role, call.model), ModelRow(call.role, call.model))
            row.calls += 1
            row.prompt_tokens += call.prompt_tokens
            row.completion_tokens += call.completion_tokens
            row.cost_usd += call.cost_usd
            row.latency_total_s += call.latency_s
            row.latency_max_s = max(row.latency_max_s, call.latency_s)
            row.not_ok += call.outcome != "ok"
            row.structured[call.structured_output or "not recorded"] += 1
    return sorted(rows.values(), key=lambda r: (ROLE_ORDER.get(r.role, 9), r.model))
