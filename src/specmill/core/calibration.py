"""How good are the verifiers: scores from reviews of seeded defects. Pure.

``specmill calibrate`` shows every configured verifier mutants of a module's outputs
that survived the module's checks, and the unmutated outputs (clean runs). A verifier
*caught* a mutant when its verdict fails it, *located* it when one of its blocking
findings points within ``LOCATE_LINES`` of the mutated line, and gave a *false block*
when it failed the unmutated outputs. A review that ended in an error scores nothing
(it is counted in ``errors``); ``score_verifiers`` turns the reviews into the report,
and ``core.verifier_flags`` flags each verifier.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from specmill.core.verifier_flags import (
    CALIBRATION_RULES,
    CalibrationFlag,
    calibration_flag,
    rule_named,
)

if TYPE_CHECKING:  # the records import this module for ``RunRecord.calibration``
    from specmill.core.records import Verdict

LOCATE_LINES = 2


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MutantCounts(_Record):
    seeded: int = 0  # mutants made (discarded ones included)
    discarded: int = 0  # equivalent, or did not compile
    killed_by_checks: int = 0
    reviewed: int = 0  # survived the checks and went to the verifiers


class ModuleCalibration(MutantCounts):
    module: str
    test_kill_rate: float | None = None  # killed_by_checks / (seeded - discarded)
    skipped: str | None = None  # why this module could not be calibrated
    # verdicts received (errors included) and wanted: (reviewed + clean runs) x verifiers
    reviews: int = 0
    reviews_planned: int = 0
    # checks that pass with the outputs sabotaged (command -> likely cause): they kill
    # no mutant, so with only such checks there is no test kill rate, not a 0% one
    insensitive_checks: dict[str, str] = Field(default_factory=dict)
    failed_check_output: str | None = None  # skipped for failing checks: their output


class VerifierScore(_Record):
    verifier: str
    seeded: int = Field(description="mutants this verifier reviewed (they survived the checks)")
    caught: int
    located: int
    recall: float | None  # caught / seeded; None when it reviewed no mutant
    clean_runs: int
    false_blocks: int
    errors: int = 0  # reviews it could not give (invalid answers, a failing endpoint)
    flag: CalibrationFlag
    first_error: str | None = None  # what went wrong, the first time it erred

    def why_flagged(self, min_recall: float) -> str:
        """Its flag's rule with its numbers ("" when ``ok``)."""
        rule = rule_named(CALIBRATION_RULES, self.flag)
        if rule is None:
            return ""
        first = f" (the first: {self.first_error})" if self.flag == "unusable" else ""
        return rule.why(self, min_recall) + (first if self.first_error else "")

    @property
    def advice(self) -> str:
        """What to do about its flag ("" when ``ok``)."""
        rule = rule_named(CALIBRATION_RULES, self.flag)
        return "" if rule is None else rule.advice


class Agreement(_Record):
    a: str
    b: str
    same_verdict: float | None  # over the items both judged; None when there were none


class CalibrationReport(_Record):
    modules: list[str]
    mutants: MutantCounts
    verifiers: list[VerifierScore]
    agreement: list[Agreement]
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    seed: int = 0
    min_recall: float = 0.5
    per_module: list[ModuleCalibration] = Field(default_factory=list)
    partial: str | None = None  # why the report is incomplete (the budget ran out)

    @property
    def reviews(self) -> int:
        return sum(m.reviews for m in self.per_module)

    @property
    def reviews_planned(self) -> int:
        return sum(m.reviews_planned for m in self.per_module)

    @property
    def flagged(self) -> list[VerifierScore]:
        return [v for v in self.verifiers if v.flag != "ok"]

    @property
    def calibrated(self) -> bool:
        """Something was measured: at least one review of a mutant or of clean outputs."""
        return any(v.seeded or v.clean_runs for v in self.verifiers)


@dataclass(frozen=True)
class Review:
    """Every verifier's verdict on one item: a surviving mutant, or the clean outputs."""

    module: str
    verdicts: Sequence[Verdict]
    path: str | None = None  # the mutated file; None for a clean run
    line: int | None = None  # the mutated line

    @property
    def clean(self) -> bool:
        return self.path is None


def located(verdict: Verdict, path: str, line: int) -> bool:
    return any(
        f.blocking and f.file == path and f.line is not None and abs(f.line - line) <= LOCATE_LINES
        for f in verdict.findings
    )


@dataclass
class _Tally:
    seeded: int = 0
    caught: int = 0
    located: int = 0
    clean_runs: int = 0
    false_blocks: int = 0
    errors: int = 0
    first_error: str | None = None
    votes: dict[int, str] = field(default_factory=dict)  # review index -> pass/fail


def score_verifiers(
    names: Sequence[str], reviews: Sequence[Review], min_recall: float
) -> tuple[list[VerifierScore], list[Agreement]]:
    tallies = {name: _Tally() for name in names}
    for index, review in enumerate(reviews):
        for verdict in review.verdicts:
            tally = tallies.get(verdict.verifier)
            if tally is None:
                continue
            if verdict.verdict == "error":
                tally.errors += 1
                tally.first_error = tally.first_error or _printable(verdict.summary) or None
                continue
            tally.votes[index] = verdict.verdict
            failed = verdict.verdict == "fail"
            if review.clean:
                tally.clean_runs += 1
                tally.false_blocks += failed
                continue
            assert review.path is not None and review.line is not None
            tally.seeded += 1
            tally.caught += failed
            tally.located += failed and located(verdict, review.path, review.line)
    scores = []
    for name in names:
        t = tallies[name]
        score = VerifierScore(
            verifier=name,
            seeded=t.seeded,
            caught=t.caught,
            located=t.located,
            recall=round(t.caught / t.seeded, 4) if t.seeded else None,
            clean_runs=t.clean_runs,
            false_blocks=t.false_blocks,
            errors=t.errors,
            flag="ok",
            first_error=t.first_error,
        )
        score.flag = calibration_flag(score, min_recall)
        scores.append(score)
    agreement = []
    for a, b in itertools.combinations(names, 2):
        both = tallies[a].votes.keys() & tallies[b].votes.keys()
        same = sum(tallies[a].votes[i] == tallies[b].votes[i] for i in both)
        agreement.append(
            Agreement(a=a, b=b, same_verdict=round(same / len(both), 4) if both else None)
        )
    return scores, agreement


def _printable(text: str, limit: int = 300) -> str:
    """One line a server or a model wrote, safe for a terminal: controls become '?'."""
    flat = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def kill_rate(counts: MutantCounts) -> float | None:
    ran = counts.seeded - counts.discarded
    return round(counts.killed_by_checks / ran, 4) if ran > 0 else None


def total(modules: Sequence[ModuleCalibration]) -> MutantCounts:
    return MutantCounts(
        seeded=sum(m.seeded for m in modules),
        discarded=sum(m.discarded for m in modules),
        killed_by_checks=sum(m.killed_by_checks for m in modules),
        reviewed=sum(m.reviewed for m in modules),
    )
