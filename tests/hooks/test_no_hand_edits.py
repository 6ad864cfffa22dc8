"""specmill-no-hand-edits, through its ``main`` in real git repositories.

Each test commits the way pre-commit does: the hook gets the staged paths (never the
deleted ones), with unstaged changes stashed away while it runs.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from specmill.core.header import split_header, stamp
from specmill.hooks.no_hand_edits import FOOTER, main
from tests.conftest import DOCS, Project, docs_example, git
from tests.hooks.support import commit_attempt, run_main, staged_files

INVOICE_EDIT = [  # the billing fixture's outputs are adopted, not generated
    "src/billing/invoice.py:7: hand-edited: edited since `specmill adopt` recorded it for "
    "specs/billing/invoice.md (module billing.invoice)",
    "  fix: edit specs/billing/invoice.md and run `specmill regen billing.invoice`, adopt the "
    "edited code with `specmill adopt --force src/billing/invoice.py`, or take the file over "
    "by hand with `specmill eject src/billing/invoice.py`",
]


def hand_edit(project: Project, path: str, old: str, new: str) -> None:
    text = project.read(path)
    assert old in text
    project.write(path, text.replace(old, new))


def regenerate(project: Project, path: str, old: str, new: str) -> None:
    """What `specmill regen` leaves: a new body under a header that matches it."""
    hand_edit(project, path, old, new)
    code, _, err = project.main("adopt", "--force", path)
    assert code == 0, err


def test_a_regenerated_file_passes(billing: Project) -> None:
    regenerate(billing, "src/billing/invoice.py", "return 0", "return 1")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])


def test_a_hand_edit_names_the_file_the_line_the_spec_and_the_way_out(billing: Project) -> None:
    hand_edit(billing, "src/billing/invoice.py", "return 0", "return 42")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (1, [*INVOICE_EDIT, FOOTER])
    assert "SKIP=specmill-no-hand-edits" in FOOTER


def test_a_hand_edit_of_a_generated_file_says_specmill_generated_it(billing: Project) -> None:
    path = "src/billing/money.py"
    body = split_header(billing.read(path), path).outside
    inputs = split_header(billing.read(path), path).header.inputs  # type: ignore[union-attr]
    generated = stamp(
        body, path, module="billing.money", spec="specs/billing/money.md", inputs=inputs, run="r1"
    )
    billing.write(path, generated)
    billing.commit("as regen writes it")
    hand_edit(billing, path, "pass", "cents = 0")
    billing.git("add", "--all")
    problem, fix = (
        "src/billing/money.py:7: hand-edited: edited by hand since specmill generated it "
        "from specs/billing/money.md (module billing.money)",
        "  fix: edit specs/billing/money.md and run `specmill regen billing.money`, or take "
        "the file over by hand with `specmill eject src/billing/money.py`",
    )
    assert commit_attempt(main, billing) == (1, [problem, fix, FOOTER])
    assert docs_example("hooks.md", "followed by what to do:") == f"{problem}\n{fix}\n"
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert f"```\n{problem}\n{fix}\n```" in readme  # the tour shows the same
    code, out, err = billing.main("check")  # the same words, the hint on stderr
    assert (code, out, err) == (1, problem + "\n", fix + "\n")


def test_the_line_is_the_first_that_differs_from_head(billing: Project) -> None:
    body = "".join(f"x{i} = {i}\n" for i in range(10))
    regenerate(billing, "src/billing/money.py", "class Money:\n    pass\n", body)
    billing.commit("regen money")
    hand_edit(billing, "src/billing/money.py", "x6 = 6\n", "x6 = 66\n")
    billing.git("add", "--all")
    code, lines = commit_attempt(main, billing)
    assert code == 1
    assert lines[0].startswith("src/billing/money.py:12: hand-edited: ")  # 5 header lines + 7


def test_a_removed_header_is_reported(billing: Project) -> None:
    path = "src/billing/money.py"
    billing.write(path, split_header(billing.read(path), path).outside)
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (
        1,
        [
            "src/billing/money.py:1: header-missing: its specmill header was removed; "
            "specs/billing/money.md (module billing.money) declares it",
            "  fix: run `specmill regen billing.money` to generate it, `specmill adopt "
            "src/billing/money.py` to adopt the code as it is, or `specmill eject "
            "src/billing/money.py` to take it out of the spec's outputs",
            FOOTER,
        ],
    )


def test_a_declared_output_written_by_hand_is_reported(billing: Project) -> None:
    billing.write("specs/billing/tax.md", "---\noutputs:\n  - src/billing/tax.py\n---\n# Tax\n")
    billing.write("src/billing/tax.py", "RATE = 0.2\n")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (
        1,
        [
            "src/billing/tax.py:1: header-missing: not generated or adopted yet (it has no "
            "specmill header); specs/billing/tax.md (module billing.tax) declares it",
            "  fix: run `specmill adopt src/billing/tax.py` to adopt the code as it is, "
            "`specmill regen billing.tax` to generate it, or `specmill eject "
            "src/billing/tax.py` to take it out of the spec's outputs",
            FOOTER,
        ],
    )


def test_a_deleted_generated_file_is_reported_even_when_nothing_else_is_staged(
    billing: Project,
) -> None:
    billing.git("rm", "--quiet", "src/billing/money.py")
    assert staged_files(billing) == []  # pre-commit runs the hook without file names
    assert commit_attempt(main, billing) == (
        1,
        [
            "specs/billing/money.md:3: missing: src/billing/money.py was deleted, but "
            "specs/billing/money.md (module billing.money) still declares it",
            "  fix: restore it with `git restore --staged --worktree -- src/billing/money.py`, "
            "or remove it from the outputs of specs/billing/money.md in the same commit",
            FOOTER,
        ],
    )


def test_deleting_a_module_with_its_spec_passes(billing: Project) -> None:
    billing.git("rm", "--quiet", "src/billing/invoice.py", "tests/billing/test_invoice.py")
    billing.git("rm", "--quiet", "specs/billing/invoice.md")
    assert commit_attempt(main, billing) == (0, [])


RENAMED = [
    "specs/billing/money.md:3: missing: src/billing/money.py was renamed to "
    "src/billing/cash.py, but specs/billing/money.md (module billing.money) still "
    "declares src/billing/money.py",
    "  fix: `git mv src/billing/cash.py src/billing/money.py && specmill mv "
    "src/billing/money.py src/billing/cash.py` moves it and updates specs/billing/money.md "
    "and .gitattributes (no model call); or name src/billing/cash.py instead of "
    "src/billing/money.py in the outputs of specs/billing/money.md in the same commit",
]


def test_a_git_mv_of_a_generated_file_is_reported_once_with_specmill_mv(billing: Project) -> None:
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    assert staged_files(billing) == ["src/billing/cash.py"]
    assert commit_attempt(main, billing) == (1, [*RENAMED, FOOTER])
    assert (
        docs_example("hooks.md", "A plain `git mv` of a generated file")
        == "\n".join(RENAMED) + "\n"
    )


def test_the_way_out_a_rename_hint_gives_passes_the_hook(billing: Project) -> None:
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    fix = RENAMED[1].split("`")[1]
    subprocess.run(
        fix.replace("specmill mv", f"{sys.executable} -m specmill mv"),
        shell=True,
        cwd=billing.root,
        check=True,
        capture_output=True,
    )
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])
    assert billing.main("check") == (0, "", "")


def test_a_renamed_and_edited_generated_file_is_still_one_rename(billing: Project) -> None:
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    hand_edit(billing, "src/billing/cash.py", "pass", "pass  # moved")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (1, [*RENAMED, FOOTER])


def test_a_rename_the_spec_follows_passes(billing: Project) -> None:
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    hand_edit(billing, "specs/billing/money.md", "src/billing/money.py", "src/billing/cash.py")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])


def test_a_staged_hand_edit_fails_though_the_working_tree_is_clean(billing: Project) -> None:
    clean = billing.read("src/billing/invoice.py")
    hand_edit(billing, "src/billing/invoice.py", "return 0", "return 42")
    billing.git("add", "--all")
    billing.write("src/billing/invoice.py", clean)  # unstaged: pre-commit stashes it
    assert commit_attempt(main, billing) == (1, [*INVOICE_EDIT, FOOTER])
    assert billing.read("src/billing/invoice.py") == clean  # and puts it back


def test_an_unstaged_hand_edit_is_not_part_of_the_commit(billing: Project) -> None:
    regenerate(billing, "src/billing/invoice.py", "return 0", "return 1")
    billing.git("add", "--all")
    hand_edit(billing, "src/billing/invoice.py", "return 1", "return 42")  # not staged
    assert commit_attempt(main, billing) == (0, [])


@pytest.fixture
def crlf(billing: Project) -> Project:
    """The billing repository checked out again with core.autocrlf=true."""
    billing.git("config", "core.autocrlf", "true")
    for path in ("src/billing/invoice.py", "src/billing/money.py"):
        (billing.root / path).unlink()
    billing.git("checkout", "--", ".")
    assert b"\r\n" in (billing.root / "src/billing/invoice.py").read_bytes()
    return billing


def test_a_crlf_working_copy_is_not_a_hand_edit(crlf: Project) -> None:
    files = ["src/billing/invoice.py", "src/billing/money.py"]
    assert run_main(main, crlf.root, *files) == (0, [])


def test_a_hand_edit_in_a_crlf_working_copy_is_found_at_its_line(crlf: Project) -> None:
    path = crlf.root / "src/billing/invoice.py"
    path.write_bytes(path.read_bytes().replace(b"return 0", b"return 42"))
    crlf.git("add", "--all")
    assert commit_attempt(main, crlf) == (1, [*INVOICE_EDIT, FOOTER])


def test_binary_files_are_skipped(billing: Project) -> None:
    (billing.root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])


def test_a_binary_file_in_place_of_a_generated_one_has_no_header(billing: Project) -> None:
    (billing.root / "src/billing/money.py").write_bytes(b"\0\1\2 compiled")
    billing.git("add", "--all")
    code, lines = commit_attempt(main, billing)
    assert code == 1
    assert lines[0] == (
        "src/billing/money.py:1: header-missing: its specmill header was removed; "
        "specs/billing/money.md (module billing.money) declares it"
    )


def test_non_utf8_text_is_checked_like_any_other(billing: Project) -> None:
    path = billing.root / "src/billing/money.py"
    latin1 = b"# caf\xe9\nclass Money:\n    pass\n"  # Latin-1: not valid UTF-8
    path.write_bytes(path.read_bytes().replace(b"class Money:\n    pass\n", latin1))
    code, _, err = billing.main("adopt", "--force", "src/billing/money.py")
    assert code == 0, err
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])
    billing.commit("latin-1")
    path.write_bytes(path.read_bytes().replace(b"pass", b"cents = 0"))
    billing.git("add", "--all")
    code, lines = commit_attempt(main, billing)
    assert code == 1
    assert lines[0].startswith("src/billing/money.py:8: hand-edited: ")


def test_run_from_a_subdirectory_paths_are_relative_to_it(billing: Project) -> None:
    hand_edit(billing, "src/billing/invoice.py", "return 0", "return 42")
    billing.git("add", "--all")
    code, lines = run_main(main, billing.root / "src", "billing/invoice.py")
    assert code == 1
    assert lines[0] == INVOICE_EDIT[0].replace("src/billing/invoice.py:7", "billing/invoice.py:7")
    assert lines[1:] == [INVOICE_EDIT[1], FOOTER]


def test_a_generated_file_whose_spec_was_deleted_is_an_orphan(billing: Project) -> None:
    billing.git("rm", "--quiet", "specs/billing/money.md")
    assert commit_attempt(main, billing) == (
        1,
        [
            "src/billing/money.py:1: orphan: adopted for specs/billing/money.md, which was "
            "deleted (module billing.money), but no spec declares it",
            "  fix: delete the file, add it back to a spec's outputs, or keep it as "
            "hand-written code: `specmill eject src/billing/money.py`",
            FOOTER,
        ],
    )


def test_an_orphan_that_is_edited_later_is_still_an_orphan(billing: Project) -> None:
    billing.git("rm", "--quiet", "specs/billing/money.md")
    billing.commit("drop the money spec")
    hand_edit(billing, "src/billing/money.py", "pass", "cents = 0")
    billing.git("add", "--all")
    code, lines = commit_attempt(main, billing)
    assert code == 1
    assert lines[0].startswith("src/billing/money.py:1: orphan: adopted for ")


def split_runs(project: Project, files: list[str], shares: int, seed: int) -> list[str]:
    """The hook run as pre-commit runs it on a long list: shuffled, in several processes."""
    files = files[:]
    random.Random(seed).shuffle(files)
    lines: list[str] = []
    for share in (files[i::shares] for i in range(shares)):
        _, out = run_main(main, project.root, *share)
        lines += [line for line in out if line != FOOTER]
    return lines


def test_a_file_list_split_over_processes_reports_everything_once(billing: Project) -> None:
    hand_edit(billing, "src/billing/invoice.py", "return 0", "return 42")
    money = billing.read("src/billing/money.py")
    billing.write("src/billing/money.py", split_header(money, "src/billing/money.py").outside)
    billing.write("src/billing/copy.py", money)  # a generated file no spec declares
    billing.git("rm", "--quiet", "tests/billing/test_invoice.py")
    for i in range(6):
        billing.write(f"docs/page{i}.md", f"# page {i}\n")
    billing.git("add", "--all")
    files = staged_files(billing)
    with_stash = commit_attempt(main, billing)
    single = [line for line in with_stash[1] if line != FOOTER]
    assert with_stash[0] == 1
    assert [line.split(":")[0] for line in single[::2]] == [
        "specs/billing/invoice.md",
        "src/billing/copy.py",
        "src/billing/invoice.py",
        "src/billing/money.py",
    ]
    for shares in (2, 3, len(files)):
        for seed in range(4):
            lines = split_runs(billing, files, shares, seed)
            assert sorted(lines) == sorted(single), (shares, seed)


def test_clean_files_pass_on_a_full_run(billing: Project) -> None:
    files = billing.git("ls-files").split()
    assert run_main(main, billing.root, *files) == (0, [])


def test_outside_a_specmill_project_it_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    git(tmp_path, "init", "--quiet")
    code, lines = run_main(main, tmp_path, "a.py")
    assert code == 1
    assert lines == [
        f"specmill-no-hand-edits: error: no specmill.toml (or [tool.specmill] in pyproject.toml) "
        f"found in {tmp_path.resolve()} or its parents; run `specmill init` at the root of "
        "your repository"
    ]


def test_a_broken_config_is_an_error_not_a_traceback(billing: Project) -> None:
    billing.write("specmill.toml", "[specmill]\nspecs = \n")
    billing.write("notes.py", "x = 1\n")
    billing.git("add", "--all")
    code, lines = commit_attempt(main, billing)
    assert code == 1
    assert lines[0].startswith("specmill-no-hand-edits: error: specmill.toml:2: invalid TOML")


def test_the_console_script_runs_as_pre_commit_runs_it(billing: Project) -> None:
    hand_edit(billing, "src/billing/invoice.py", "return 0", "return 42")
    script = [sys.executable, "-m", "specmill.hooks.no_hand_edits", "src/billing/invoice.py"]
    done = subprocess.run(script, cwd=billing.root, capture_output=True, text=True)
    assert (done.returncode, done.stdout.splitlines(), done.stderr) == (
        1,
        [*INVOICE_EDIT, FOOTER],
        "",
    )


def test_specs_in_a_configured_folder_are_found(project: Project) -> None:
    project.write("specmill.toml", '[specmill]\nspecs = "docs/specs"\n')
    project.write("docs/specs/tax.md", "---\noutputs:\n  - src/tax.py\n---\n# Tax\n")
    project.write("src/tax.py", "RATE = 0.2\n")
    project.git("add", "--all")
    code, lines = commit_attempt(main, project)
    assert code == 1
    assert lines[0] == (
        "src/tax.py:1: header-missing: not generated or adopted yet (it has no specmill "
        "header); docs/specs/tax.md (module tax) declares it"
    )


def test_a_symlink_to_a_generated_file_is_not_an_orphan(billing: Project) -> None:
    (billing.root / "money.py").symlink_to("src/billing/money.py")
    billing.git("add", "--all")
    assert commit_attempt(main, billing) == (0, [])
