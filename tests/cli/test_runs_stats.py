"""``specmill runs --stats``: each verifier over the recorded runs."""

from __future__ import annotations

import json

from specmill.core.calibration import CalibrationReport, MutantCounts
from specmill.core.records import AttemptRecord, Finding, ModuleResult, RunRecord, Verdict
from specmill.engine.runstore import save_run
from tests.conftest import Project

BLOCKER = Finding(kind="code-defect", severity="major", message="off by one")


def module(attempts: list[tuple[bool, list[Verdict]]]) -> ModuleResult:
    history = [
        AttemptRecord(attempt=n, passed=passed, checks_passed=True, verdicts=verdicts)
        for n, (passed, verdicts) in enumerate(attempts, start=1)
    ]
    return ModuleResult(
        module="calc",
        spec="specs/calc.md",
        inputs_hash="sha256:x",
        status="passed" if attempts[-1][0] else "failed",
        history=history,
        verdicts=history[-1].verdicts,
    )


def record(number: int, modules: list[ModuleResult]) -> RunRecord:
    return RunRecord(
        run_id=f"2026010{number}-000000-abcdef",
        started_at=f"2026-01-0{number}T00:00:00Z",
        command="regen",
        modules=modules,
    )


def test_stats_count_verdicts_fail_rate_blocking_and_agreement(project: Project) -> None:
    stamp = Verdict(verifier="stamp", verdict="pass")
    strict_fail = Verdict(verifier="strict", verdict="fail", findings=[BLOCKER, BLOCKER])
    strict_pass = Verdict(verifier="strict", verdict="pass")
    # run 1: two attempts, the first failed by the strict verifier (quorum of two)
    first = module([(False, [stamp, strict_fail]), (True, [stamp, strict_pass])])
    save_run(project.root, record(1, [first]))
    # runs 2-9: nine more attempts each passed by both: stamp reaches 20 verdicts
    for number in range(2, 10):
        many = [module([(True, [stamp, strict_pass])]) for _ in range(2)]
        save_run(project.root, record(number, many))
    calibration = RunRecord(
        run_id="20260110-000000-abcdef",
        started_at="2026-01-10T00:00:00Z",
        command="calibrate",
        modules=[module([(True, [Verdict(verifier="stamp", verdict="fail")])])],
        calibration=CalibrationReport(
            modules=["calc"], mutants=MutantCounts(), verifiers=[], agreement=[]
        ),
    )
    save_run(project.root, calibration)  # its verdicts are on seeded defects: not counted

    code, out, err = project.main("runs", "--stats", "--json")
    assert code == 0, err
    stats = {s["verifier"]: s for s in json.loads(out)}
    assert stats["stamp"] == {
        "verifier": "stamp",
        "verdicts": 18,
        "errors": 0,
        "fail_rate": 0.0,
        "blocking_findings_per_run": 0.0,
        "with_final_verdict": round(17 / 18, 4),
        "runs": 9,
        "flag": "ok",
        "possible_rubber_stamp": False,  # 18 verdicts: not yet 20
    }
    assert stats["strict"]["fail_rate"] == round(1 / 18, 4)
    assert stats["strict"]["blocking_findings_per_run"] == round(2 / 9, 2)
    assert stats["strict"]["with_final_verdict"] == 1.0

    save_run(
        project.root,
        RunRecord(
            run_id="20260111-000000-abcdef",
            started_at="2026-01-11T00:00:00Z",
            command="regen",
            modules=[module([(True, [stamp, strict_pass])]) for _ in range(2)],
        ),
    )
    code, out, _ = project.main("runs", "--stats")
    assert code == 0
    assert "stamp is flagged possible-rubber-stamp: never failed anything in 20 reviews" in out
    assert "  what to do: measure it with `specmill calibrate`" in out
    assert "strict is flagged" not in out
    shown = project.main("runs", "20260110-000000-abcdef")[1]
    assert "run 20260110-000000-abcdef (calibrate)" in shown and "calibrated calc" in shown
    listing = project.main("runs")[1]
    assert "calibrate" in listing and "calibration: 0 verifier(s), 0 flagged" in listing
    assert project.main("runs", "--stats", "x")[0] == 2
