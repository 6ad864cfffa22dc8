"""Verifiers over the recorded runs (pure): distinct reviews, noise, errors."""

from __future__ import annotations

from specmill.core.header import stamp
from specmill.core.records import AttemptRecord, ModuleResult, RunRecord, Verdict
from specmill.core.verifier_flags import HISTORY_EVIDENCE
from specmill.core.verifier_stats import code_digest, verifier_stats


def run(
    verdicts: list[tuple[str, str]], code: str | None, passed: bool = True, day: int = 1
) -> RunRecord:
    """One regen run whose one attempt has these (verifier, vote) on this code."""
    attempt = AttemptRecord(
        attempt=1,
        passed=passed,
        code=code,
        verdicts=[Verdict(verifier=name, verdict=vote) for name, vote in verdicts],  # type: ignore[arg-type]
    )
    module = ModuleResult(
        module="calc", spec="specs/calc.md", inputs_hash="x", status="passed", history=[attempt]
    )
    return RunRecord(run_id="r", started_at=f"2026-01-{day:02d}T00:00:00Z", modules=[module])


def test_the_same_code_reviewed_again_is_one_review() -> None:
    same = code_digest({"calc.py": "def add(a, b):\n    return a + b\n"})
    records = [run([("stamp", "pass")], same) for _ in range(HISTORY_EVIDENCE)]
    (stamp,) = verifier_stats(records)
    assert (stamp.verdicts, stamp.runs, stamp.flag) == (1, HISTORY_EVIDENCE, "ok")
    distinct = [run([("stamp", "pass")], f"sha:{n}") for n in range(HISTORY_EVIDENCE)]
    (stamp,) = verifier_stats(distinct)
    assert (stamp.verdicts, stamp.flag) == (HISTORY_EVIDENCE, "possible-rubber-stamp")
    old = [run([("stamp", "pass")], None) for _ in range(HISTORY_EVIDENCE)]  # no digest yet
    assert verifier_stats(old)[0].verdicts == HISTORY_EVIDENCE


def test_the_newest_verdict_on_the_same_code_is_the_one_counted() -> None:
    older = run([("a", "pass")], "sha:1", day=1)
    newer = run([("a", "fail")], "sha:1", passed=False, day=2)
    for records in ([older, newer], [newer, older]):  # in any order, as the monitor's
        (a,) = verifier_stats(records)
        assert (a.verdicts, a.fails, a.agreement) == (1, 1, 1.0)


def test_headers_do_not_make_the_same_code_look_new() -> None:
    body = "def add(a, b):\n    return a + b\n"
    fields = {"module": "calc", "spec": "specs/calc.md", "inputs": "sha256:" + "0" * 32}
    one = code_digest({"calc.py": stamp(body, "calc.py", run="20260101-000000-aaaaaa", **fields)})
    two = code_digest({"calc.py": stamp(body, "calc.py", run="20260102-000000-bbbbbb", **fields)})
    changed = stamp(body + "# changed\n", "calc.py", run="20260101-000000-aaaaaa", **fields)
    assert one == two != code_digest({"calc.py": changed})


def test_a_verifier_that_fails_nearly_everything_is_noisy_and_one_that_only_errs_unusable() -> None:
    n = HISTORY_EVIDENCE
    records = [
        run([("noisy", "fail" if i else "pass"), ("broken", "error"), ("good", "pass")], f"sha:{i}")
        for i in range(n)
    ]
    stats = {s.verifier: s for s in verifier_stats(records)}
    assert (stats["noisy"].fail_rate, stats["noisy"].agreement) == (round((n - 1) / n, 4), 1 / n)
    assert stats["noisy"].flag == "possibly-noisy"
    assert (stats["broken"].errors, stats["broken"].fail_rate, stats["broken"].flag) == (
        n, None, "unusable",
    )  # fmt: skip
    assert stats["good"].flag == "possible-rubber-stamp"  # never failed in n reviews
    fewer = verifier_stats(records[: n - 1])
    assert {s.verifier: s.flag for s in fewer}["noisy"] == "ok"  # not enough evidence yet
