"""Issue 11, runtime items, end to end through the real CLI: what a check (model or pull
request code), a model answer and a flaky runner can still do to a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from specmill.core.config import Config
from specmill.engine.checks import check_environment
from tests.cli.test_workflow_commands import obeyed
from tests.conftest import runs_dir
from tests.engine.conftest import PASS, PY, Factory, executor, plan
from tests.engine.openai_server import Endpoint

INVOICE_PY = "src/billing/invoice.py"
COMPILES = f"{PY} -m compileall -q src || exit 1"  # fails at once on sabotaged outputs


def test_a_check_command_from_the_config_never_reaches_the_log_as_a_command(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull request's config names check commands; the progress and the failure
    report print them, and a newline in one forged a command in the trusted job's log."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    forged = "::set-output name=verdict::success"
    factory.configure(checks=[f"exit 1\n{forged}", "false\r  ::add-mask::y"])
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return 0\n")] * 2,
        verifier=[PASS, PASS] * 2,
    )
    code, out, err = factory.main("regen")
    assert code == 1
    assert "set-output name=verdict::success" in out + err  # shown, but inert
    assert obeyed(out) == [] and obeyed(err) == []


def _records(factory: Factory) -> list[dict[str, Any]]:
    folder = runs_dir(factory.root)
    return [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*/record.json")]


def test_a_lone_surrogate_in_an_answer_is_an_invalid_answer_not_a_crash(
    factory: Factory,
) -> None:
    """``"\\ud800"`` is valid JSON but not text: the run crashed with an internal
    UnicodeEncodeError, aborting every module without saving the run record. Now the
    answer is invalid, and the model is asked again, as for any invalid answer."""
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[
            executor(INVOICE_PY, "def total(items):\n    return '\ud800'\n"),
            executor(INVOICE_PY, "def total(items):\n    return sum(items)\n"),
        ],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    assert "sum(items)" in factory.read(INVOICE_PY)
    (record,) = _records(factory)
    assert [m["status"] for m in record["modules"]] == ["passed"]


def test_a_model_that_keeps_sending_surrogates_fails_its_module_cleanly(
    factory: Factory,
) -> None:
    bad = executor(INVOICE_PY, "x = '\udfff'\n")
    factory.answers(planner=[plan(INVOICE_PY)], executor=[bad] * 6, verifier=[])
    code, _, err = factory.main("regen")
    assert code == 1
    assert "internal error" not in err and "lone surrogate" in err
    (record,) = _records(factory)
    assert [m["status"] for m in record["modules"]] == ["error"]
    assert factory.git("status", "--porcelain") == ""


def test_the_run_record_is_saved_even_when_the_run_crashes(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calls were paid for: an unexpected error must not lose their record."""
    import specmill.engine.candidate

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(specmill.engine.candidate, "stamp", broken)
    factory.answers(planner=[plan(INVOICE_PY)], executor=[executor(INVOICE_PY, "x = 1\n")])
    code, _, err = factory.main("regen")
    assert code == 1 and "internal error: RuntimeError: a bug" in err
    (record,) = _records(factory)
    assert [c["role"] for c in record["calls"]] == ["planner", "executor"]
    assert record["finished_at"]
    assert factory.worktrees() == []


LEAKY = {
    # the runner's command files: a check could set the job's outputs through them
    "GITHUB_ENV": "runner-file",
    "GITHUB_OUTPUT": "runner-file",
    "GITHUB_PATH": "runner-file",
    "GITHUB_STATE": "runner-file",
    "GITHUB_STEP_SUMMARY": "runner-file",
    # secrets whose names the deny-list missed
    "GH_PAT": "s3cr3t",
    "GITHUB_PAT": "s3cr3t",
    "API_KEYS": "s3cr3t",
    "DB_PASS": "s3cr3t",
    "PGPASSWORD": "s3cr3t",
    "DATABASE_URL": "postgres://u:s3cr3t@db/x",
    "DOCKER_AUTH_CONFIG": "s3cr3t",
    "PRIVATE_KEY_PEM": "s3cr3t",
    "SECRET_KEY_BASE": "s3cr3t",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "ACTIONS_RUNTIME_TOKEN": "s3cr3t",
}


def test_checks_get_an_allow_listed_environment(
    factory: Factory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    output = tmp_path / "github_output"
    output.write_text("")
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, str(output) if value == "runner-file" else value)
    monkeypatch.setenv("VIRTUAL_ENV", "/opt/venv")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("MY_FIXTURES", "/srv/fixtures")  # asked for in check_env
    monkeypatch.setenv("UNASKED", "x")
    dump = tmp_path / "env.txt"
    write_output = 'if [ -n "$GITHUB_OUTPUT" ]; then echo verdict=success >> "$GITHUB_OUTPUT"; fi'
    factory.configure(
        check_env=["MY_FIXTURES"], checks=[f"{COMPILES}; env > {dump}; {write_output}"]
    )
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert not set(LEAKY) & set(seen), sorted(set(LEAKY) & set(seen))
    assert "s3cr3t" not in dump.read_text()
    assert output.read_text() == ""
    assert "UNASKED" not in seen
    assert seen["MY_FIXTURES"] == "/srv/fixtures"
    assert seen["VIRTUAL_ENV"] == "/opt/venv" and seen["LC_ALL"] == "C.UTF-8"
    assert seen["PATH"] == os.environ["PATH"] and seen["HOME"] == os.environ["HOME"]


