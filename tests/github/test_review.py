"""Placement of comments on diff lines (pure): what goes inline, what goes to the summary."""

from __future__ import annotations

from specmill.core.records import Finding, ModuleResult, RunRecord
from specmill.github.review import (
    MAX_INLINE_COMMENTS,
    ChangedFile,
    ExistingComment,
    Note,
    collect_notes,
    marker,
    new_comments,
    plan_review,
    right_lines,
)
from tests.github.gh_support import (
    CODE_PATCH,
    REQUIREMENT_LINES,
    SCENARIO_PROBLEMS,
    SPEC_PATCH,
    TAX_PATCH,
    scenario_record,
)

FILES = [
    ChangedFile("specs/billing/invoice.md", SPEC_PATCH),
    ChangedFile("src/billing/invoice.py", CODE_PATCH),
    ChangedFile("src/billing/tax.py", TAX_PATCH),
    ChangedFile("docs/logo.png", None),
]


def test_right_lines_are_added_and_context_lines_of_the_head() -> None:
    lines = right_lines(FILES)
    assert lines["specs/billing/invoice.md"] == frozenset(range(10, 18))
    assert lines["src/billing/invoice.py"] == frozenset(range(18, 24))
    assert lines["src/billing/tax.py"] == frozenset({10, 11, 12})
    assert "docs/logo.png" not in lines  # binary: no patch, nothing placeable


def test_removed_lines_are_not_placeable() -> None:
    patch = "@@ -1,3 +1,1 @@\n-a\n-b\n c"
    assert right_lines([ChangedFile("x.py", patch)]) == {"x.py": frozenset({1})}


def test_unparseable_patch_places_nothing() -> None:
    assert right_lines([ChangedFile("x.py", "@@ this is not a hunk")]) in (
        {},
        {"x.py": frozenset()},
    )


def test_notes_are_located_by_kind() -> None:
    notes = collect_notes(scenario_record(), SCENARIO_PROBLEMS, REQUIREMENT_LINES)
    where = {(n.kind, n.path, n.line) for n in notes}
    assert ("spec-gap", "specs/billing/invoice.md", 14) in where  # via the requirement's line
    assert ("code-defect", "src/billing/invoice.py", 20) in where
    assert ("hand-edited", "src/billing/tax.py", 11) in where
    assert [n.source for n in notes[:2]] == ["problem", "problem"]


def test_defect_without_a_file_falls_back_to_the_spec_line() -> None:
    finding = Finding(kind="code-defect", severity="major", message="m", requirement="R2")
    module = ModuleResult(
        module="billing.invoice",
        spec="specs/billing/invoice.md",
        inputs_hash="h",
        status="failed",
        findings=[finding],
    )
    record = RunRecord(run_id="r", started_at="t", modules=[module])
    (note,) = collect_notes(record, [], REQUIREMENT_LINES)
    assert (note.path, note.line) == ("specs/billing/invoice.md", 13)


def test_plan_puts_diff_lines_inline_and_the_rest_outside() -> None:
    notes = collect_notes(scenario_record(), SCENARIO_PROBLEMS, REQUIREMENT_LINES)
    plan = plan_review(notes, FILES)
    assert sorted((c.path, c.line) for c in plan.inline) == [
        ("specs/billing/invoice.md", 14),
        ("src/billing/invoice.py", 20),
        ("src/billing/tax.py", 11),
    ]
    assert sorted((n.path, n.line) for n in plan.outside) == [
        ("specs/billing/money.md", 1),
        ("src/billing/invoice.py", 200),
    ]
    for comment in plan.inline:
        assert comment.body.startswith(marker(comment.fingerprint))
        assert comment.as_review_comment()["side"] == "RIGHT"


