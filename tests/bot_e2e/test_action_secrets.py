"""Issue 11, item 3: no token in any ancestor's ``/proc/<pid>/environ``.

A check runs pull request or model code as the runner's user, and may read the
environment every ancestor *started* with (``os.environ.pop`` does not change it). It
found GITHUB_TOKEN, OPENAI_API_KEY, ACTIONS_RUNTIME_TOKEN and
ACTIONS_ID_TOKEN_REQUEST_TOKEN there. Here the action's own steps, taken from
action.yml, run the way the runner runs them (``bash --noprofile --norc -eo pipefail``,
the runner's variables in the environment), and a check walks its ancestors.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from specmill import secret_file
from specmill.errors import SpecmillError
from tests.bot_e2e.conftest import MODEL_KEY, PY, Scenario
from tests.bot_e2e.test_pull_request import INVOICE_MD, regenerate_answers
from tests.engine.conftest import INVOICE
from tests.github.gh_support import TOKEN

ACTION = Path(__file__).resolve().parents[2] / "action.yml"
RUNTIME_TOKEN = "runtime-token-" + "R4nd0m" * 6
ID_TOKEN = "id-token-request-" + "R4nd0m" * 6
JOB_TOKEN = "ghp_" + "J0bLevelT0ken" * 3  # a workflow's `env: GITHUB_TOKEN` for the job
SECRETS = {
    "github-token": TOKEN,
    "api-key": MODEL_KEY,
    "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ID_TOKEN,
    "job GITHUB_TOKEN": JOB_TOKEN,
}
WALK = """\
import json, os, sys

def read(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read().decode("utf-8", "replace").replace("\\0", "\\n")
    except OSError as exc:
        return f"<unreadable: {exc}>"

seen, pid = {}, os.getpid()
while pid > 1:
    seen[pid] = {"cmdline": read(pid, "cmdline"), "environ": read(pid, "environ")}
    pid = int(read(pid, "stat").rsplit(")", 1)[1].split()[1])
json.dump(seen, open(sys.argv[1], "w"))
"""


def steps() -> dict[str, dict[str, Any]]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return {step.get("id", step["name"]): step for step in action["runs"]["steps"]}


def run_step(step: dict[str, Any], tmp: Path, env: dict[str, str], **popen: Any) -> Any:
    script = tmp / f"step-{step['id']}.sh"
    script.write_text(step["run"], encoding="utf-8")
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    return subprocess.Popen(command, env=env, **popen)


def test_the_specmill_step_has_no_secret_in_its_environment() -> None:
    found = steps()
    env = json.dumps(found["specmill"]["env"])
    assert "github-token" not in env and "api-key" not in env and "{ secrets." not in env
    handing = json.dumps(found["secrets"]["env"])
    assert "inputs.github-token" in handing and "inputs.api-key" in handing


def test_a_check_finds_no_secret_in_any_ancestors_environment(
    scenario: Scenario, tmp_path: Path
) -> None:
    # The pull request adds a check that walks its ancestors (a same-repository PR).
    dump = tmp_path / "ancestors.json"
    (tmp_path / "walk.py").write_text(WALK, encoding="utf-8")
    walk = f"{PY} {shlex.quote(str(tmp_path / 'walk.py'))} {shlex.quote(str(dump))}"
    scenario.branch()
    config = scenario.read("specmill.toml")
    config = re.sub(r"(?m)^checks = .*$", f"checks = [{json.dumps(walk)}]", config)
    scenario.write("specmill.toml", config)
    scenario.write(INVOICE_MD, INVOICE.replace("sum of the items", "sum of the items, an int"))
    scenario.commit("invoice: say what total returns")
    head = scenario.push()
    regenerate_answers(scenario)
    checkout = scenario.checkout(head)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    venv = scenario.runner / "specmill-venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "specmill").symlink_to(Path(sys.executable).parent / "specmill")

    runner = {  # what the runner puts in every step's environment
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: publishing fails later
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUNNER_TEMP": str(scenario.runner),
        "TMPDIR": str(tmp_path / "tmp"),
        "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ID_TOKEN,
        "GITHUB_TOKEN": JOB_TOKEN,
    }
    found = steps()
    outputs = tmp_path / "secrets-step-output"
    handing = run_step(
        found["secrets"],
        tmp_path,
        {
            **runner,
            "GITHUB_OUTPUT": str(outputs),
            "SPECMILL_GITHUB_TOKEN": TOKEN,  # the step's env, as the runner evaluates it
            "SPECMILL_API_KEY": MODEL_KEY,
        },
    )
    assert handing.wait(timeout=30) == 0
    (file_line,) = outputs.read_text().splitlines()
    handed = Path(file_line.removeprefix("file="))
    assert handed.stat().st_mode & 0o777 == 0o600

    step_env = {"MODE": "run", "SPECMILL_SECRETS_FILE": str(handed), "OPENAI_BASE_URL": ""}
    for name in ("SPECMILL_CONFIG", "SPECMILL_DELIVERY", "BASE_SHA", "HEAD_SHA"):
        step_env[name] = ""
    step_env.update(SPECMILL_BUNDLE="specmill-bundle", SPECMILL_MODULES="")
    env = {**runner, **step_env, "GITHUB_OUTPUT": str(tmp_path / "specmill-step-output")}
    process = run_step(
        found["specmill"],
        tmp_path,
        env,
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not dump.exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the check never ran"
            time.sleep(0.1)
        time.sleep(0.2)  # the walker has closed its file
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        log = process.communicate(timeout=60)[0]
    ancestors = json.loads(dump.read_text(encoding="utf-8"))
    specmill = [a for a in ancestors.values() if "bot\nrun" in a["cmdline"]]
    assert len(specmill) == 1, ancestors  # the walk reached specmill itself
    assert "GITHUB_REPOSITORY=acme/billing" in specmill[0]["environ"]  # and could read it
    for what, value in SECRETS.items():
        holders = [pid for pid, a in ancestors.items() if value in a["environ"] + a["cmdline"]]
        assert holders == [], f"{what} in the environment of {holders}"
    assert not handed.exists()  # read once, then deleted
    assert TOKEN not in log and MODEL_KEY not in log


def test_the_secrets_file_is_read_once_deleted_and_must_be_private(tmp_path: Path) -> None:
    handed = tmp_path / "secrets"
    handed.write_text(f"GITHUB_TOKEN={TOKEN}\nOPENAI_API_KEY=\n")
    handed.chmod(0o600)
    environ = {secret_file.ENV: str(handed), "OPENAI_API_KEY": "exported"}
    try:
        assert secret_file.receive(environ) == {"GITHUB_TOKEN": TOKEN}
        assert not handed.exists() and secret_file.ENV not in environ
        assert secret_file.secret("GITHUB_TOKEN", {}) == TOKEN
        assert secret_file.secret("OPENAI_API_KEY", environ) == "exported"  # empty: not handed
        handed.write_text(f"GITHUB_TOKEN={TOKEN}\n")
        handed.chmod(0o644)
        with pytest.raises(SpecmillError, match="readable by no one else") as caught:
            secret_file.receive({secret_file.ENV: str(handed)})
        assert TOKEN not in str(caught.value) and not handed.exists()
        handed.write_text(f"token {TOKEN}\n")
        handed.chmod(0o600)
        with pytest.raises(SpecmillError, match="expected NAME=value") as caught:
            secret_file.receive({secret_file.ENV: str(handed)})
        assert TOKEN not in str(caught.value)
    finally:
        secret_file.receive({})
