"""Scoring calibration reviews (pure): recall, location, false blocks, flags, agreement."""

from __future__ import annotations

from specmill.core.calibration import Review, score_verifiers
from specmill.core.records import Finding, Verdict


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
    # a verifier that could not answer reviewed nothing: no recall, no flag from it
    assert (c.seeded, c.errors, c.recall, c.clean_runs, c.flag) == (0, 3, None, 0, "ok")
    same = {(p.a, p.b): p.same_verdict for p in agreement}
    assert same == {("a", "b"): 0.3333, ("a", "c"): None, ("b", "c"): None}


def test_a_verifier_that_blocks_clean_code_is_noisy() -> None:
    reviews = [Review("m", [verdict("a", "fail")], "a.py", 3), Review("m", [verdict("a", "fail")])]
    (a,), _ = score_verifiers(["a"], reviews, min_recall=0.5)
    assert (a.recall, a.false_blocks, a.flag) == (1.0, 1, "noisy")
