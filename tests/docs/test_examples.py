"""The manual's shell examples are tests: every one runs in a scratch repository and its
shown output is compared, or it says why it cannot run and names the test that holds
its claim (the rules: ``tests/docs/blocks.py``; for writers: docs/development.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.docs.blocks import PLAIN, Block, blocks, matches, pages, parse, stray_markers
from tests.docs.scratch import RECIPES, Scratch, environment, report, run

CHECKOUT = Path(__file__).resolve().parents[2]


def every_block() -> list[Block]:
    found = []
    for page in pages(CHECKOUT):
        found += blocks(page.read_text(encoding="utf-8"), page.relative_to(CHECKOUT).as_posix())
    return found


BLOCKS = every_block()
RUN = [b for b in BLOCKS if b.kind == "run"]


def test_every_shell_block_is_run_or_says_why_not() -> None:
    unmarked = [b.id for b in BLOCKS if b.kind is None]
    assert not unmarked, (
        "shell blocks with no <!-- run: REPO --> or <!-- not-run: REASON; covered by"
        " tests/FILE.py::TEST --> on the line before (see tests/docs/blocks.py): "
        + ", ".join(unmarked)
    )
    stray = [s for p in pages(CHECKOUT) for s in stray_markers(p.read_text("utf-8"), str(p))]
    assert not stray, f"markers not followed by a shell block: {stray}"


def test_what_is_not_run_names_a_test_that_exists() -> None:
    """A block not run, or the commands a run block skips, name the tests that hold them."""
    problems = []
    for block in (b for b in BLOCKS if b.kind == "not-run" or b.skips):
        named = block.covering_tests()
        if not named or not block.marker.split(";")[0].strip():
            problems.append(f"{block.id}: say why, then `; covered by tests/F.py::test`")
        for file, test in named:
            path = CHECKOUT / file
            if not path.is_file():
                problems.append(f"{block.id}: {file} does not exist")
            elif not re.search(rf"^\s*(async )?def {test}\(", path.read_text("utf-8"), re.M):
                problems.append(f"{block.id}: {file} has no test {test}")
    assert not problems, "\n".join(problems)


def test_run_blocks_name_a_recipe_and_run_something() -> None:
    for block in RUN:
        assert block.recipe in RECIPES, f"{block.id}: no scratch recipe {block.recipe!r}"
        assert block.language not in PLAIN, f"{block.id}: output alone cannot run"
        assert block.to_run(), f"{block.id}: nothing left to run"


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_the_example_runs_as_shown(block: Block, scratch: Scratch) -> None:
    # Blocks sharing a repository build on each other: run the earlier ones first (they
    # have, when the whole module runs in order; not when this block was picked alone).
    before = [b for b in RUN if (b.page, b.repo) == (block.page, block.repo)]
    key = (block.page, block.repo)
    repo, env = scratch.repo(*key)
    for earlier in before[scratch.done.get(key, 0) : before.index(block)]:
        problems = report(earlier, run(earlier, repo, env))
        assert not problems, f"an earlier block of this repository failed:\n{problems}"
    scratch.done[key] = before.index(block) + 1
    problems = report(block, run(block, repo, env))
    assert not problems, problems


# The rules themselves, on examples that must fail.


def test_shown_output_is_compared_whole_with_dots_for_what_varies() -> None:
    assert matches(("ok",), ["ok"])
    assert not matches(("ok",), ["ok", "and more"])
    assert matches(("run ...", "..."), ["run 20261201-010003", "a", "b"])
    assert matches(("...", "last"), ["last"])
    assert not matches(("a ... c",), ["a b d"])


def test_a_console_block_splits_commands_outputs_and_exit_statuses() -> None:
    body = ("$ specmill check  # exit 1: missing", "a: missing", "  fix: x", "$ echo a \\", "b")
    check, echo = parse(body, 10, "console")
    assert (check.line, check.exit, check.output) == (10, 1, ("a: missing", "  fix: x"))
    assert (echo.text, echo.output, echo.exit) == ("echo a \\\nb", None, 0)


def test_an_unmarked_block_and_a_stray_marker_are_found() -> None:
    page = "text\n\n```bash\nls\n```\n\n<!-- run: billing -->\n\nprose\n"
    (block,) = blocks(page, "p.md")
    assert block.kind is None
    assert stray_markers(page, "p.md") == ["p.md:7"]


# Claims that do not run here, held by tests of their own.


def commands_of(page: str, first: str) -> list[str]:
    """The commands of the page's shell block that starts with ``first``."""
    (block,) = (b for b in BLOCKS if b.page == page and b.body and b.body[0].startswith(first))
    return [c.text.split("  #")[0].strip() for c in parse(block.body, block.line + 1, "bash")]


