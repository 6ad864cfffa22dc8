"""Throwaway checkouts, one per attempt, that never outlive the run.

Each one is a git repository of its own in a temporary folder named
``specmill-wt-<pid>-…``: made fresh (``git init`` with no template: no hooks), it
borrows the checkout's objects read-only (``objects/info/alternates``), has a copy of
its refs (``packed-refs``, read before any check ran) and the snapshot commit checked
out, detached. Checks run there, so what a check does through git (``git config``,
a hook in ``$(git rev-parse --git-path hooks)``, ``git update-ref``) changes only that
throwaway repository, never the configuration, hooks or refs of the checkout, which
specmill commits and delivers from. Nothing shared lets one attempt's check reach the
next attempt's repository either, and specmill's own git commands there run without
the system and global configuration (a check may write ``~/.gitconfig``), the checkout
under a reaper, as a check runs.

A run removes each one when the attempt ends (errors and Ctrl-C included) and, on
start, removes those that a dead specmill process left behind (and git worktrees that
older versions registered).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from specmill.engine.checks import run_check
from specmill.errors import SpecmillError
from specmill.files import write_atomic
from specmill.gitcli import GIT, isolated_environment
from specmill.processes import alive
from specmill.repo import Repo

CLOSE_WAIT = 30.0  # seconds close() waits for a worktree being made (git is quick)
CHECKOUT_TIMEOUT = 600.0  # seconds for one worktree's checkout
PREFIX = "specmill-wt-"
_OURS = re.compile(rf"{PREFIX}(?P<pid>\d+)-")


class Cancelled(Exception):
    """The run was interrupted: no new work starts."""


def _stale(path: Path) -> bool:
    match = _OURS.match(path.name)
    return match is not None and not alive(int(match["pid"]))


class Worktrees:
    """Creates worktrees of one snapshot commit and tracks them until removed."""

    def __init__(
        self,
        repo: Repo,
        commit: str,
        *,
        provide: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``provide``: git-ignored paths of the checkout that checks need (config
        ``check_ignored_paths``): folders are linked, files copied, into each one.
        ``env``: the checks' environment, which the checkout runs with too."""
        self.repo = repo
        self.commit = commit
        self.provide = tuple(provide)
        self.env = dict(env if env is not None else os.environ)
        # Read now, before any check ran: what every throwaway repository starts from.
        self._objects = repo.objects_dir()
        self._refs = repo.packed_refs()
        self._lock = threading.Lock()
        self._live: set[Path] = set()
        self._making: list[Pending] = []  # worktrees started in the background
        self._removing = 0  # folders other threads are deleting right now
        self._removed = threading.Condition(self._lock)
        self._closed = False

    @staticmethod
    def prune_stale(repo: Repo) -> list[Path]:
        """Remove worktrees (and temp folders) of specmill processes that died."""
        removed = []
        for path in repo.worktrees():
            if _stale(path):
                repo.remove_worktree(path)
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        temp = Path(tempfile.gettempdir())
        for path in temp.glob(f"{PREFIX}*"):
            if _stale(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        repo.prune_worktrees()
        return removed

    def start(self, files: Mapping[str, str] | None = None) -> Pending:
        """Start making a worktree (``files`` written over the snapshot) in the background,
        so that it is ready when a model call returns. ``Pending.release`` removes it."""
        pending = Pending(self, dict(files or {}))
        with self._lock:
            self._making = [p for p in self._making if not p.made] + [pending]
        return pending

    @contextlib.contextmanager
    def prepare(
        self, files: Mapping[str, str] | None = None, *, ready: Pending | None = None
    ) -> Iterator[Pending]:
        """A worktree made in the background (or ``ready``, started earlier); removed on
        leaving."""
        pending = ready or self.start(files)
        try:
            yield pending
        finally:
            pending.release()

    @contextlib.contextmanager
    def checkout(self, files: Mapping[str, str] | None = None) -> Iterator[Path]:
        """A worktree of the snapshot with ``files`` written over it; always removed."""
        with self.prepare(files) as pending:
            yield pending.path()

    def _create(self, files: Mapping[str, str]) -> Path:
        with self._lock:
            if self._closed:
                raise Cancelled()
            path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
            self._live.add(path)
        try:
            self._make_repository(path)
            with self._lock:
                if self._closed:  # closed while git made it: close() did not see it
                    raise Cancelled()
            for relative, text in files.items():
                write_atomic(path / relative, text)
            self._provide(path)
        except BaseException:
            self._remove(path)
            shutil.rmtree(path, ignore_errors=True)  # close() may have removed it before git
            raise
        return path

    def _make_repository(self, path: Path) -> None:
        """A repository of its own at ``path``, the snapshot checked out (module docstring)."""
        env = isolated_environment(self.env)
        made = subprocess.run(
            [GIT, "init", "--quiet", "--template=", "."],
            cwd=path, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise SpecmillError(f"git init in {path} failed: {made.stderr.strip()}")
        dot = path / ".git"
        (dot / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (dot / "objects" / "info" / "alternates").write_text(f"{self._objects}\n")
        (dot / "packed-refs").write_text(self._refs)
        (dot / "HEAD").write_text(f"{self.commit}\n")  # detached at the snapshot
        # Other attempts' checks run meanwhile, and could write this repository's config
        # before the checkout reads it: so the checkout runs as a check does, under a
        # reaper and with the checks' environment, and nothing it is made to start
        # outlives it or sees more than a check would.
        checkout = f"exec {shlex.join([GIT, 'reset', '--hard', '--quiet'])}"
        done = run_check(checkout, path, env=env, timeout=CHECKOUT_TIMEOUT)
        if not done.passed:
            raise SpecmillError(f"git checkout in {path} failed: {done.output.strip()}")

    def _provide(self, path: Path) -> None:
        """Link (folders) or copy (files) the git-ignored paths checks need, where the
        tree has nothing at that path: tracked files and new outputs are never replaced."""
        for relative in self.provide:
            source, target = self.repo.root / relative, path / relative
            if target.exists() or target.is_symlink() or not source.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                target.symlink_to(source, target_is_directory=True)
            else:
                shutil.copy2(source, target)

    def _remove(self, path: Path) -> None:
        """Delete the folder (the repository and its checkout: nothing is registered)."""
        with self._lock:
            if path not in self._live:
                return
            self._live.discard(path)
            self._removing += 1
        try:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            with self._lock:
                self._removing -= 1
                self._removed.notify_all()

    def close(self) -> None:
        """Refuse new worktrees, let those being made finish, remove every one still
        alive.

        Waiting matters when a signal ends the run: a thread still making a repository
        would otherwise be killed with the process, half done, and its folder left.
        """
        with self._lock:
            self._closed = True
            making = list(self._making)
        for pending in making:
            pending.wait(CLOSE_WAIT)
        with self._lock:
            live = list(self._live)
        for path in live:
            self._remove(path)
        with self._lock:  # a folder still being deleted: wait, so none is left behind
            self._removed.wait_for(lambda: self._removing == 0, timeout=CLOSE_WAIT)


class Pending:
    """A worktree being made by a background thread."""

    def __init__(self, worktrees: Worktrees, files: dict[str, str]) -> None:
        self._worktrees = worktrees
        self._done = threading.Event()
        self._path: Path | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._make, args=(files,), daemon=True).start()

    def _make(self, files: dict[str, str]) -> None:
        try:
            self._path = self._worktrees._create(files)
        except BaseException as exc:
            self._error = exc
        finally:
            self._done.set()

    @property
    def made(self) -> bool:
        """Done trying: made, or failed."""
        return self._done.is_set()

    def wait(self, seconds: float) -> None:
        self._done.wait(seconds)

    def path(self) -> Path:
        """The worktree, once made (or the error that prevented it)."""
        while not self._done.wait(0.1):  # a timeout keeps Ctrl-C responsive
            pass
        if self._error is not None:
            raise self._error
        assert self._path is not None
        return self._path

    def release(self) -> None:
        """Remove the worktree (once made); releasing twice is harmless."""
        self._done.wait()
        if self._path is not None:
            self._worktrees._remove(self._path)
