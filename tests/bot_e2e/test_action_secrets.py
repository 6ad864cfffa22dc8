"""Issue 11, item 3 and issue 18, item 5: nothing secret in any ancestor's environment.

A check runs pull request or model code as the runner's user, and may read the
environment every ancestor *started* with (``os.environ.pop`` does not change it). It
found GITHUB_TOKEN, OPENAI_API_KEY, ACTIONS_RUNTIME_TOKEN and
ACTIONS_ID_TOKEN_REQUEST_TOKEN there, then the paths of GITHUB_ENV and GITHUB_OUTPUT
(through which it set the job's later steps and outputs) and a job-level secret. Here
the action's own steps, taken from action.yml, run the way the runner runs them
(``bash --noprofile --norc -eo pipefail``, the runner's variables in the environment),
and a check walks its ancestors.
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
JOB_SECRET = "github_pat_" + "J0bSecretPat" * 4  # `env: GH_PAT: ${{ secrets.GH_PAT }}`
PROXY_KEY = "sk-proxy-" + "V3rifierKey" * 3  # a verifier's own key, through model-keys
SECRETS = {
    "github-token": TOKEN,
    "api-key": MODEL_KEY,
    "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ID_TOKEN,
    "job GITHUB_TOKEN": JOB_TOKEN,
    "job GH_PAT": JOB_SECRET,
    "model-keys PROXY_KEY": PROXY_KEY,
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

    runner = runner_environment(scenario, tmp_path, event)
    handed = hand_secrets(tmp_path, runner)
    env = specmill_step_environment(tmp_path, runner, handed)
    found = steps()
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
    files = {name: env[name] for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH")}
    for what, value in {**SECRETS, **files}.items():
        holders = [pid for pid, a in ancestors.items() if value in a["environ"] + a["cmdline"]]
        assert holders == [], f"{what} in the environment of {holders}"
    assert not handed.exists()  # read once, then deleted
    assert TOKEN not in log and MODEL_KEY not in log


def runner_environment(scenario: Scenario, tmp_path: Path, event: Path) -> dict[str, str]:
    """What the runner puts in every step's environment (a job's `env:` included)."""
    return {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: publishing fails later
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_ENV": str(tmp_path / "set_env_0c1d"),
        "GITHUB_PATH": str(tmp_path / "add_path_0c1d"),
        "RUNNER_TEMP": str(scenario.runner),
        "TMPDIR": str(tmp_path / "tmp"),
        "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ID_TOKEN,
        "GITHUB_TOKEN": JOB_TOKEN,
        "GH_PAT": JOB_SECRET,
    }


def hand_secrets(tmp_path: Path, runner: dict[str, str]) -> Path:
    """The step that writes the private file; its path."""
    outputs = tmp_path / "secrets-step-output"
    handing = run_step(
        steps()["secrets"],
        tmp_path,
        {
            **runner,
            "GITHUB_OUTPUT": str(outputs),
            "SPECMILL_GITHUB_TOKEN": TOKEN,  # the step's env, as the runner evaluates it
            "SPECMILL_API_KEY": MODEL_KEY,
            "SPECMILL_MODEL_KEYS": f"PROXY_KEY={PROXY_KEY}\n",
        },
    )
    assert handing.wait(timeout=30) == 0
    (file_line,) = outputs.read_text().splitlines()
    handed = Path(file_line.removeprefix("file="))
    assert handed.stat().st_mode & 0o777 == 0o600
    assert f"PROXY_KEY={PROXY_KEY}\n" in handed.read_text()  # secret_file.secret() reads it
    return handed


def specmill_step_environment(
    tmp_path: Path, runner: dict[str, str], handed: Path
) -> dict[str, str]:
    step_env = {"MODE": "run", "SPECMILL_SECRETS_FILE": str(handed), "OPENAI_BASE_URL": ""}
    for name in ("SPECMILL_CONFIG", "SPECMILL_DELIVERY", "BASE_SHA", "HEAD_SHA"):
        step_env[name] = ""
    step_env.update(SPECMILL_BUNDLE="specmill-bundle", SPECMILL_MODULES="", SPECMILL_CHECK_ENV="")
    return {**runner, **step_env, "GITHUB_OUTPUT": str(tmp_path / "specmill-step-output")}


def test_the_action_outputs_and_summary_reach_specmill_by_the_private_file(
    scenario: Scenario, tmp_path: Path
) -> None:
    """specmill's environment has no GITHUB_OUTPUT or GITHUB_STEP_SUMMARY: it still
    writes the action's outputs and the step summary (a fork: checks only, no API)."""
    scenario.branch("patch-1")
    scenario.write(INVOICE_MD, INVOICE.replace("sum of the items", "sum of the items, an int"))
    scenario.commit("invoice: say what total returns")
    head = scenario.push("refs/pull/57/head")
    event = scenario.event("pull_request.opened.fork.json", BASE=scenario.base, FORK_HEAD=head)
    checkout = scenario.checkout(head, "refs/pull/57/head")
    venv = scenario.runner / "specmill-venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "specmill").symlink_to(Path(sys.executable).parent / "specmill")
    runner = runner_environment(scenario, tmp_path, event)
    env = specmill_step_environment(tmp_path, runner, hand_secrets(tmp_path, runner))

    done = run_step(steps()["specmill"], tmp_path, env, cwd=checkout, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True)  # fmt: skip
    log = done.communicate(timeout=120)[0]

    assert done.returncode == 1, log  # the fork leaves billing.invoice stale
    assert "verdict=failure" in Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    assert "billing.invoice" in Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")


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


def test_specmill_starts_with_the_checks_allow_list_and_check_env_takes_no_secret(
    tmp_path: Path,
) -> None:
    from specmill.engine.checks import CHECK_VARIABLES

    script = steps()["specmill"]["run"]
    kept = set(script.split("keep=(", 1)[1].split(")", 1)[0].split())
    assert kept >= CHECK_VARIABLES  # checks still find their toolchains
    assert not {n for n in kept if n.endswith(("TOKEN", "KEY")) or n in ("GITHUB_ENV", "GH_PAT")}
    for name in ("GH_TOKEN", "GITHUB_OUTPUT", "MY_API_KEY", "a-b"):
        env = {**os.environ, "MODE": "run", "SPECMILL_CHECK_ENV": f"DSN {name}"}
        done = run_step(steps()["specmill"], tmp_path, env, stdout=subprocess.PIPE, text=True)
        out = done.communicate(timeout=30)[0]
        assert done.returncode == 2 and "check-env takes variable names" in out, name


def test_model_keys_take_one_name_and_value_per_line(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    for keys in ("PROXY KEY=x", "just a secret", "1KEY=x"):
        env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(outputs)}
        env.update(SPECMILL_GITHUB_TOKEN="", SPECMILL_API_KEY="", SPECMILL_MODEL_KEYS=keys)
        done = run_step(steps()["secrets"], tmp_path, env, stdout=subprocess.PIPE, text=True)
        out = done.communicate(timeout=30)[0]
        assert done.returncode == 2 and "model-keys takes one NAME=value per line" in out
        assert keys not in out  # a line of it may be a secret: never echoed
        assert list(tmp_path.glob("specmill-secrets.*")) == []  # removed, not left half-written
