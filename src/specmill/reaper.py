"""One check, run by a process that ends everything the check started: the reaper.

specmill starts this file as a script (``python -I -S reaper.py FD TIMEOUT COMMAND``):
nothing of the project or its environment is imported, and as little of the standard
library as will do, since every check pays for the start-up (``_signal``, not
``signal``, which imports ``enum``; no ``subprocess``, no ``json``).

On Linux it makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so a
process the check detaches (a double fork, ``setsid``, ``nohup … &``) is re-parented to
it, not to init. It runs the command with ``/bin/sh -c``; when the shell exits, the
time limit passes, specmill asks it to stop (SIGTERM) or specmill dies
(``PR_SET_PDEATHSIG``), it kills every descendant left, however it detached, until
none is left. One reaper per check, so concurrent checks never end each other's.

It writes one line of JSON to ``FD``: the shell's exit status, whether the time ran
out, how many processes were ended after the shell, and how: ``subreaper`` (Linux), or
``process-group`` where no subreaper exists (a process that left the group survives).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

TYPE_CHECKING = False  # not `typing`'s: every check pays for this script's imports
if TYPE_CHECKING:
    import signal as _signal  # the same functions and constants, with types
else:
    import _signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
ROUNDS = 1000  # kill-and-look rounds: a fork bomb is out of children long before


class Stop(Exception):
    """specmill asked (SIGTERM), or died: end everything now."""


class Expired(Exception):
    """The check's time limit passed."""


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
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
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
            try:  # noqa: SIM105 (contextlib would cost every check its import)
                os.kill(pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            ended.add(pid)
        time.sleep(0.002)
        _reap_zombies()  # the orphans of the killed came to us: collect them
    _reap_zombies()
    return len(ended)


def _start_shell(command: str, own_group: bool) -> int:
    pid = os.fork()
    if pid == 0:  # the child: the default dispositions a shell expects, then the shell
        try:
            for signum in (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGTERM, _signal.SIGHUP):
                _signal.signal(signum, _signal.SIG_DFL)
            if own_group:
                os.setsid()
            os.execv("/bin/sh", ["/bin/sh", "-c", command])
        finally:
            os._exit(127)
    return pid


def main(argv: list[str]) -> int:
    fd, timeout, command = int(argv[0]), float(argv[1]), argv[2]
    parent = os.getppid()
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, _signal.SIGTERM)

    def stop(signum: int, frame: object) -> None:
        raise Stop()

    def expire(signum: int, frame: object) -> None:
        raise Expired()

    _signal.signal(_signal.SIGTERM, stop)
    _signal.signal(_signal.SIGHUP, stop)
    _signal.signal(_signal.SIGALRM, expire)
    exit_code: int | None = None
    timed_out = stopped = False
    shell = None
    try:
        if os.getppid() != parent:
            raise Stop()  # specmill died before PR_SET_PDEATHSIG was in place
        # Without a subreaper the check gets a group of its own, killed as a whole.
        shell = _start_shell(command, own_group=not subreaper)
        _signal.setitimer(_signal.ITIMER_REAL, timeout)
        exit_code = os.waitstatus_to_exitcode(os.waitpid(shell, 0)[1])
    except Expired:
        timed_out = True
    except Stop:
        stopped = True
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        for signum in (_signal.SIGTERM, _signal.SIGHUP):  # the cleanup is not interrupted
            _signal.signal(signum, _signal.SIG_IGN)
        if subreaper:
            ended, how = end_descendants(), "subreaper"
        else:
            ended, how = 0, "process-group"
            if shell is not None:
                try:  # noqa: SIM105
                    os.killpg(shell, _signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                _reap_zombies()
        report = (
            f'{{"exit": {"null" if exit_code is None else exit_code},'
            f' "timed_out": {"true" if timed_out else "false"},'
            f' "stopped": {"true" if stopped else "false"},'
            f' "ended": {ended}, "reaper": "{how}"}}\n'
        )
        os.write(fd, report.encode())
        os.close(fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