def test_the_development_commands_are_what_ci_runs() -> None:
    ci = (CHECKOUT / ".ci" / "run").read_text(encoding="utf-8")
    for page in ("README.md", "docs/development.md"):
        for command in commands_of(page, ".venv/bin/python -m pytest"):
            for part in command.split(" && "):
                if part != ".venv/bin/mkdocs serve":  # the live site: `mkdocs build` in CI
                    assert part in ci, f"{page}: `{part}` is not what .ci/run runs"


def test_the_benchmarks_listed_are_the_ones_in_bench() -> None:
    listed = [c.split()[1] for c in commands_of("docs/development.md", ".venv/bin/python bench/")]
    assert listed == sorted(listed, key=listed.index)  # one line each
    shipped = sorted(p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "bench").glob("*.py"))
    assert sorted(listed) == shipped


def test_run_ids_and_digests_stand_for_any_of_their_kind() -> None:
    shown = ("Specmill-Run: 20261126-022635-635805", "inputs=sha256:4646d8…")
    assert matches(shown, ["Specmill-Run: 20261202-194136-865940", "inputs=sha256:d1ddf5849d68"])
    assert not matches(shown, ["Specmill-Run: 2026-11-26", "inputs=sha256:d1ddf5849d68"])
    assert not matches(("exit 0",), ["exit 1"])


def test_the_runner_gives_each_command_its_output_and_status(tmp_path: Path) -> None:
    body = (
        "$ printf 'no newline at the end'",
        "no newline at the end",
        "$ ls missing-file  # exit 2: ls says so",
        "ls: cannot access 'missing-file': No such file or directory",
        "$ cd / && echo $HOME",
        "...",
        "$ pwd",
        "/",
    )
    block = Block("p.md", 1, "console", body, "run", "empty", parse(body, 2, "console"))
    repo = tmp_path / "repo"
    repo.mkdir()
    ran = run(block, repo, environment(tmp_path / "home"))
    assert [r.status for r in ran] == [0, 2, 0, 0]
    assert ran[2].output == [str(tmp_path / "home")]  # a home of its own
    assert report(block, ran) == ""
    wrong = ("$ ls missing-file", "...")
    block = Block("p.md", 1, "console", wrong, "run", "empty", parse(wrong, 2, "console"))
    assert "`ls missing-file` exited 2, not 0" in report(
        block, run(block, repo, environment(tmp_path / "home"))
    )


def test_a_block_that_does_not_end_is_ended_with_all_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.docs.scratch.BLOCK_TIMEOUT", 1)
    body = ("$ echo started", "started", "$ sleep 60 >/dev/null 2>&1 & echo $! > pid; wait")
    block = Block("p.md", 1, "console", body, "run", "empty", parse(body, 2, "console"))
    ran = run(block, tmp_path, environment(tmp_path / "home"))
    assert [r.status for r in ran] == [0, None]
    assert "did not end: the block timed out" in report(block, ran)
    pid = int((tmp_path / "pid").read_text())
    assert ended(pid), "the block's background sleep outlived it"


def ended(pid: int) -> bool:
    """Gone, or dead and waiting for its new parent to reap it (a zombie)."""
    for _ in range(100):  # SIGKILL is delivered at once; the exit takes a moment
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False
