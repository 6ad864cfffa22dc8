"""``gitcli.Background``: git's answer taken later, as ``run_git`` gives it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from specmill import gitcli


def test_background_answers_as_run_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    started = gitcli.start_list_files(tmp_path)
    assert gitcli.listed(started.result()) == gitcli.list_files(tmp_path) == ["a.txt", "b.txt"]


def test_background_outside_a_repository_answers_none(tmp_path: Path) -> None:
    assert gitcli.listed(gitcli.start_list_files(tmp_path).result()) is None


def test_background_raises_the_error_of_its_work() -> None:
    def broken() -> int:
        raise ValueError("no answer")

    with pytest.raises(ValueError, match="no answer"):
        gitcli.Background(broken).result()
