"""The monitor's numbers, computed from records made here (no repository, no browser)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from specmill.core.calibration import CalibrationReport, MutantCounts, VerifierScore
from specmill.core.monitor.agents import model_rows, verifier_rows
from specmill.core.monitor.charts import Series, bar_chart, line_chart, usd
from specmill.core.monitor.graph import depths, layout
from specmill.core.monitor.modules import GONE, module_rows, open_questions
from specmill.core.monitor.runs import run_rows
from specmill.core.monitor.view import build_view, in_window, spec_href
from specmill.core.probe import OutputStatus
from specmill.core.records import (
    Ambiguity,
    AttemptRecord,
    CallRecord,
    Finding,
    ModuleResult,
    Plan,
    RunRecord,
    Verdict,
)
from specmill.core.status import ModuleStatus

BLOCKER = Finding(kind="code-defect", severity="blocker", message="wrong total")
INFO = Finding(kind="spec-gap", severity="info", message="rounding is unsaid", requirement="R1")


def call(module: str, cost: float, role: str = "executor", **extra: Any) -> CallRecord:
    return CallRecord(
        role=role,  # type: ignore[arg-type]
        module=module,
        model=extra.pop("model", "m-fast"),
        template="t.j2",
        template_sha256="0",
        prompt_tokens=100,
        completion_tokens=10,
        cost_usd=cost,
        **extra,
    )


def attempt(n: int, tier: str, *votes: str, candidate: int = 1) -> AttemptRecord:
    verdicts = [
        Verdict(verifier=f"rev-{i}", verdict=v, findings=[BLOCKER] if v == "fail" else [])  # type: ignore[arg-type]
        for i, v in enumerate(votes)
    ]
    return AttemptRecord(
        attempt=n,
        candidate=candidate,
        tier=tier,  # type: ignore[arg-type]
        verdicts=verdicts,
        passed="fail" not in votes,
    )


def plan(*questions: str) -> Plan:
    return Plan(
        files=[],
        public_api=[],
        steps=[],
        complexity="low",
        ambiguities=[Ambiguity(requirement="R1", question=q) for q in questions],
    )


def run(run_id: str, started: str, *modules: ModuleResult, **extra: Any) -> RunRecord:
    return RunRecord(
        run_id=run_id, started_at=started, modules=list(modules), command="regen", **extra
    )


def result(module: str, status: str, *history: AttemptRecord, **extra: Any) -> ModuleResult:
    return ModuleResult(
        module=module,
        spec=f"specs/{module}.md",
        inputs_hash="sha256:0",
        status=status,  # type: ignore[arg-type]
        attempts=max((a.attempt for a in history), default=0),
        history=list(history),
        **extra,
    )


# Two regens of billing.invoice: it fails (escalating fast -> standard -> strong), then
# passes with two candidates and a dissenting verifier; money is regenerated once.
FIRST = run(
    "r1",
    "2026-01-01T10:00:00+00:00",
    result(
        "billing.invoice",
        "failed",
        attempt(1, "fast", "fail", "pass"),
        attempt(2, "standard", "fail", "fail"),
        attempt(3, "strong", "fail", "pass"),
        plan=plan("old question"),
        findings=[INFO, BLOCKER],
    ),
    finished_at="2026-01-01T10:01:30+00:00",
    calls=[call("billing.invoice", 0.25), call("billing.invoice", 0.5, role="planner")],
)
SECOND = run(
    "r2",
    "2026-01-02T10:00:00+00:00",
    result(
        "billing.invoice",
        "passed",
        attempt(1, "fast", "pass", "fail"),
        attempt(1, "fast", "pass", "pass", candidate=2),
        winner=2,
        choice="candidate 2 passed with fewer findings",
        dissent=["rev-1"],
        plan=plan("new question"),
    ),
    result("billing.money", "passed", attempt(1, "fast", "pass", "pass")),
    result("billing.receipt", "unchanged"),
    commit="c2",
    calls=[
        call("billing.invoice", 1.0),
        call("billing.money", 0.125, structured_output="json_schema"),
    ],
)


def status(module: str, *states: str) -> ModuleStatus:
    outputs = [OutputStatus(f"src/{module}{i}.py", s) for i, s in enumerate(states)]  # type: ignore[arg-type]
    return ModuleStatus(module, f"specs/{module}.md", "sha256:0", outputs)


def test_runs_over_time_cumulate_cost_and_name_failures_escalations_dissent() -> None:
    first, second = run_rows([SECOND, FIRST], {"r2": "git note"})  # any order in
    assert (first.run_id, second.run_id) == ("r1", "r2")
    assert (first.cost_usd, first.cumulative_cost) == (0.75, 0.75)
    assert (second.cost_usd, second.cumulative_cost) == (1.125, 1.875)
    assert first.duration_s == 90.0 and second.duration_s is None
    assert (first.passed, first.failed, second.passed, second.unchanged) == (0, 1, 2, 1)
    assert first.escalated == ("billing.invoice",) and second.escalated == ()
    assert first.outcomes == ("failures", "escalations")
    assert second.outcomes == ("dissent",)
    assert (first.source, second.source) == ("local", "git note")


def test_per_module_attempts_candidates_escalations_and_the_last_failure() -> None:
    rows = module_rows(
        [FIRST, SECOND],
        [status("billing.money", "fresh"), status("billing.invoice", "fresh", "hand-edited")],
    )
    money, invoice = rows  # receipt was only ever unchanged: no regeneration to show
    assert (money.state, invoice.state) == ("fresh", "hand-edited")
    assert [r.run_id for r in invoice.runs] == ["r1", "r2"]
    assert (invoice.passed, invoice.failed) == (1, 1)
    assert invoice.attempts_per_run == 2.0  # 3 then 1
    assert invoice.escalations == 2  # fast -> standard -> strong
    assert invoice.candidates == 5
    assert invoice.cost_usd == 1.75
    assert invoice.last_failure is not None and invoice.last_failure.run_id == "r1"
    assert invoice.last_failure.findings == (BLOCKER, INFO)  # blocking first
    assert invoice.last_win is not None and invoice.last_win.winner == 2
    assert invoice.last_win.choice == "candidate 2 passed with fewer findings"
    assert invoice.outcomes == ("failures", "escalations", "dissent")


def test_a_module_no_spec_declares_any_more_is_shown_as_gone() -> None:
    (row,) = module_rows([FIRST], [])
    assert (row.module, row.state, row.spec) == (
        "billing.invoice",
        GONE,
        "specs/billing.invoice.md",
    )


def test_open_questions_are_those_of_each_modules_latest_plan() -> None:
    rows = module_rows([FIRST, SECOND], [status("billing.invoice", "stale")])
    questions = open_questions(rows)
    assert [(q.module, q.kind, q.text, q.run_id) for q in questions] == [
        ("billing.invoice", "ambiguity", "new question", "r2")
    ]
    assert questions[0].spec_changed  # stale: the spec moved on since that run
    only_first = open_questions(module_rows([FIRST], [status("billing.invoice", "fresh")]))
    assert [(q.kind, q.text) for q in only_first] == [
        ("ambiguity", "old question"),
        ("spec-gap", "rounding is unsaid"),
    ]


def calibration(run_id: str, started: str, recall: float, flag: str) -> RunRecord:
    score = VerifierScore(
        verifier="rev-1",
        seeded=4,
        caught=int(recall * 4),
        located=0,
        recall=recall,
        clean_runs=1,
        false_blocks=0,
        flag=flag,  # type: ignore[arg-type]
    )
    report = CalibrationReport(
        modules=["billing.money"], mutants=MutantCounts(), verifiers=[score], agreement=[]
    )
    return RunRecord(run_id=run_id, started_at=started, command="calibrate", calibration=report)


def test_verifiers_numbers_flags_and_calibrations_over_time() -> None:
    records = [
        FIRST,
        SECOND,
        calibration("c1", "2026-01-03T00:00:00+00:00", 0.75, "ok"),
        calibration("c2", "2026-01-04T00:00:00+00:00", 0.25, "rubber-stamp"),
    ]
    rev0, rev1 = verifier_rows(records)
    assert (rev0.stats.verdicts, rev0.stats.fails) == (6, 3)
    assert (rev1.stats.verdicts, rev1.stats.fails) == (6, 2)
    assert rev0.blocking_by_run == [3, 0] and rev1.blocking_by_run == [1, 1]
    assert [(p.run_id, p.recall) for p in rev1.calibrations] == [("c1", 0.75), ("c2", 0.25)]
    assert rev1.flags == ["calibration: rubber-stamp"] and rev0.flags == []

    stamp = [
        run(
            f"s{i}",
            f"2026-02-01T00:00:{i:02}+00:00",
            result("m", "passed", attempt(1, "fast", "pass")),
        )
        for i in range(20)
    ]
    erring = run(
        "e", "2026-03-01T00:00:00+00:00", result("m", "failed", attempt(1, "fast", "error"))
    )
    (only,) = verifier_rows(stamp)
    assert only.flags == ["possible-rubber-stamp"]  # runs --stats' flag (core.verifier_flags)
    (broken,) = verifier_rows([erring])
    assert broken.flags == ["unusable"]


def test_models_per_role_and_model() -> None:
    rows = model_rows([FIRST, SECOND])
    assert [(r.role, r.model, r.calls, r.cost_usd) for r in rows] == [
        ("planner", "m-fast", 1, 0.5),
        ("executor", "m-fast", 3, 1.375),
    ]
    executor = rows[1]
    assert executor.prompt_tokens == 300 and executor.completion_tokens == 30
    assert executor.modes == "json_schema ×1, not recorded ×2"


def test_a_window_of_dates_and_commits() -> None:
    since = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert not in_window(FIRST, since=since) and in_window(SECOND, since=since)
    assert in_window(FIRST, until=since) and not in_window(SECOND, until=since)
    assert in_window(SECOND, commits=frozenset({"c2"}))
    assert not in_window(FIRST, commits=frozenset({"c2"}))  # no commit, no head
    headed = run("h", "2026-01-05T00:00:00+00:00", head="c2")
    assert in_window(headed, commits=frozenset({"c2"}))  # uncommitted: its head decides


@pytest.mark.parametrize(
    ("path", "href"),
    [
        ("specs/billing/invoice.md", "../specs/billing/invoice.md"),
        ("javascript:alert(1)", "../javascript%3Aalert%281%29"),
        ('specs/a"b<c>.md', "../specs/a%22b%3Cc%3E.md"),
    ],
)
def test_spec_links_never_change_scheme(path: str, href: str) -> None:
    assert spec_href("../", path) == href


def test_bars_stack_and_scale_to_the_tallest_column() -> None:
    chart = bar_chart("t", ["a", "b"], [Series("passed", [1, 3]), Series("failed", [1, 0])], usd)
    heights = [(b.series, b.height) for b in chart.bars]
    assert heights == [(0, 48.0), (1, 48.0), (0, 144.0)]  # 1, 1 and 3 of 3, in 144 units
    assert chart.bars[1].y + chart.bars[1].height == chart.bars[0].y  # stacked on top
    assert chart.bars[2].title == "b: passed $3.0000"
    lines = line_chart("t", ["a", "b", "c"], [Series("recall", [0.5, None, 1.0])], usd, 1.0)
    assert lines.lines[0].points == "106.67,78.0 533.33,6.0"  # the missing value is skipped
    assert bar_chart("t", [], [Series("x", [])], usd).empty


def test_the_graph_puts_dependencies_left_and_survives_a_cycle() -> None:
    deps = {"invoice": ["money"], "receipt": ["invoice"], "money": []}
    assert depths(["money", "invoice", "receipt"], deps) == {"money": 0, "invoice": 1, "receipt": 2}
    picture = layout(["money", "invoice", "receipt"], deps, {"invoice": "stale"})
    xs = {n.module: n.x for n in picture.nodes}
    assert xs["money"] < xs["invoice"] < xs["receipt"]
    assert [n.state for n in picture.nodes] == ["fresh", "stale", "fresh"]
    assert len(picture.edges) == 2
    cyclic = depths(["a", "b"], {"a": ["b"], "b": ["a"]})
    assert set(cyclic) == {"a", "b"}


def test_the_view_totals_are_the_records_totals() -> None:
    view = build_view(
        [FIRST, SECOND],
        [status("billing.invoice", "fresh")],
        {"billing.invoice": []},
        title="t",
        built_at="now",
        spec_base="",
    )
    assert (view.totals.runs, view.totals.cost_usd, view.totals.calls) == (2, 1.875, 4)
    assert (view.totals.passed, view.totals.failed) == (2, 1)
    assert view.spec_links == {"billing.invoice": "specs/billing.invoice.md"}  # not for gone ones
    assert [r["id"] for r in view.compare] == ["r1", "r2"]
    assert view.compare[0]["verdicts"]["rev-0"] == {"pass": 0, "fail": 3, "error": 0}
    assert view.compare[1]["modules"]["billing.invoice"]["cost"] == "$1.0000"
