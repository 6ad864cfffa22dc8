"""What running a check under its reaper costs, against the bare shell it replaced.

Each check now starts ``python -I -S specmill/reaper.py`` (a child subreaper that ends
everything the check leaves), which then starts ``/bin/sh -c COMMAND``. The baseline is
``/bin/sh -c COMMAND`` in a session of its own, what ``run_check`` did before. Both run
``true`` (the overhead alone) and a check that leaves a detached ``sleep`` behind (which
only the reaper ends). Prints the figures and the ratio, both measured here.

    .venv/bin/python bench/reaper_bench.py [ROUNDS]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from specmill.engine.checks import run_check
from specmill.processes import alive

# leaves a sleeper in a session of its own, its pid noted so the bench can end it
DETACHING = "(setsid sh -c 'echo $$ >> detached.pids; exec sleep 30' >/dev/null 2>&1 &) ; true"


def bare(command: str, cwd: Path) -> None:
    process = subprocess.Popen(
        ["/bin/sh", "-c", command], cwd=cwd, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    process.communicate()


def timed(rounds: int, run: object, command: str, cwd: Path) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        run(command, cwd)  # type: ignore[operator]
    return (time.perf_counter() - started) / rounds


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        reaped = lambda command, where: run_check(command, where, env=env, timeout=60)  # noqa: E731
        for label, command in (("true", "true"), ("detaching", DETACHING)):
            baseline = timed(rounds, bare, command, cwd)
            mine = timed(rounds, reaped, command, cwd)
            print(
                f"{label:10} bare sh: {baseline * 1000:7.1f} ms   under the reaper:"
                f" {mine * 1000:7.1f} ms   (+{(mine - baseline) * 1000:.1f} ms,"
                f" x{mine / baseline:.1f}) over {rounds} runs"
            )
        noted = cwd / "detached.pids"
        pids = [int(p) for p in noted.read_text().split()] if noted.exists() else []
        survivors = [pid for pid in pids if alive(pid)]
        print(f"detached sleepers still running: {len(survivors)} of {len(pids)} (the bare ones)")
        for pid in survivors:  # what the bare shell left behind, ended by its pid
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
