"""Throwaway git worktrees, one per attempt, that never outlive the run.

Every worktree lives in its own temporary folder named ``specmill-wt-<pid>-…``. A run
removes each one when the attempt ends (errors and Ctrl-C included) and, on start,
removes those that a dead specmill process left behind, then runs ``git worktree prune``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from specmill.files import write_atomic
from specmill.processes import alive
from specmill.repo import Repo

CLOSE_WAIT = 30.0  # seconds close() waits for a worktree being made (git is quick)
PREFIX = "specmill-wt-"
_OURS = re.compile(rf"{PREFIX}(?P<pid>\d+)-")


class Cancelled(Exception):
    """The run was interrupted: no new work starts."""


def _stale(path: Path) -> bool:
    match = _OURS.match(path.name)
    return match is not None and not alive(int(match["pid"]))


class Worktrees:
    """Creates worktrees of one snapshot commit and tracks them until removed."""

    def __init__(self, repo: Repo, commit: str) -> None:
        self.repo = repo
        self.commit = commit
        self._lock = threading.Lock()
        # git reads every worktree's admin folder when it adds or removes one: concurrent
        # `git worktree add`s fail ("failed to read .git/worktrees/…/commondir").
        self._git_lock = threading.Lock()
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
            with self._git_lock:
                self.repo.add_worktree(path, self.commit, checkout=False)
            with self._lock:
                if self._closed:  # closed while git made it: close() did not see it
                    raise Cancelled()
            self.repo.checkout_worktree(path)  # concurrently: it touches this worktree only
            for relative, text in files.items():
                write_atomic(path / relative, text)
        except BaseException:
            self._remove(path)
            shutil.rmtree(path, ignore_errors=True)  # close() may have removed it before git
            raise
        return path

    def _remove(self, path: Path) -> None:
        """Delete the folder; ``close`` (and the next run) prune git's record of it.

        One ``git worktree prune`` per run instead of a ``git worktree remove`` each:
        git commands on worktrees must not overlap, so each would wait for the others.
        """
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
        alive, prune git's records.

        Waiting matters when a signal ends the run: a thread still in ``git worktree
        add`` or a checkout would otherwise be killed with the process, half done, and a
        folder another thread is still deleting would survive ``git worktree prune`` in
        git's records.
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
        with self._lock:  # a folder still being deleted would keep git's record of it
            self._removed.wait_for(lambda: self._removing == 0, timeout=CLOSE_WAIT)
        with contextlib.suppress(Exception), self._git_lock:
            self.repo.prune_worktrees()


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
