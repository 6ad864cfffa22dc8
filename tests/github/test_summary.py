"""The summary comment, the check's verdict and the workflow commands (pure)."""

from __future__ import annotations

from pathlib import Path

from specmill.core.records import CheckResult, DiffStat, ModuleResult, RunRecord
from specmill.github.review import Note, collect_notes
from specmill.github.summary import (
    COMMENT_LIMIT,
    SUMMARY_MARKER,
    CheckVerdict,
    Delivery,
    SummaryInput,
    decide_verdict,
    render_summary,
    workflow_commands,
    write_step_summary,
)
from tests.github.gh_support import (
    GRAPH,
    HEAD1,
    REQUIREMENT_LINES,
    SCENARIO_PROBLEMS,
    scenario_record,
)


def summary(**changes: object) -> SummaryInput:
    record = scenario_record()
    notes = collect_notes(record, SCENARIO_PROBLEMS, REQUIREMENT_LINES)
    fields: dict[str, object] = {
        "repository": "acme/billing",
        "html_url": "https://github.com/acme/billing",
        "head_sha": HEAD1,
        "base_sha": "3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
        "reason": "regenerating the affected modules",
        "record": record,
        "notes": notes,
        "outside": notes,
        "verdict": decide_verdict(record, notes),
        "graph": GRAPH,
    }
    fields.update(changes)
    return SummaryInput(**fields)  # type: ignore[arg-type]


def test_summary_shows_modules_verifiers_graph_adoptions_and_reproduction() -> None:
    body = render_summary(summary(delivery=Delivery("patch", "artifact specmill-bundle")))
    assert body.startswith(SUMMARY_MARKER + "\n") and body.count(SUMMARY_MARKER) == 1
    assert "| `billing.invoice` | ❌ failed | 2 |" in body
    assert "`o4-mini` pass ⚠️" in body and "**dissent**: `o4-mini`" in body
    assert "`gpt-4.1`, `gpt-4.1-mini`" in body and "| 4400 | $0.0083 |" in body
    assert "```mermaid\ngraph LR\n" in body and "m0 --> m1" in body
    assert "`src/billing/legacy_tax.py`" in body
    assert "specmill regen billing.invoice" in body and "specmill check" in body
    assert "git apply specmill.patch" in body


def test_adoptions_show_their_diff_stats() -> None:
    record = summary().record
    assert record is not None
    record.adopted_diff = {"src/billing/legacy_tax.py": DiffStat(added=3, removed=1)}
    body = render_summary(summary(record=record))
    assert "- `src/billing/legacy_tax.py`: +3 −1 lines" in body.splitlines()


def test_links_use_the_repository_web_address() -> None:
    body = render_summary(summary(html_url="https://ghes.example.com/acme/billing"))
    assert f"https://ghes.example.com/acme/billing/blob/{HEAD1}/specs/billing/money.md#L1" in body


def test_summary_without_a_run_record() -> None:
    body = render_summary(
        summary(
            record=None,
            notes=[],
            outside=[],
            verdict=CheckVerdict("success", "no hand edits, nothing stale"),
        )
    )
    assert "### Modules" not in body and "specmill: success" in body


def test_pending_modules_make_the_check_neutral() -> None:
    verdict = decide_verdict(None, [], ["billing.invoice"], "fork pull request")
    assert verdict.state == "neutral" and verdict.github_state == "success"
    assert verdict.description.startswith("neutral: 1 module(s) not regenerated")


def test_verdicts() -> None:
    record = scenario_record()
    assert decide_verdict(record, []).state == "failure"  # billing.invoice failed
    passed = ModuleResult(module="a", spec="s.md", inputs_hash="h", status="passed")
    ok = RunRecord(run_id="r", started_at="t", modules=[passed])
    assert decide_verdict(ok, []).reason == "1 module(s) regenerated and verified"
    blocking = Note("finding", "code-defect", "blocker", "m", "a", "a.py", 1)
    assert decide_verdict(ok, [blocking]).state == "failure"
    assert decide_verdict(None, []).state == "success"


def test_description_fits_a_commit_status() -> None:
    verdict = CheckVerdict("failure", "x" * 500)
    assert len(verdict.description) == 140 and verdict.description.endswith("…")


def test_huge_summaries_stay_under_githubs_limit() -> None:
    many = [
        Note("finding", "code-defect", "minor", "m" * 900, "a", f"f{i}.py", 1) for i in range(400)
    ]
    body = render_summary(summary(outside=many, notes=many))
    assert len(body) <= COMMENT_LIMIT and body.startswith(SUMMARY_MARKER)
    assert "more (see the workflow annotations)" in body


