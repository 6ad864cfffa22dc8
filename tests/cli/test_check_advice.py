"""`specmill check` says what happened and what to run, with the real module and paths,
and keeps .gitattributes' managed block honest (`--fix` rewrites it)."""

from __future__ import annotations

import json

from tests.conftest import Project

BLOCK_STALE = (
    ".gitattributes:{line}: invalid: specmill's block of generated outputs is out of date: "
    "it marks src/billing/money.py (no spec declares it); does not mark src/billing/cash.py"
)


def test_a_declared_file_never_adopted_says_so_and_offers_adopt(billing: Project) -> None:
    billing.write("specs/billing/tax.md", "---\noutputs:\n  - src/billing/tax.py\n---\n# Tax\n")
    billing.write("src/billing/tax.py", "RATE = 0.2\n")
    code, out, err = billing.main("check")
    assert (code, out.splitlines(), err.splitlines()) == (
        1,
        [
            "src/billing/tax.py:1: header-missing: not generated or adopted yet (it has no "
            "specmill header); specs/billing/tax.md (module billing.tax) declares it"
        ],
        [
            "  fix: run `specmill adopt src/billing/tax.py` to adopt the code as it is, "
            "`specmill regen billing.tax` to generate it, or `specmill eject "
            "src/billing/tax.py` to take it out of the spec's outputs"
        ],
    )
    billing.commit("tax, by hand")  # committed without a header: still never adopted
    assert billing.main("check")[1] == out


def test_a_header_removed_in_an_earlier_commit_is_still_removed(billing: Project) -> None:
    billing.write("src/billing/money.py", "class Money:\n    pass\n")
    billing.commit("SKIP=specmill-no-hand-edits: drop the header")
    code, out, _ = billing.main("check")
    assert code == 1
    assert out.startswith("src/billing/money.py:1: header-missing: its specmill header was removed")


def test_every_hint_names_the_module_and_path_in_text_and_json(billing: Project) -> None:
    billing.write("specs/billing/money.md", billing.read("specs/billing/money.md") + "- **M2** +\n")
    (billing.root / "tests/billing/test_invoice.py").unlink()
    code, _, err = billing.main("check")
    assert code == 1
    assert "MODULE" not in err and "PATH" not in err
    assert "  fix: run `specmill regen billing.money`" in err.splitlines()
    assert (
        "  fix: run `specmill regen billing.invoice` to generate it, or remove it from the "
        "outputs of specs/billing/invoice.md"
    ) in err.splitlines()
    problems = json.loads(billing.main("check", "--json")[1])
    assert {p["hint"] for p in problems} == {
        line.removeprefix("  fix: ") for line in err.splitlines()
    }


def test_a_file_moved_by_hand_is_recognised_and_the_hint_moves_it_back_with_mv(
    billing: Project,
) -> None:
    (billing.root / "src/billing/money.py").rename(billing.root / "src/billing/cash.py")
    code, out, err = billing.main("check")
    assert code == 1
    assert (
        "src/billing/cash.py:1: orphan: adopted for specs/billing/money.md (module "
        "billing.money), but no spec declares it; that module's src/billing/money.py does "
        "not exist: was it moved here by hand?"
    ) in out.splitlines()
    fix = (
        "  fix: `mv src/billing/cash.py src/billing/money.py && specmill mv "
        "src/billing/money.py src/billing/cash.py` moves it and updates specs/billing/money.md "
        "and .gitattributes (no model call); or name src/billing/cash.py instead of "
        "src/billing/money.py in the outputs of specs/billing/money.md"
    )
    assert fix in err.splitlines()
    (billing.root / "src/billing/cash.py").rename(billing.root / "src/billing/money.py")
    code, _, err = billing.main("mv", "src/billing/money.py", "src/billing/cash.py")
    assert code == 0, err
    assert billing.main("check") == (0, "", "")


def test_a_stale_gitattributes_block_is_reported_and_check_fix_rewrites_it(
    billing: Project,
) -> None:
    """A hand move plus an `outputs:` edit passes every hook; the block still marks the old
    path, and check says so (DESIGN's kinds are fixed: a managed file out of date is
    `invalid`)."""
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    spec = billing.read("specs/billing/money.md")
    billing.write("specs/billing/money.md", spec.replace("money.py", "cash.py"))
    before = billing.read(".gitattributes")
    line = before.splitlines().index("src/billing/money.py linguist-generated=true") + 1
    code, out, err = billing.main("check")
    assert (code, out.splitlines()) == (1, [BLOCK_STALE.format(line=line)])
    assert err.splitlines() == [
        "  fix: run `specmill check --fix` to rewrite the block (adopt, regen, mv and eject "
        "rewrite it too)"
    ]
    assert billing.read(".gitattributes") == before  # check alone writes nothing

    code, out, err = billing.main("check", "--fix")
    assert (code, out) == (0, "")
    assert err == "fixed .gitattributes: its specmill block now marks the 3 declared outputs\n"
    after = billing.read(".gitattributes")
    assert "src/billing/cash.py linguist-generated=true" in after
    assert "src/billing/money.py" not in after
    assert billing.main("check") == (0, "", "")


def test_check_fix_leaves_other_problems_and_a_fresh_block_alone(billing: Project) -> None:
    before = billing.read(".gitattributes")
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "X = 1\n")
    code, out, err = billing.main("check", "--fix")
    assert code == 1 and out.startswith("src/billing/money.py:") and "fixed" not in err
    assert billing.read(".gitattributes") == before


def test_no_block_is_no_problem_and_hand_lines_outside_it_are_kept(billing: Project) -> None:
    billing.write(".gitattributes", "*.png binary\n")
    assert billing.main("check") == (0, "", "")
    billing.write(  # a block that marks money.py only (quoted, as git allows)
        ".gitattributes",
        "*.png binary\n# BEGIN specmill: generated outputs (managed by specmill; edits here "
        'are replaced)\n"src/billing/money.py" linguist-generated=true\n# END specmill\n',
    )
    code, out, _ = billing.main("check")
    assert (
        code == 1 and "does not mark src/billing/invoice.py, tests/billing/test_invoice.py" in out
    )
    assert "src/billing/money.py (no spec" not in out
    assert billing.main("check", "--fix")[0] == 0
    text = billing.read(".gitattributes")
    assert text.startswith("*.png binary\n")
    assert "src/billing/invoice.py linguist-generated=true" in text


def test_an_orphan_says_whether_specmill_generated_it_or_it_was_adopted(billing: Project) -> None:
    from specmill.core.header import stamp

    billing.write("src/old.py", billing.read("src/billing/invoice.py"))  # adopted code
    inputs = "sha256:" + "0" * 32
    generated = stamp("X = 1\n", "src/gen.py", module="gone", spec="specs/gone.md", inputs=inputs)
    billing.write("src/gen.py", generated)
    out = billing.main("check")[1].splitlines()
    assert (
        "src/gen.py:1: orphan: generated from specs/gone.md (module gone), but no spec declares it"
    ) in out
    assert (
        "src/old.py:1: orphan: adopted for specs/billing/invoice.md (module billing.invoice), "
        "but no spec declares it"
    ) in out
