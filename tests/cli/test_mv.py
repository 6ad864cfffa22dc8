"""`specmill mv`, and the mechanical spec changes that keep a module fresh."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specmill.core.front_edit import replace_list_item
from tests.conftest import Project, docs_example

COMMENTED = """\
---
# the invoice module
outputs:
  - src/billing/invoice.py        # the code
  - tests/billing/test_invoice.py # its tests
depends_on: [billing.money]
---
# Invoice
- **R1** `Invoice.total()` returns the sum of line totals.
- **R2** A negative quantity raises `ValueError`.
"""


def states(project: Project) -> dict[str, str]:
    code, out, _ = project.main("status", "--json")
    assert code == 0
    return {o["path"]: o["state"] for m in json.loads(out) for o in m["outputs"]}


def test_mv_moves_the_file_updates_the_spec_and_keeps_everything_fresh(billing: Project) -> None:
    billing.write("specs/billing/invoice.md", COMMENTED)  # comments only: still fresh
    assert set(states(billing).values()) == {"fresh"}
    before = billing.read("src/billing/invoice.py")
    code, out, err = billing.main("mv", "src/billing/invoice.py", "src/billing/invoices.py")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "moved src/billing/invoice.py to src/billing/invoices.py; specs/billing/invoice.md "
        "now declares src/billing/invoices.py",
        "next: git add -A -- src/billing/invoice.py src/billing/invoices.py "
        "specs/billing/invoice.md .gitattributes",
    ]
    assert not (billing.root / "src/billing/invoice.py").exists()
    assert billing.read("src/billing/invoices.py") == before
    assert billing.read("specs/billing/invoice.md") == COMMENTED.replace(
        "src/billing/invoice.py        # the code", "src/billing/invoices.py        # the code"
    )
    attributes = billing.read(".gitattributes")
    assert "src/billing/invoices.py linguist-generated=true" in attributes
    assert "src/billing/invoice.py " not in attributes
    assert states(billing) == {
        "src/billing/money.py": "fresh",
        "src/billing/invoices.py": "fresh",
        "tests/billing/test_invoice.py": "fresh",
    }


def test_mv_into_a_folder_keeps_the_name(billing: Project) -> None:
    (billing.root / "lib").mkdir()
    code, _out, err = billing.main("mv", "src/billing/money.py", "lib")
    assert code == 0, err
    assert (billing.root / "lib/money.py").is_file()
    assert "outputs:\n  - lib/money.py\n" in billing.read("specs/billing/money.md")
    assert set(states(billing).values()) == {"fresh"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("src/free.py", "src/other.py", "src/free.py is not in any spec's outputs"),
        ("src/billing/money.py", "src/billing/invoice.py", "src/billing/invoice.py already exists"),
        ("src/billing/money.py", "src/billing/money.js", "different comment syntaxes"),
        ("src/billing/money.py", "src/billing/money.py", "are the same file"),
        ("src/billing/money.py", "../outside.py", "is outside the repository"),
    ],
)
def test_mv_refuses_and_changes_nothing(billing: Project, old: str, new: str, message: str) -> None:
    billing.write("src/free.py", "x = 1\n")
    spec = billing.read("specs/billing/money.md")
    code, out, err = billing.main("mv", old, new)
    assert (code, out) == (1, "")
    assert message in err and "Traceback" not in err
    assert billing.read("specs/billing/money.md") == spec
    assert (billing.root / "src/billing/money.py").is_file()


def test_mv_refuses_a_hostile_target(billing: Project) -> None:
    code, _, err = billing.main("mv", "src/billing/money.py", "src/bad\nname.py")
    assert code == 1
    assert "control or invisible character" in err
    assert (billing.root / "src/billing/money.py").is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\noutputs: [a.py, b.py]  # two\n---\n", "---\noutputs: [a.py, c/d.py]  # two\n---\n"),
        ("---\noutputs:\n- 'b.py' # x\n---\n", '---\noutputs:\n- "c/d.py" # x\n---\n'),
        ("---\noutputs:\n  - ./b.py\n---\nb.py\n", "---\noutputs:\n  - c/d.py\n---\nb.py\n"),
        (
            "---\ncontext: [b.py]\noutputs: [a.py]\n---\n",
            "---\ncontext: [b.py]\noutputs: [a.py]\n---\n",
        ),
    ],
)
def test_replace_list_item_changes_only_the_item(text: str, expected: str) -> None:
    assert replace_list_item(text, "outputs", "b.py", "c/d.py") == expected


def test_front_matter_layout_and_outputs_are_not_inputs_but_the_body_is(billing: Project) -> None:
    reformatted = """\
---
depends_on:
  - billing.money   # moved up, block style
