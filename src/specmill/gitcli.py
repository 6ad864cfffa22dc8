"""Plain ``git`` subprocess calls for the hot paths (check, hooks).

Importing GitPython costs more than the one ``git ls-files`` that ``specmill check``
and the hooks need, so these few read-only calls go straight to git; everything else
uses the GitPython adapter in ``specmill.repo``. Stdlib only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

# git's full path, found once, when specmill starts: a check (repository code, running as
# the same user) may put a `git` of its own earlier on PATH (~/.local/bin), and specmill
# runs git after checks: to commit, and to deliver with the token.
GIT = shutil.which("git") or "git"
T = TypeVar("T")


def isolated_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``environ`` for a git command that must read no configuration but its repository's:
    no ``GIT_*`` variable of the caller's, no system or global config (git >= 2.32)."""
    env = {key: value for key, value in environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    return env


def run_git(root: Path, *args: str) -> bytes | None:
    """git's stdout, or None when git fails or is not installed."""
    try:
        done = subprocess.run([GIT, *args], cwd=root, capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


class Background(Generic[T]):
    """``work()`` started now on a thread, its answer taken later: git runs while
    specmill does other work (a thread, so that git never waits on a full pipe). An
    exception ``work`` raises is raised again by ``result``."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._answer: tuple[T] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._answer = (self._work(),)
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._answer is None:
            assert self._error is not None
            raise self._error
        return self._answer[0]


LIST_FILES = ("ls-files", "-z", "--cached", "--others", "--exclude-standard")


def start_list_files(root: Path) -> Background[bytes | None]:
    """``list_files`` begun now; ``listed(started.result())`` is its answer."""
    return Background(lambda: run_git(root, *LIST_FILES))


def list_files(root: Path) -> list[str] | None:
    """Tracked files plus untracked ones git does not ignore; None outside a repository."""
    return listed(run_git(root, *LIST_FILES))


def listed(out: bytes | None) -> list[str] | None:
    """``git ls-files -z``'s output as ``list_files`` answers it."""
    if out is None:
        return None
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def show(root: Path, rev: str, path: str) -> str | None:
    """A file's text at ``rev`` (``:path`` style, e.g. ``HEAD``), or None."""
    out = run_git(root, "show", f"{rev}:{path}")
    return None if out is None else out.decode("utf-8", "surrogateescape")


def rev_parse(root: Path, rev: str) -> str | None:
    out = run_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return None if out is None else out.decode().strip()


def changed_paths(
    root: Path, base_sha: str, head_sha: str | None = None, *, merge_base: str | None = None
) -> set[str]:
    """Paths that differ between ``base`` and ``head`` (default: the working tree).

    As ``git diff base...head``: against the merge base (``merge_base`` if the caller
    has it), so changes on the base branch since the fork are not counted; a rename
    counts as both paths.
    """
    if merge_base is None:
        found = run_git(root, "merge-base", base_sha, head_sha or "HEAD")
        merge_base = found.decode().strip() if found else None
    start = merge_base or base_sha
    if head_sha is None:
        names = run_git(root, "diff", "--name-only", "-z", "--no-renames", start) or b""
        names += b"\0" + (run_git(root, "ls-files", "-z", "--others", "--exclude-standard") or b"")
    else:
        names = run_git(root, "diff", "--name-only", "-z", "--no-renames", start, head_sha) or b""
    return {p for p in names.decode("utf-8", "surrogateescape").split("\0") if p}


NOTES_REF = "refs/notes/specmill"  # as specmill.engine.provenance


def run_note(root: Path, run_id: str) -> str | None:
    """The run record that the commit of run ``run_id`` carries as a git note, or None."""
    found = run_git(
        root, "log", "--all", "-1", "--format=%H", "-F", f"--grep=Specmill-Run: {run_id}"
    )
    sha = found.decode().strip() if found else ""
    if not sha:
        return None
    out = run_git(root, "notes", f"--ref={NOTES_REF}", "show", sha)
    return None if out is None else out.decode("utf-8", "surrogateescape")


def file_history(root: Path, path: str, limit: int = 50) -> list[str]:
    """The last ``limit`` commits that changed ``path``, newest first."""
    out = run_git(root, "log", f"-{limit}", "--format=%H", "--", path)
    return out.decode().split() if out else []


def files_matching(root: Path, patterns: list[str], exclude: str = "") -> dict[str, list[int]]:
    """Text files (tracked, or untracked and not ignored; not under ``exclude``) with
    lines matching any of ``patterns`` (POSIX extended regular expressions): the numbers
    of those lines, by path."""
    if not patterns:
        return {}
    args = ["grep", "-z", "-n", "-I", "-E", "--untracked", "--no-color"]
    where = ["--", ".", *([f":(exclude){exclude}"] if exclude else [])]
    out = run_git(root, *args, *(f"-e{pattern}" for pattern in patterns), *where)
    found: dict[str, list[int]] = {}
    # -z: "path NUL line NUL text LF", the path unquoted (a newline in it included)
    for match in re.finditer(rb"([^\0]*)\0(\d+)\0[^\n]*\n", out or b""):
        path = match.group(1).decode("utf-8", "surrogateescape")
        found.setdefault(path, []).append(int(match.group(2)))
    return found


def paths_whose_history_changed(root: Path, text: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` where some commit added or removed ``text`` (``git log -S``):
    a file that ever held it in a commit. In chunks, to keep command lines short."""
    found: set[str] = set()
    for start in range(0, len(paths), 200):
        chunk = paths[start : start + 200]
        out = run_git(root, "log", "--format=", "--name-only", "-z", "-S", text, "--", *chunk)
        names = (out or b"").decode("utf-8", "surrogateescape").split("\0")
        found |= {name for name in names if name} & set(chunk)
    return found


def common_dir(start: Path) -> Path | None:
    """The git directory every worktree of ``start``'s repository shares, read from the
    ``.git`` folder or file (no git process); None outside a repository."""
    for folder in [start, *start.parents]:
        dot = folder / ".git"
        if dot.is_dir():
            return dot.resolve()
        if dot.is_file():  # a linked worktree or a submodule: "gitdir: <path>"
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = (folder / text[len("gitdir:") :].strip()).resolve()
            common = gitdir / "commondir"
            if common.is_file():
                return (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
            return gitdir
    return None


def state_dir(start: Path) -> Path | None:
    """Where specmill keeps what it knows about a repository, inside its git directory
    (no test runner, linter or bundler of the project looks there): None outside one."""
    found = common_dir(start)
    return found / "specmill" if found is not None else None
