"""One specmill run per repository at a time: a lock in the repository's git directory.

Two ``specmill regen`` runs in one repository both paid for every model call, then the
second failed to commit. ``repository_lock`` serialises the runs that regenerate or
commit (regen, calibrate, the bot's run and generate): a second run waits, saying for
whom, or with ``wait=False`` fails at once naming the holder.

The lock is ``flock`` on ``<git common dir>/specmill.lock``: the kernel releases it
when its holder dies, however it dies, so the lock of a dead process is simply taken
over (and said so). The file holds the holder's pid, command and start as one line of
JSON, readable with ``cat``; a waiter opens it without truncating it. Python opens
files non-inheritable, so a check's process never holds the lock of its run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from specmill.errors import SpecmillError
from specmill.processes import alive

LOCK_NAME = "specmill.lock"


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command}, since {self.since})"


def lock_path(git_dir: Path) -> Path:
    return git_dir / LOCK_NAME


def git_dir_of(root: Path) -> Path:
    """The git directory all worktrees of ``root``'s repository share."""
    from specmill.repo import Repo

    return Path(Repo(root).git_repo.common_dir).resolve()  # "…/worktrees/x/../.."


def read_holder(path: Path) -> Holder | None:
    """Who holds (or last held, if it died) the lock; None when nobody wrote it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _say_stderr(message: str) -> None:
    import click

    click.echo(message, err=True)


@contextlib.contextmanager
def repository_lock(
    git_dir: Path,
    command: str,
    *,
    wait: bool = True,
    say: Callable[[str], None] = _say_stderr,
) -> Iterator[Holder]:
    """Hold the repository's lock while inside; yields this run's ``Holder`` entry."""
    path = lock_path(git_dir)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise SpecmillError(f"cannot open the run lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(path)
            who = str(holder) if holder else "another specmill run"
            if not wait:
                raise SpecmillError(
                    f"another run holds this repository's lock: {who}",
                    hint=f"wait for it, or run again without --no-wait to wait ({path})",
                ) from None
            say(f"specmill: waiting for {who} to finish (the lock {path})")
            fcntl.flock(fd, fcntl.LOCK_EX)  # Ctrl-C and SIGTERM still interrupt it
        else:
            left = read_holder(path)
            if left is not None and not alive(left.pid):
                say(f"specmill: taking over the lock left by {left}, which is no longer running")
        mine = Holder(os.getpid(), command, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        entry = json.dumps({"pid": mine.pid, "command": mine.command, "since": mine.since})
        os.ftruncate(fd, 0)
        os.pwrite(fd, (entry + "\n").encode("utf-8", "backslashreplace"), 0)
        try:
            yield mine
        finally:
            os.ftruncate(fd, 0)  # released cleanly: nothing left to take over
    finally:
        os.close(fd)  # releases the flock