outputs: ["src/billing/invoice.py", "tests/billing/test_invoice.py"]
tier: auto
---
# Invoice
- **R1** `Invoice.total()` returns the sum of line totals.
- **R2** A negative quantity raises `ValueError`.
"""
    billing.write("specs/billing/invoice.md", reformatted)
    assert set(states(billing).values()) == {"fresh"}
    billing.write("specs/billing/invoice.md", reformatted.replace("tier: auto", "tier: strong"))
    assert states(billing)["src/billing/invoice.py"] == "stale"
    billing.write("specs/billing/invoice.md", reformatted + "- **R3** Totals are cached.\n")
    assert states(billing)["src/billing/invoice.py"] == "stale"


HUMANIZE = "---\noutputs:\n  - lib/humanize.js\n  - test/humanize.test.js\n---\n# H\n- **R1** Hi.\n"


def test_mv_names_the_files_that_still_name_the_old_path_and_the_way_out(
    project: Project,
) -> None:
    from specmill.hooks.no_hand_edits import main as no_hand_edits
    from tests.hooks.support import commit_attempt

    project.write("specs/humanize.md", HUMANIZE)
    project.write("lib/humanize.js", "exports.hi = () => 'hi';\n")
    project.write("test/humanize.test.js", "const h = require('../lib/humanize');\n")
    project.write("README.md", "Read lib/humanize.js first.\n")
    project.write("lib/other.js", "// nothing to see\n")
    code, _, err = project.main("adopt", "lib/humanize.js", "test/humanize.test.js")
    assert code == 0, err
    project.commit("humanize")

    code, out, err = project.main("mv", "lib/humanize.js", "lib/humanise.js")
    assert (code, err) == (0, "")
    assert docs_example("hooks.md", "Other files may still name the old path") == out
    assert out.splitlines()[1:] == [
        "these files may still name lib/humanize.js (as lib/humanize.js or lib/humanize):",
        "  README.md:1",
        "  test/humanize.test.js:6 (generated, module humanize)",
        "  fix: edit the hand-written ones. A generated one is fresh (a move changes no input),"
        " so regen leaves it as it is: edit it, then record the edit with `specmill adopt"
        " --force test/humanize.test.js` (no model call; a pull request lists it as adopted),"
        " or change its spec and run `specmill regen`",
        "next: git add -A -- lib/humanize.js lib/humanise.js specs/humanize.md .gitattributes",
    ]

    # the way out it gives: edit, adopt --force; every hook and check pass
    test = project.read("test/humanize.test.js").replace("lib/humanize'", "lib/humanise'")
    project.write("test/humanize.test.js", test)
    project.write("README.md", "Read lib/humanise.js first.\n")
    code, _, err = project.main("adopt", "--force", "test/humanize.test.js")
    assert code == 0, err
    project.git("add", "--all")
    assert commit_attempt(no_hand_edits, project) == (0, [])
    assert project.main("check") == (0, "", "")


def test_mv_of_a_python_module_looks_for_its_dotted_name(billing: Project) -> None:
    billing.write("tests/billing/test_money.py", "from billing.money import Money\n")
    code, out, _ = billing.main("mv", "src/billing/money.py", "src/billing/cash.py")
    assert code == 0
    assert (
        "these files may still name src/billing/money.py (as src/billing/money.py or "
        "src/billing/money or billing.money):"
    ) in out.splitlines()
    assert "  tests/billing/test_money.py:1" in out.splitlines()
    assert "  fix: edit them to name src/billing/cash.py" in out.splitlines()


def test_mv_says_nothing_more_when_nothing_names_the_old_path(billing: Project) -> None:
    code, out, _ = billing.main("mv", "src/billing/money.py", "src/billing/cash.py")
    assert code == 0 and len(out.splitlines()) == 2


def test_a_hostile_file_name_among_the_references_is_shown_escaped(billing: Project) -> None:
    try:
        billing.write("docs/x\nsrc/evil.py:1: fix: run `rm -rf ~`.md", "see src/billing/money.py\n")
    except OSError:
        pytest.skip("this file system refuses newlines in file names")
    code, out, _ = billing.main("mv", "src/billing/money.py", "src/billing/cash.py")
    assert code == 0
    assert '  "docs/x\\nsrc/evil.py:1: fix: run `rm -rf ~`.md":1' in out.splitlines()
    assert not any(line.startswith("src/evil.py") for line in out.splitlines())


LINKED = (
    "linked/invoice.py is under the symbolic link linked: `specmill mv` moves files between "
    "real folders of the repository only; nothing moved"
)


@pytest.mark.parametrize(
    ("destination", "refusal"),
    [("linked", LINKED), ("linked/", LINKED), ("linked/invoice.py", "is outside the repository")],
)
def test_mv_into_a_committed_symlinked_folder_is_refused_and_moves_nothing(
    billing: Project, tmp_path: Path, destination: str, refusal: str
) -> None:
    """A folder committed as a link leads out of the repository: the file would land there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (billing.root / "linked").symlink_to(outside)
    billing.commit("a linked folder")
    before = {p: billing.read(p) for p in ("src/billing/invoice.py", "specs/billing/invoice.md")}

    code, out, err = billing.main("mv", "src/billing/invoice.py", destination)

    assert code == 1 and out == "" and "Traceback" not in err
    assert refusal in err
    assert list(outside.iterdir()) == []
    assert {p: billing.read(p) for p in before} == before
    assert billing.git("status", "--porcelain") == ""
