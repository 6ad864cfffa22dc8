"""Helpers for the hook tests: run a hook's ``main`` as pre-commit would, in a real repo."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tests.conftest import Project

HookMain = Callable[[Sequence[str] | None], int]


def run_main(main: HookMain, cwd: Path, *args: str) -> tuple[int, list[str]]:
    """Exit code and printed lines of ``main(args)`` run from ``cwd``."""
    out = io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            code = main(list(args))
    finally:
        os.chdir(old)
    return code, out.getvalue().splitlines()


def staged_files(project: Project) -> list[str]:
    """What pre-commit passes to a hook on commit: staged paths, deletions excluded."""
    out = project.git("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMRTUXB")
    return [path for path in out.split("\0") if path]


@contextlib.contextmanager
def unstaged_changes_stashed(project: Project) -> Iterator[None]:
    """What pre-commit does before running hooks: keep only the staged content on disk."""
    patch = project.root.parent / "unstaged.patch"
    diff = subprocess.run(
        ["git", "diff", "--binary", "--no-color", "--no-ext-diff", "--ignore-submodules"],
        cwd=project.root,
        check=True,
        capture_output=True,
    ).stdout
    patch.write_bytes(diff)
    if diff:
        project.git("checkout", "--", ".")
    try:
        yield
    finally:
        if diff:
            project.git("apply", "--whitespace=nowarn", str(patch))


def commit_attempt(main: HookMain, project: Project) -> tuple[int, list[str]]:
    """Run ``main`` as pre-commit does on ``git commit``: staged files, stash applied."""
    with unstaged_changes_stashed(project):
        return run_main(main, project.root, *staged_files(project))