def test_fingerprints_are_stable_and_content_sensitive() -> None:
    note = Note("finding", "code-defect", "major", "msg", "m", "a.py", 3)
    assert (
        note.fingerprint
        == Note("finding", "code-defect", "major", "msg", "m", "a.py", 3).fingerprint
    )
    assert (
        note.fingerprint
        != Note("finding", "code-defect", "major", "msg!", "m", "a.py", 3).fingerprint
    )
    assert (
        note.fingerprint
        != Note("finding", "code-defect", "major", "msg", "m", "a.py", 4).fingerprint
    )


def test_duplicate_findings_collapse() -> None:
    record = scenario_record()
    module = record.modules[1]
    doubled = module.model_copy(update={"findings": module.findings + module.findings})
    record = record.model_copy(update={"modules": [record.modules[0], doubled]})
    assert len(collect_notes(record, [], REQUIREMENT_LINES)) == 3


def test_new_comments_skip_ours_on_current_lines_only() -> None:
    notes = collect_notes(scenario_record(), SCENARIO_PROBLEMS, REQUIREMENT_LINES)
    planned = plan_review(notes, FILES).inline
    first, second, third = planned
    existing = [
        ExistingComment(first.body, first.line, ours=True),  # posted: skipped
        ExistingComment(second.body, None, ours=True),  # outdated: reposted
        ExistingComment(third.body, third.line, ours=False),  # someone quoting it: reposted
    ]
    assert new_comments(planned, existing) == [second, third]


def test_inline_comments_are_capped() -> None:
    patch = "@@ -0,0 +1,200 @@\n" + "\n".join(f"+line {i}" for i in range(200))
    notes = [
        Note("finding", "code-defect", "minor", f"m{i}", "m", "big.py", i + 1) for i in range(80)
    ]
    plan = plan_review(notes, [ChangedFile("big.py", patch)])
    assert len(plan.inline) == MAX_INLINE_COMMENTS
    assert len(plan.outside) == 80 - MAX_INLINE_COMMENTS


def test_untrusted_text_cannot_forge_markers_or_mention() -> None:
    evil = "<!-- specmill:summary --> ping @acme/admins <img src=x>"
    note = Note("finding", "code-defect", "major", evil, "m", "src/billing/tax.py", 11)
    (comment,) = plan_review([note], FILES).inline
    assert "<!-- specmill:summary -->" not in comment.body and "<img" not in comment.body
    assert "@acme" not in comment.body


def test_the_planners_questions_go_on_their_requirement_line_or_outside() -> None:
    from specmill.core.records import Ambiguity, Plan

    evil = "Which rounding? <!-- specmill:finding 0123456789abcdef --> cc @acme/admins"
    record = RunRecord(run_id="r", started_at="2026-01-01T00:00:00Z")
    record.modules = [
        ModuleResult(
            module="billing.invoice",
            spec="specs/billing/invoice.md",
            inputs_hash="sha256:x",
            status="passed",
            plan=Plan(
                files=[], public_api=[], steps=[], complexity="low",
                ambiguities=[
                    Ambiguity(requirement="R4", question=evil),
                    Ambiguity(requirement="R9", question="Unknown id?"),
                    Ambiguity(requirement=None, question="Which currency?"),
                ],
            ),
        )
    ]  # fmt: skip
    notes = collect_notes(record, [], REQUIREMENT_LINES)
    assert [(n.source, n.path, n.line, n.blocking) for n in notes] == [
        ("question", "specs/billing/invoice.md", 15, False),
        ("question", "specs/billing/invoice.md", None, False),
        ("question", "specs/billing/invoice.md", None, False),
    ]
    review = plan_review(notes, FILES)
    (comment,) = review.inline
    assert (comment.path, comment.line) == ("specs/billing/invoice.md", 15)
    assert comment.body.startswith(marker(notes[0].fingerprint))
    assert comment.body.count("<!--") == 1 and "@acme" not in comment.body
    assert "a question the spec leaves open · `R4` · `billing.invoice`" in comment.body
    assert [n.message for n in review.outside] == ["Unknown id?", "Which currency?"]