def test_annotations_escape_per_githubs_rules() -> None:
    note = Note(
        "problem", "hand-edited", "blocker", "50% off\nnext line", "m", "src/a,b:c.py", 7, hint="x"
    )
    (line,) = workflow_commands([note])
    assert line == (
        "::error title=specmill hand-edited,file=src/a%2Cb%3Ac.py,line=7::50%25 off%0Anext line (x)"
    )
    minor = Note("finding", "spec-gap", "minor", "m", "m", None, None)
    assert workflow_commands([minor]) == ["::warning title=specmill spec-gap::m"]


def test_step_summary_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n", encoding="utf-8")
    write_step_summary(path, "## specmill")
    assert path.read_text(encoding="utf-8") == "earlier step\n## specmill\n"


def test_summary_shows_the_candidates_why_the_winner_won_and_the_notes() -> None:
    from specmill.core.records import AttemptRecord, Verdict

    record = scenario_record()
    module = record.modules[0]
    hostile = "table | driven <!-- specmill:summary --> @octocat"
    module.history = [
        AttemptRecord(
            attempt=1, candidate=1, model="m-c1", approach="iterative", stage="no-answer",
            reason="no valid answer: executor call for billing.invoice (m-c1)",
        ),
        AttemptRecord(
            attempt=1, candidate=2, model="m-c2", approach=hostile, stage="passed", passed=True,
            checks_passed=True, verdicts=[Verdict(verifier="a", verdict="pass")],
            finding_count=1,
        ),
    ]  # fmt: skip
    module.choice = "candidate 2 ranked first: the only one that passed"
    module.status, module.attempts, module.winner = "passed", 1, 2
    module.notes = "Could not do R3 <script>.\nKept the old rounding."
    body = render_summary(summary(record=record))
    assert "**Why this one won:** candidate 2 ranked first: the only one that passed." in body
    rows = [line for line in body.splitlines() if line.startswith("| 1 | ")]
    assert rows[0] == (
        "| 1 | 1 | iterative | `m-c1` | – | – | 0 (0 blocking) |"
        " no valid answer: executor call for billing.invoice (m-c1) |"
    )
    assert rows[1].startswith(
        "| 1 | 2 🏆 | table \\| driven &lt;\\!-- specmill:summary --&gt; @\u2060"
    )
    assert rows[1].endswith("| `m-c2` | passed | 1/1 | 1 (0 blocking) | passed |")
    assert body.count(SUMMARY_MARKER) == 1
    assert "> Could not do R3 &lt;script&gt;.\n> Kept the old rounding." in body


def test_questions_outside_the_diff_get_their_own_section() -> None:
    question = Note(
        "question", "ambiguity", "info", "Is an empty list allowed?", "billing.invoice",
        "specs/billing/invoice.md", 7, requirement="R1",
    )  # fmt: skip
    body = render_summary(summary(notes=[question], outside=[question]))
    section = body.split("### Questions the spec leaves open", 1)[1]
    link = f"https://github.com/acme/billing/blob/{HEAD1}/specs/billing/invoice.md#L7"
    assert f"[specs/billing/invoice.md:7]({link}) `R1` in `billing.invoice`" in section
    assert "Is an empty list allowed?" in section
    assert "### Outside the diff" not in body
    assert "1 question(s) the spec leaves open" in body


def test_an_insensitive_check_is_named_in_the_summary_and_fails_the_status() -> None:
    """Issue 18, item 1: a check that passes with the outputs sabotaged is no pass."""
    record = scenario_record()
    module = ModuleResult(
        module="billing.invoice",
        spec="specs/billing/invoice.md",
        inputs_hash="0" * 32,
        status="passed",
        votes_needed=0,  # no verifiers: the checks alone decide, by the recorded rule
    )
    check = CheckResult(
        command="pytest -q tests/test_invoice.py",
        exit_code=0,
        duration_s=1.0,
        output="",
        insensitive=True,
        insensitive_cause="billing is installed editable from /home/runner/work/billing",
        ended=2,
    )
    for accepted, state in ((False, "failure"), (True, "success")):
        shown = module.model_copy(
            update={"checks": [check.model_copy(update={"insensitive_accepted": accepted})]}
        )
        changed = record.model_copy(update={"modules": [shown]})
        body = render_summary(summary(record=changed, verdict=decide_verdict(changed, [])))
        assert "insensitive" in body and "passes with the module's outputs sabotaged" in body
        assert "likely cause: billing is installed editable from" in body
        assert "2 process(es) it left running were ended" in body
        assert decide_verdict(changed, []).state == state
