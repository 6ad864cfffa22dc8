"""When a verifier is flagged, and why: every rule in one place. Pure.

Two measures judge the verifiers. ``specmill calibrate`` shows them seeded defects
(mutants) and the unmutated outputs; ``specmill runs --stats`` looks at what they said
over the recorded runs. Each measure has its flags, in order: a verifier gets the first
whose rule holds, else ``ok``. The rules are data (``CALIBRATION_RULES``,
``HISTORY_RULES``), so that the code that applies them, the lines the CLI prints and
README's table say the same thing. A review that ended in an error (an invalid answer,
a failing endpoint) is no evidence either way: a verifier that mostly errs is
``unusable``, whatever its few verdicts would suggest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

UNUSABLE_ERROR_SHARE = 0.5  # errors among its reviews from which a verifier is unusable
HISTORY_EVIDENCE = 20  # distinct reviews before runs --stats judges a verifier
NOISY_FAIL_RATE = 0.9  # runs --stats: failing this share of what it reviewed is noise

CalibrationFlag = Literal["ok", "unusable", "rubber-stamp", "noisy", "unmeasured"]
HistoryFlag = Literal["ok", "unusable", "possible-rubber-stamp", "possibly-noisy"]


class Calibrated(Protocol):
    """What calibration measured of one verifier (``core.calibration.VerifierScore``)."""

    @property
    def seeded(self) -> int: ...  # mutants it reviewed (scorable)
    @property
    def clean_runs(self) -> int: ...  # unmutated reviews (scorable)
    @property
    def errors(self) -> int: ...
    @property
    def recall(self) -> float | None: ...
    @property
    def false_blocks(self) -> int: ...


class Observed(Protocol):
    """What the run records show of one verifier (``core.verifier_stats``)."""

    @property
    def verdicts(self) -> int: ...  # distinct (module, code) reviews, errors included
    @property
    def errors(self) -> int: ...
    @property
    def fails(self) -> int: ...


S = TypeVar("S")
F = TypeVar("F", bound=str)


@dataclass(frozen=True)
class Rule(Generic[S, F]):
    flag: F
    when: str  # the rule in words, as README states it
    holds: Callable[[S, float], bool]  # (measured, min_recall) -> flagged?
    why: Callable[[S, float], str]  # the rule with this verifier's numbers
    advice: str  # what to do about it


def _unusable(scorable: int, errors: int) -> bool:
    return errors > 0 and errors >= UNUSABLE_ERROR_SHARE * (scorable + errors)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


CHANGE_IT = (
    "change its model (models.verifiers), change the verifier prompt"
    " (.specmill/templates/prompts/verifier.j2), or raise models.quorum"
)
FIX_ITS_ENDPOINT = (
    "run `specmill doctor` for its endpoint, read its failed calls (`specmill runs"
    " RUN_ID`), or give it a model that answers in the requested structure"
)
ERRORS = "at least half of its reviews were errors (invalid answers, a failing endpoint)"

CALIBRATION_RULES: tuple[Rule[Calibrated, CalibrationFlag], ...] = (
    Rule(
        "unusable",
        ERRORS,
        lambda v, _: _unusable(v.seeded + v.clean_runs, v.errors),
        lambda v, _: (
            f"{v.errors} of its {v.errors + v.seeded + v.clean_runs} reviews were"
            " errors: what it says cannot be measured"
        ),
        FIX_ITS_ENDPOINT,
    ),
    Rule(
        "rubber-stamp",
        "its recall (mutants caught / mutants reviewed) is below min_recall",
        lambda v, min_recall: v.recall is not None and v.recall < min_recall,
        lambda v, min_recall: (
            f"recall {_percent(v.recall)} is below min_recall {_percent(min_recall)}"
        ),
        CHANGE_IT,
    ),
    Rule(
        "noisy",
        "it failed the unmutated outputs at least once",
        lambda v, _: v.false_blocks > 0,
        lambda v, _: f"it blocked the unmutated code {v.false_blocks} time(s)",
        CHANGE_IT,
    ),
    Rule(
        "unmeasured",
        "it reviewed no mutant, so its recall is unknown",
        lambda v, _: v.recall is None,
        lambda v, _: (
            "it reviewed no mutant (none survived the checks, or the budget ran"
            " out first): its recall is unknown"
        ),
        "seed more mutants (--mutants), or give the calibration a larger budget",
    ),
)

HISTORY_RULES: tuple[Rule[Observed, HistoryFlag], ...] = (
    Rule(
        "unusable",
        ERRORS,
        lambda v, _: _unusable(v.verdicts - v.errors, v.errors),
        lambda v, _: f"{v.errors} of its {v.verdicts} reviews were errors",
        FIX_ITS_ENDPOINT,
    ),
    Rule(
        "possible-rubber-stamp",
        f"it never failed anything in {HISTORY_EVIDENCE} or more reviews",
        lambda v, _: v.verdicts - v.errors >= HISTORY_EVIDENCE and v.fails == 0,
        lambda v, _: (
            f"never failed anything in {v.verdicts - v.errors} reviews (>= {HISTORY_EVIDENCE})"
        ),
        "measure it with `specmill calibrate`",
    ),
    Rule(
        "possibly-noisy",
        f"it failed {NOISY_FAIL_RATE:.0%} or more of {HISTORY_EVIDENCE} or more reviews",
        lambda v, _: (
            v.verdicts - v.errors >= HISTORY_EVIDENCE
            and v.fails >= NOISY_FAIL_RATE * (v.verdicts - v.errors)
        ),
        lambda v, _: (
            f"failed {v.fails} of {v.verdicts - v.errors} reviews"
            f" (>= {NOISY_FAIL_RATE:.0%} of >= {HISTORY_EVIDENCE})"
        ),
        "measure it with `specmill calibrate`",
    ),
)


def first_rule(
    rules: tuple[Rule[S, F], ...], measured: S, min_recall: float = 0.0
) -> Rule[S, F] | None:
    """The first rule that holds for ``measured``: its flag is the verifier's."""
    return next((rule for rule in rules if rule.holds(measured, min_recall)), None)


def calibration_flag(score: Calibrated, min_recall: float) -> CalibrationFlag:
    rule = first_rule(CALIBRATION_RULES, score, min_recall)
    return "ok" if rule is None else rule.flag


def history_flag(stats: Observed) -> HistoryFlag:
    rule = first_rule(HISTORY_RULES, stats)
    return "ok" if rule is None else rule.flag


def rule_named(rules: tuple[Rule[S, F], ...], flag: str) -> Rule[S, F] | None:
    """The rule behind a flag (None for ``ok``)."""
    return next((rule for rule in rules if rule.flag == flag), None)
