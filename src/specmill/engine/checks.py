"""The check runner: configured commands in a worktree, timed, without secrets.

``check_environment`` and ``scrubbed_environment`` are pure; ``run_check`` is the adapter
that runs the command under a reaper of its own (``specmill.reaper``): when the check
ends, or its time runs out, every process it started is ended, however it detached.

Checks run the pull request's and the model's code, so they get an allow-list, not the
runner's whole environment minus the secrets we thought of: the variables a shell and
the usual toolchains need (``CHECK_VARIABLES``, ``LC_*``), plus the config's
``check_env``. Whatever is allowed, a name in ``secret_names``, a secret-shaped name, a
git location and the runner's command files (``GITHUB_ENV``, ``GITHUB_OUTPUT``, …,
through which a check could set the job's outputs) never reach a check.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import specmill
from specmill.core.config import Config
from specmill.core.records import CheckResult
from specmill.engine.inputs import clip
from specmill.processes import alive

OUTPUT_CHARS = 8_000  # of each check's output kept for prompts and reports
REAPER = Path(specmill.__file__).with_name("reaper.py")
STOP_WAIT = 5.0  # seconds a reaper gets to end its check when the run is interrupted
# A name that ends in one of these words: OPENAI_API_KEY, AZURE_OPENAI_KEY, GH_TOKEN,
# AWS_SECRET_ACCESS_KEY, DB_PASSWORD, TOKEN (not DEPLOY_PASSWORD_HINT, TOKENIZERS_…).
_SECRET_NAME = re.compile(
    r"(?:^|.*_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$",
    re.IGNORECASE,
)
# Set inside git hooks; they would point the check's git commands at the user's repository.
_GIT_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


# What a shell, a test runner and the common toolchains need, and nothing that names
# a service: compilers and interpreters find themselves, nothing logs in anywhere.
CHECK_VARIABLES = frozenset(
    {
        *("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM"),
        *("TMPDIR", "TEMP", "TMP", "CI", "NO_COLOR", "LD_LIBRARY_PATH", "PKG_CONFIG_PATH"),
        *("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME", "PYTHONUTF8"),
        *("PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "pythonLocation", "Python_ROOT_DIR"),
        *("Python3_ROOT_DIR", "JAVA_HOME", "GRADLE_USER_HOME", "GOPATH", "GOROOT", "GOCACHE"),
        *("GOMODCACHE", "GOFLAGS", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"),
        *("NODE_PATH", "NVM_DIR", "DOTNET_ROOT", "GEM_HOME", "GEM_PATH"),
    }
)
# The runner's command files: a check writing `verdict=success` to GITHUB_OUTPUT would
# set the job's outputs for later steps.
RUNNER_FILES = frozenset(
    {"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"}
)


def secret_names(config: Config) -> set[str]:
    return {"OPENAI_API_KEY", "GITHUB_TOKEN", *config.models.key_variables(), *config.secret_env}


def scrubbed_environment(environ: Mapping[str, str], config: Config) -> dict[str, str]:
    """``environ`` without model keys, tokens, configured secrets and git locations."""
    named = secret_names(config)
    return {
        key: value
        for key, value in environ.items()
        if key not in named and key not in _GIT_LOCATION and not _SECRET_NAME.match(key)
    }


def check_environment(environ: Mapping[str, str], config: Config) -> dict[str, str]:
    """The allow-listed part of ``environ`` that checks run with (module docstring)."""
    wanted = CHECK_VARIABLES | set(config.check_env)
    never = secret_names(config) | RUNNER_FILES | set(_GIT_LOCATION)
    return {
        key: value
        for key, value in environ.items()
        if (key in wanted or key.startswith("LC_"))
        and key not in never
        and not key.startswith("ACTIONS_")
        and not _SECRET_NAME.match(key)
    }


class ProcessGroups:
    """The reapers of the checks running right now, so an interrupted run can end them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alive: set[int] = set()

    def add(self, pid: int) -> None:
        with self._lock:
            self._alive.add(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._alive.discard(pid)

    def __len__(self) -> int:
        with self._lock:
            return len(self._alive)

    def kill_all(self) -> None:
        """Ask every reaper to end its check and all it started, then kill what is left."""
        with self._lock:
            pids, self._alive = set(self._alive), set()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in pids:
            _kill_group(pid)


# Every check running in this process, whichever run started it: delivery refuses to
# run an authenticated git command while one is (``running_checks``).
RUNNING = ProcessGroups()


def running_checks() -> int:
    return len(RUNNING)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _report(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    try:
        report = json.loads(data or b"null")
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def run_check(
    command: str,
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    groups: ProcessGroups | None = None,
) -> CheckResult:
    """``command`` in ``cwd`` under its own reaper (``specmill.reaper``): when it returns,
    no process the command started is alive."""
    started = time.monotonic()
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(REAPER), str(write_end), f"{timeout}", command],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: a signal to specmill's group skips it
            pass_fds=(write_end,),
        )
    except OSError as exc:
        os.close(read_end)
        return CheckResult(
            command=command, exit_code=None, duration_s=0.0, output=f"could not start: {exc}"
        )
    finally:
        os.close(write_end)
    for registry in (RUNNING, groups):
        if registry is not None:
            registry.add(process.pid)
    try:
        # The reaper keeps the time limit; this wait only guards against a reaper that hangs.
        out, _ = process.communicate(timeout=timeout + STOP_WAIT + 5)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        try:
            out, _ = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # with its reaper gone, a survivor holds the pipe
            out = b""
    finally:
        if process.poll() is None:
            _kill_group(process.pid)
            process.wait()
        for registry in (RUNNING, groups):
            if registry is not None:
                registry.discard(process.pid)
    report = _report(read_end)
    text = out.decode("utf-8", "replace")
    timed_out = bool(report.get("timed_out"))
    ended = int(report.get("ended") or 0)
    if not report:
        text += "\n[specmill: the check's reaper ended without a report: counted as failed]"
    elif timed_out:
        text += f"\n[specmill: killed after the check_timeout of {timeout:g} s]"
    if ended and not timed_out:
        text += f"\n[specmill: ended {ended} process(es) the check left running]"
    exit_code = report.get("exit")
    return CheckResult(
        command=command,
        exit_code=exit_code if isinstance(exit_code, int) and not timed_out else None,
        duration_s=round(time.monotonic() - started, 3),
        output=clip(text, OUTPUT_CHARS),
        timed_out=timed_out,
        ended=ended,
    )


def tree_environment(env: Mapping[str, str], tree: Path, roots: Sequence[str]) -> dict[str, str]:
    """``env`` with the config's ``check_import_roots``, inside ``tree``, first on
    ``PYTHONPATH`` and ``NODE_PATH``: an editable install of the checkout comes later."""
    if not roots:
        return dict(env)
    first = [str(tree / root) if root != "." else str(tree) for root in roots]
    out = dict(env)
    for name in ("PYTHONPATH", "NODE_PATH"):
        out[name] = os.pathsep.join([*first, *([env[name]] if env.get(name) else [])])
    return out


def run_checks(
    commands: Iterable[str],
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    groups: ProcessGroups | None = None,
    import_roots: Sequence[str] = (),
) -> list[CheckResult]:
    """Every command in order; all run even after a failure, so feedback is complete."""
    env = tree_environment(env, cwd, import_roots)
    return [run_check(c, cwd, env=env, timeout=timeout, groups=groups) for c in commands]
