"""Scoring calibration reviews (pure): recall, location, false blocks, flags, agreement."""

from __future__ import annotations

from pathlib import Path

from specmill.core.calibration import Review, score_verifiers
from specmill.core.records import Finding, Verdict

ROOT = Path(__file__).resolve().parents[2]


def verdict(name: str, vote: str, line: int | None = None) -> Verdict:
    findings = []
    if line is not None:
        findings = [
            Finding(kind="code-defect", severity="major", message="x", file="a.py", line=line)
        ]
    return Verdict(verifier=name, verdict=vote, findings=findings)  # type: ignore[arg-type]


def test_recall_location_false_blocks_and_flags() -> None:
    error = verdict("c", "error")
    reviews = [
        Review("m", [verdict("a", "fail", 12), verdict("b", "pass"), error], "a.py", 10),
        Review("m", [verdict("a", "fail", 30), verdict("b", "fail", 20), error], "a.py", 20),
        Review("m", [verdict("a", "pass"), verdict("b", "fail"), error]),
    ]
    scores, agreement = score_verifiers(["a", "b", "c"], reviews, min_recall=0.6)
    a, b, c = scores
    assert (a.seeded, a.caught, a.located, a.recall, a.false_blocks, a.flag) == (
        2, 2, 1, 1.0, 0, "ok",
    )  # fmt: skip
    # recall 0.5 < 0.6: a rubber stamp first, even though it also blocked clean code
    assert (b.caught, b.located, b.recall, b.false_blocks, b.flag) == (1, 1, 0.5, 1, "rubber-stamp")
    # a verifier that could not answer reviewed nothing: it cannot be measured
    assert (c.seeded, c.errors, c.recall, c.clean_runs, c.flag) == (0, 3, None, 0, "unusable")
    same = {(p.a, p.b): p.same_verdict for p in agreement}
    assert same == {("a", "b"): 0.3333, ("a", "c"): None, ("b", "c"): None}


def test_a_verifier_that_blocks_clean_code_is_noisy() -> None:
    reviews = [Review("m", [verdict("a", "fail")], "a.py", 3), Review("m", [verdict("a", "fail")])]
    (a,), _ = score_verifiers(["a"], reviews, min_recall=0.5)
    assert (a.recall, a.false_blocks, a.flag) == (1.0, 1, "noisy")


def test_a_verifier_that_errs_on_half_of_its_reviews_is_unusable_whatever_it_said() -> None:
    def reviews(errors: int, given: int) -> list[Review]:
        said = [Review("m", [verdict("a", "fail", 3)], "a.py", 3) for _ in range(given)]
        erred = [Review("m", [Verdict(verifier="a", verdict="error", summary=f"HTTP 50{n}")],
                        "a.py", 3) for n in range(errors)]  # fmt: skip
        return [*erred, *said]

    (half,), _ = score_verifiers(["a"], reviews(2, 2), min_recall=0.5)
    assert (half.recall, half.errors, half.flag, half.first_error) == (
        1.0,
        2,
        "unusable",
        "HTTP 500",
    )
    (fewer,), _ = score_verifiers(["a"], reviews(1, 2), min_recall=0.5)
    assert (fewer.recall, fewer.errors, fewer.flag) == (1.0, 1, "ok")  # 1 error in 3 reviews


def test_a_verifier_that_reviewed_no_mutant_is_unmeasured_not_ok() -> None:
    """No mutant survived the checks (or the budget ran out first): recall unknown."""
    clean = [Review("m", [verdict("a", "pass"), verdict("b", "fail")])]
    (a, b), _ = score_verifiers(["a", "b"], clean, min_recall=0.5)
    assert (a.recall, a.flag) == (None, "unmeasured")
    assert b.flag == "noisy"  # what was measured still flags it
    (nothing,), _ = score_verifiers(["a"], [], min_recall=0.5)
    assert nothing.flag == "unmeasured"


def test_every_calibration_flag_has_its_rule_in_words_and_in_code() -> None:
    from specmill.core.verifier_flags import CALIBRATION_RULES, HISTORY_RULES

    assert [r.flag for r in CALIBRATION_RULES] == [
        "unusable", "rubber-stamp", "noisy", "unmeasured",
    ]  # fmt: skip  # the order they are checked in
    assert [r.flag for r in HISTORY_RULES] == [
        "unusable", "possible-rubber-stamp", "possibly-noisy",
    ]  # fmt: skip
    pages = [ROOT / "README.md", *ROOT.glob("docs/**/*.md")]
    manual = "\n".join(path.read_text(encoding="utf-8") for path in pages)
    for rule in (*CALIBRATION_RULES, *HISTORY_RULES):
        assert f"| `{rule.flag}` | {rule.when} |" in manual  # the manual states the rule
        assert rule.advice


def test_the_first_error_a_server_wrote_is_one_printable_line() -> None:
    said = "HTTP 500: \x1b[2J\x1b]0;pwned\x07 gone\r\nrm -rf ~" + "x" * 400
    error = Review("m", [Verdict(verifier="a", verdict="error", summary=said)], "a.py", 3)
    (a,), _ = score_verifiers(["a"], [error], min_recall=0.5)
    assert a.first_error is not None and a.first_error.startswith("HTTP 500: ?[2J?]0;pwned? gone")
    assert a.first_error.isprintable() and len(a.first_error) == 300
