"""Verifiers over time: what each one said across the recorded runs. Pure.

Every attempt a verifier reviewed counts (a module's history, or its last verdicts
for records without one); calibration runs do not, their verdicts are on seeded
defects. "With the final verdict" compares a vote with the attempt's outcome.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from specmill.core.records import RunRecord, Verdict

RUBBER_STAMP_VERDICTS = 20


@dataclass
class VerifierStats:
    verifier: str
    verdicts: int = 0
    fails: int = 0
    errors: int = 0
    blocking_findings: int = 0
    runs: int = 0
    with_final: int = 0
    judged: int = 0  # pass/fail votes on an attempt with an outcome

    @property
    def fail_rate(self) -> float | None:
        given = self.verdicts - self.errors
        return round(self.fails / given, 4) if given else None

    @property
    def blocking_per_run(self) -> float | None:
        return round(self.blocking_findings / self.runs, 2) if self.runs else None

    @property
    def agreement(self) -> float | None:
        return round(self.with_final / self.judged, 4) if self.judged else None

    @property
    def possible_rubber_stamp(self) -> bool:
        return self.verdicts - self.errors >= RUBBER_STAMP_VERDICTS and self.fails == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "verifier": self.verifier,
            "verdicts": self.verdicts,
            "fail_rate": self.fail_rate,
            "blocking_findings_per_run": self.blocking_per_run,
            "with_final_verdict": self.agreement,
            "runs": self.runs,
            "possible_rubber_stamp": self.possible_rubber_stamp,
        }


def _attempts(record: RunRecord) -> Iterator[tuple[Sequence[Verdict], bool]]:
    for module in record.modules:
        if module.history:
            for attempt in module.history:
                yield attempt.verdicts, attempt.passed
        elif module.verdicts:
            yield module.verdicts, module.status == "passed"


def verifier_stats(records: Sequence[RunRecord]) -> list[VerifierStats]:
    stats: dict[str, VerifierStats] = {}
    for record in records:
        if record.calibration is not None:
            continue
        seen: set[str] = set()
        for verdicts, passed in _attempts(record):
            for v in verdicts:
                s = stats.setdefault(v.verifier, VerifierStats(v.verifier))
                seen.add(v.verifier)
                s.verdicts += 1
                s.fails += v.verdict == "fail"
                s.errors += v.verdict == "error"
                s.blocking_findings += sum(1 for f in v.findings if f.blocking)
                if v.verdict != "error":
                    s.judged += 1
                    s.with_final += (v.verdict == "pass") == passed
        for name in seen:
            stats[name].runs += 1
    return sorted(stats.values(), key=lambda s: s.verifier)
