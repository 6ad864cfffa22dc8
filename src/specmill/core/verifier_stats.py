"""Verifiers over time: what each one said across the recorded runs. Pure.

Each verifier counts once per distinct piece of code it reviewed: per (module, code
digest), its newest verdict, so that re-verifying unchanged code twenty times is one
review, not twenty. Records made before attempts carried a digest count every verdict.
Calibration runs do not count: their verdicts are on seeded defects. "With the final
verdict" compares a vote with the attempt's outcome. Flags: ``core.verifier_flags``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from specmill.core.hashing import digest_of
from specmill.core.header import split_header
from specmill.core.records import RunRecord, Verdict
from specmill.core.verifier_flags import HISTORY_RULES, HistoryFlag, history_flag, rule_named


def code_digest(files: Mapping[str, str]) -> str | None:
    """One digest of reviewed files, headers left out (they name the run); None: none."""
    if not files:
        return None
    return digest_of({path: split_header(text, path).outside for path, text in files.items()})


@dataclass
class VerifierStats:
    verifier: str
    verdicts: int = 0  # distinct reviews, errors included
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
    def flag(self) -> HistoryFlag:
        return history_flag(self)

    @property
    def why_flagged(self) -> str:
        """Its flag's rule with its numbers ("" when ``ok``)."""
        rule = rule_named(HISTORY_RULES, self.flag)
        return "" if rule is None else rule.why(self, 0.0)

    @property
    def advice(self) -> str:
        rule = rule_named(HISTORY_RULES, self.flag)
        return "" if rule is None else rule.advice

    def as_dict(self) -> dict[str, object]:
        return {
            "verifier": self.verifier,
            "verdicts": self.verdicts,
            "errors": self.errors,
            "fail_rate": self.fail_rate,
            "blocking_findings_per_run": self.blocking_per_run,
            "with_final_verdict": self.agreement,
            "runs": self.runs,
            "flag": self.flag,
            "possible_rubber_stamp": self.flag == "possible-rubber-stamp",
        }


def _attempts(record: RunRecord) -> Iterator[tuple[str, str | None, Sequence[Verdict], bool]]:
    for module in record.modules:
        if module.history:
            for attempt in module.history:
                yield module.module, attempt.code, attempt.verdicts, attempt.passed
        elif module.verdicts:
            yield module.module, module.code, module.verdicts, module.status == "passed"


def verifier_stats(records: Sequence[RunRecord]) -> list[VerifierStats]:
    """Per verifier, over ``records`` (in any order)."""
    stats: dict[str, VerifierStats] = {}
    reviewed: set[tuple[str, str, str]] = set()  # (verifier, module, code digest)
    newest_first = sorted(records, key=lambda r: (r.started_at, r.run_id), reverse=True)
    for record in newest_first:
        if record.calibration is not None:
            continue
        seen: set[str] = set()
        for module, code, verdicts, passed in reversed(list(_attempts(record))):  # newest first
            for v in verdicts:
                s = stats.setdefault(v.verifier, VerifierStats(v.verifier))
                seen.add(v.verifier)
                s.blocking_findings += sum(1 for f in v.findings if f.blocking)
                if code is not None:
                    if (v.verifier, module, code) in reviewed:
                        continue  # the same code again: its newest verdict counted already
                    reviewed.add((v.verifier, module, code))
                s.verdicts += 1
                s.fails += v.verdict == "fail"
                s.errors += v.verdict == "error"
                if v.verdict != "error":
                    s.judged += 1
                    s.with_final += (v.verdict == "pass") == passed
        for name in seen:
            stats[name].runs += 1
    return sorted(stats.values(), key=lambda s: s.verifier)
