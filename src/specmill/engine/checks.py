"""The check runner: configured commands in a worktree, timed, without secrets.

``check_environment`` and ``scrubbed_environment`` are pure; ``run_check`` is the adapter
that starts a shell in its own process group, so that a timeout kills the command and
everything it started.

Checks run the pull request's and the model's code, so they get an allow-list, not the
runner's whole environment minus the secrets we thought of: the variables a shell and
the usual toolchains need (``CHECK_VARIABLES``, ``LC_*``), plus the config's
``check_env``. Whatever is allowed, a name in ``secret_names``, a secret-shaped name, a
git location and the runner's command files (``GITHUB_ENV``, ``GITHUB_OUTPUT``, …,
through which a check could set the job's outputs) never reach a check.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from specmill.core.config import Config
from specmill.core.records import CheckResult
from specmill.engine.inputs import clip

OUTPUT_CHARS = 8_000  # of each check's output kept for prompts and reports
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
    """The check processes alive right now, so an interrupted run can kill them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alive: set[int] = set()

    def add(self, pid: int) -> None:
        with self._lock:
            self._alive.add(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._alive.discard(pid)

    def kill_all(self) -> None:
        with self._lock:
            pids, self._alive = set(self._alive), set()
        for pid in pids:
            _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_check(
    command: str,
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    groups: ProcessGroups | None = None,
) -> CheckResult:
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
    except OSError as exc:
        return CheckResult(
            command=command, exit_code=None, duration_s=0.0, output=f"could not start: {exc}"
        )
    if groups is not None:
        groups.add(process.pid)
    timed_out = False
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process.pid)
        try:
            out, _ = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a grandchild left the group and holds the pipe
            out = b""
    finally:
        # Always, even after a clean exit: a background job the command started
        # (`server &`, `nohup … &`) is still in its group and must not outlive the check.
        _kill_group(process.pid)
        if process.poll() is None:
            process.wait()
        if groups is not None:
            groups.discard(process.pid)
    text = out.decode("utf-8", "replace")
    if timed_out:
        text += f"\n[specmill: killed after the check_timeout of {timeout:g} s]"
    return CheckResult(
        command=command,
        exit_code=None if timed_out else process.returncode,
        duration_s=round(time.monotonic() - started, 3),
        output=clip(text, OUTPUT_CHARS),
        timed_out=timed_out,
    )


def run_checks(
    commands: Iterable[str],
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    groups: ProcessGroups | None = None,
) -> list[CheckResult]:
    """Every command in order; all run even after a failure, so feedback is complete."""
    return [run_check(c, cwd, env=env, timeout=timeout, groups=groups) for c in commands]