def test_check_env_cannot_hand_a_secret_or_a_runner_file_to_checks() -> None:
    config = Config(check_env=["GITHUB_OUTPUT", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "OK"])
    environ = {"GITHUB_OUTPUT": "/f", "GITHUB_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "k", "OK": "1"}
    assert check_environment(environ, config) == {"OK": "1"}


def _alive(pid: int) -> bool:
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_cancelled_job_leaves_no_check_and_no_worktree(
    factory: Factory, tmp_path: Path, signum: int, code: int
) -> None:
    """How a CI runner cancels a job: SIGTERM to specmill while a check runs. It died at
    once, leaving its worktree and the check's process tree (a session of its own)."""
    pids = tmp_path / "pids"
    factory.configure(checks=[f"{COMPILES}; sleep 60 & echo $$ $! > {pids}; wait"])
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
    )
    before = factory.snapshot()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}  # where factory.worktrees() looks
    process = subprocess.Popen(
        [sys.executable, "-m", "specmill", "regen"],
        cwd=factory.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pids.exists() and len(pids.read_text().split()) == 2):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        shell, sleeper = (int(p) for p in pids.read_text().split())
        assert factory.worktrees() != []  # the check runs in one
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    leftovers = [pid for pid in (shell, sleeper) if _alive(pid)]
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert process.returncode == code, err
    assert f"terminated by {signal.Signals(signum).name}" in err
    assert leftovers == []
    assert factory.worktrees() == []
    assert factory.snapshot() == before
    (record,) = _records(factory)  # the planner and executor calls were paid for
    assert [c["role"] for c in record["calls"]] == ["planner", "executor"]


def _specmill(factory: Factory, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    return subprocess.Popen(
        [sys.executable, "-m", "specmill", *args],
        cwd=factory.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_second_regen_waits_for_the_first_or_fails_at_once_with_no_wait(
    factory: Factory, tmp_path: Path
) -> None:
    """Two regens in one repository both paid for every model call, then the second
    failed with `git commit failed`. Now the second waits, and then finds nothing to do."""
    started = tmp_path / "started"
    factory.configure(checks=[f"{COMPILES}; touch {started}; sleep 2"])
    factory.commit("a slow check")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    commits = factory.git("rev-list", "--count", "HEAD")
    first = _specmill(factory, tmp_path, "regen")
    try:
        _wait_for(started, first)
        code, _, err = factory.main("regen", "--no-wait")
        assert code == 1
        assert f"pid {first.pid} (specmill regen, since " in err
        code, out, err = factory.main("regen")  # waits, then sees what the first committed
        _, first_err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, first_err
    assert f"specmill: waiting for pid {first.pid} (specmill regen" in err
    assert code == 0, err
    assert "nothing to regenerate" in out
    assert int(factory.git("rev-list", "--count", "HEAD")) == int(commits) + 1
    assert len(_records(factory)) == 1  # one run called the models, not two


def test_the_lock_of_a_killed_run_is_taken_over(factory: Factory, tmp_path: Path) -> None:
    holder = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, pathlib, signal\n"
            "from specmill.engine.lock import repository_lock\n"
            "with repository_lock(pathlib.Path('.git'), 'specmill regen doomed'):\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        cwd=factory.root,
        capture_output=True,
        text=True,
    )
    assert holder.returncode == -signal.SIGKILL
    assert "specmill regen doomed" in factory.read(".git/specmill.lock")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen", "--no-wait")
    assert code == 0, err
    assert "taking over the lock left by pid" in err and "no longer running" in err
    assert factory.read(".git/specmill.lock") == ""  # released


def test_a_raw_lone_surrogate_through_the_real_client_is_reasked(
    served: tuple[Factory, Endpoint],
) -> None:
    """The server's JSON carries "\\ud800"; the SDK decodes it into the answer's text."""
    factory, endpoint = served
    bad = executor(INVOICE_PY, "def total(items):\n    return '\ud800'\n")
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-fast", json.dumps(bad, ensure_ascii=False))
    endpoint.answer("m-fast", executor(INVOICE_PY, "def total(items):\n    return sum(items)\n"))
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)
    code, _, err = factory.main("regen")
    assert code == 0, err
    assert "lone surrogate" in endpoint.requests[2]["messages"][-1]["content"]
    (record,) = _records(factory)
    assert [m["status"] for m in record["modules"]] == ["passed"]


def test_every_worktree_of_a_repository_shares_one_lock(factory: Factory, tmp_path: Path) -> None:
    from specmill.engine.lock import git_dir_of

    linked = tmp_path / "linked"
    factory.git("worktree", "add", "--quiet", "--detach", str(linked))
    assert git_dir_of(linked) == git_dir_of(factory.root) == (factory.root / ".git").resolve()


def test_calibrate_takes_the_run_lock_too(factory: Factory) -> None:
    """A calibration runs checks in worktrees and saves a run: not beside a regen."""
    from specmill.engine.lock import git_dir_of, repository_lock

    with repository_lock(git_dir_of(factory.root), "specmill regen billing.invoice", wait=False):
        code, _, err = factory.main("calibrate", "--no-wait")
    assert code == 1
    assert f"pid {os.getpid()} (specmill regen billing.invoice, since " in err
