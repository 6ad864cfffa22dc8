"""The summary comment, the check's verdict and the workflow commands (pure)."""

from __future__ import annotations

from pathlib import Path

from specmill.core.records import ModuleResult, RunRecord
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
