"""One check, run by a process that ends everything the check started: the reaper.

specmill starts this file as a script (``python -I -S reaper.py FD TIMEOUT COMMAND``):
stdlib only, nothing of the project or its environment imported. On Linux it makes
itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so a process the check
detaches (a double fork, ``setsid``, ``nohup … &``) is re-parented to it, not to init.
It runs the command with ``/bin/sh -c``; when the shell exits, or the time limit
passes, or specmill goes away (``PR_SET_PDEATHSIG``) or asks it to stop (SIGTERM), it
kills every descendant left, however it detached, until none is left. One reaper per
check, so concurrent checks never end each other's processes.

It writes one line of JSON to ``FD``: the shell's exit status, whether the time ran
out, how many processes were ended after the shell, and how: ``subreaper`` (Linux), or
``process-group`` where no subreaper exists (a process that left the group survives).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
ROUNDS = 1000  # kill-and-look rounds: a fork bomb is out of children long before


class Stop(Exception):
    """specmill asked (SIGTERM), or died: end everything now."""


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0)) == 0


def descendants(root: int) -> list[int]:
    """Live (not zombie) processes below ``root``, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _reap_zombies() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def end_descendants() -> int:
    """SIGKILL every descendant until none is left; how many there were."""
    ended: set[int] = set()
    me = os.getpid()
    for _ in range(ROUNDS):
        left = descendants(me)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            ended.add(pid)
        time.sleep(0.002)
        _reap_zombies()  # the orphans of the killed came to us: collect them
    _reap_zombies()
    return len(ended)


def main(argv: list[str]) -> int:
    fd, timeout, command = int(argv[0]), float(argv[1]), argv[2]
    parent = os.getppid()
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def stop(signum: int, frame: object) -> None:
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    report: dict[str, object] = {"exit": None, "timed_out": False, "ended": 0}
    shell = None
    try:
        if os.getppid() != parent:
            raise Stop()  # specmill died before PR_SET_PDEATHSIG was in place
        # Without a subreaper the check gets a group of its own, killed as a whole.
        shell = subprocess.Popen(["/bin/sh", "-c", command], start_new_session=not subreaper)
        try:
            report["exit"] = shell.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            report["timed_out"] = True
    except Stop:
        report["stopped"] = True
    finally:
        if subreaper:
            report["ended"] = end_descendants()
            report["reaper"] = "subreaper"
        else:
            if shell is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(shell.pid, signal.SIGKILL)
                shell.wait()
            report["reaper"] = "process-group"
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
