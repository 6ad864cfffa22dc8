"""Issue 18, item 3: nothing a check starts outlives it, however it detached.

A check that double-forks and calls ``setsid()`` left the process-group kill behind
and, still running after ``specmill bot run`` exited, read the delivery token from a
later ``git push``'s environment. Each check now runs under a reaper of its own (a
Linux child subreaper) that ends every descendant when the check ends.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from specmill.engine.checks import REAPER, ProcessGroups, run_check
from tests.conftest import runs_dir
from tests.engine.conftest import PASS, PY, Factory, executor, plan

INVOICE_PY = "src/billing/invoice.py"


def detaching(pidfile: Path, then: str = "exit 0") -> str:
    """A check that leaves a `sleep 300` behind, in a session of its own (double fork +
    setsid), after writing its pid; then ``then``."""
    where = shlex.quote(str(pidfile))
    inner = f"echo $$ > {where}; exec sleep 300"
    wait = f"while [ ! -s {where} ]; do sleep 0.01; done"
    return f"(setsid sh -c {shlex.quote(inner)} &) ; {wait}; {then}"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def kill_if_alive(pid: int) -> bool:
    """Clean up after a failing assertion; whether the process was still there."""
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        return True
    return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")
def test_a_detached_process_is_ended_with_its_check_and_counted(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = run_check(detaching(pidfile), tmp_path, env=dict(os.environ), timeout=30)
    pid = int(pidfile.read_text())
    assert not kill_if_alive(pid), "the detached process outlived its check"
    assert result.passed and result.ended == 1
    assert "ended 1 process(es) the check left running" in result.output


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")
def test_an_interrupted_run_ends_a_running_check_and_what_it_detached(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    groups = ProcessGroups()
    results = []
    command = detaching(pidfile, "sleep 300")
    env = dict(os.environ)
    worker = threading.Thread(
        target=lambda: results.append(
            run_check(command, tmp_path, env=env, timeout=600, groups=groups)
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    groups.kill_all()  # what Ctrl-C, SIGTERM and SIGHUP do
    worker.join(timeout=30)
    pid = int(pidfile.read_text())
    assert not kill_if_alive(pid), "the detached process survived the interrupt"
    assert time.monotonic() - started < 10 and not worker.is_alive()
    (result,) = results
    assert not result.passed and result.ended >= 2  # the check's shell, its sleep, the sleeper


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")
def test_regen_leaves_no_process_of_a_check_and_records_how_many_it_ended(
    factory: Factory, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    # compiles first: fails at once on the sensitivity probe's sabotaged outputs
    factory.configure(checks=[f"{PY} -m compileall -q src || exit 1; {detaching(pidfile)}"])
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    pid = int(pidfile.read_text())
    assert not kill_if_alive(pid), "a process the check detached outlived specmill regen"
    (record_file,) = runs_dir(factory.root).glob("*/record.json")
    (module,) = json.loads(record_file.read_text())["modules"]
    assert [c["ended"] for c in module["checks"]] == [1]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")
def test_a_killed_specmill_takes_its_checks_and_what_they_detached_along(tmp_path: Path) -> None:
    """kill -9 gives specmill no chance to clean up: the kernel tells each reaper."""
    pidfile = tmp_path / "pid"
    runner = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys; from pathlib import Path; from specmill.engine.checks import run_check;"
         " run_check(sys.argv[1], Path(sys.argv[2]), env=dict(os.environ), timeout=600)",
         detaching(pidfile, "sleep 300"), str(tmp_path)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert runner.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        runner.kill()
        runner.wait()
        pid = int(pidfile.read_text())
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not kill_if_alive(pid), "the detached process outlived a killed specmill"
    finally:
        if runner.poll() is None:
            runner.kill()


def test_without_a_subreaper_the_process_group_is_killed_and_a_setsid_process_is_not(
    tmp_path: Path,
) -> None:
    """What the security model says of systems without a child subreaper (macOS): the
    reaper falls back to killing the check's process group, which a `setsid` leaves."""
    grouped, detached = tmp_path / "grouped", tmp_path / "detached"
    command = (
        f"(sleep 300 & echo $! > {grouped}) ;"
        f" (setsid sh -c 'echo $$ > {detached}; exec sleep 300' &) ;"
        f" while [ ! -s {detached} ] || [ ! -s {grouped} ]; do sleep 0.01; done"
    )
    report_r, report_w = os.pipe()
    as_on_macos = (
        "import sys; sys.platform = 'darwin'; sys.argv = sys.argv[1:];"
        " exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", as_on_macos, str(REAPER), str(report_w), "30", command],
        pass_fds=(report_w,), start_new_session=True, timeout=60, check=False,
    )  # fmt: skip
    os.close(report_w)
    report = json.loads(os.read(report_r, 4096))
    os.close(report_r)
    survivor = int(detached.read_text())
    try:
        assert done.returncode == 0 and report["reaper"] == "process-group"
        assert not alive(int(grouped.read_text()))  # in the group: killed
        assert alive(survivor)  # the documented limit
    finally:
        kill_if_alive(survivor)
