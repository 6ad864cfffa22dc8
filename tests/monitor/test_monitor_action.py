"""action.yml's monitor mode, its steps run as the runner runs them: the site is built
with links to the specs on GitHub, the secrets file is gone, the summary links the site."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.monitor.conftest import History
from tests.monitor.page import Page

ACTION = Path(__file__).resolve().parents[2] / "action.yml"
SHA = "0123456789abcdef0123456789abcdef01234567"


def steps() -> dict[str, dict[str, Any]]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return {step.get("id", step["name"]): step for step in action["runs"]["steps"]}


def run_step(
    step: dict[str, Any], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def test_monitor_mode_builds_the_site_and_the_summary_links_it(
    history: History, tmp_path: Path
) -> None:
    runner = tmp_path / "runner"
    (runner / "specmill-venv" / "bin").mkdir(parents=True)
    specmill = Path(sys.executable).parent / "specmill"
    (runner / "specmill-venv" / "bin" / "specmill").symlink_to(specmill)
    secrets = runner / "specmill-secrets.x"
    secrets.write_text("GITHUB_TOKEN=ghs_never_needed\n")
    workspace = tmp_path / "workspace"
    shutil.copytree(history.root, workspace)
    summary = tmp_path / "summary.md"
    found = steps()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "RUNNER_TEMP": str(runner),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_SHA": SHA,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    step_env = {k: v for k, v in found["specmill"]["env"].items() if "${{" not in str(v)}
    step_env |= {
        "MODE": "monitor",
        "SPECMILL_SECRETS_FILE": str(secrets),
        "SPECMILL_SITE": "site",
        "OPENAI_BASE_URL": "",
        "SPECMILL_CONFIG": "",
    }
    done = run_step(found["specmill"], workspace, env | step_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not secrets.exists()  # the mode needs no secret: the file is deleted unread
    page = Page((workspace / "site" / "index.html").read_text(encoding="utf-8"))
    links = {a.attrs["href"] for a in page.all("a") if a.attrs["href"].startswith("https:")}
    assert f"https://github.com/acme/shop/blob/{SHA}/specs/billing/receipt.md" in links

    assert found["monitor"]["with"]["path"] == "${{ inputs.site }}"
    assert found["monitor"]["uses"].startswith("actions/upload-artifact@")
    url = "https://github.com/acme/shop/actions/runs/1/artifacts/2"
    done = run_step(
        found["Link the pipeline monitor from the job summary"],
        workspace,
        env | {"ARTIFACT_URL": url},
    )
    assert done.returncode == 0, done.stderr
    assert f"[Download the pipeline monitor]({url})" in summary.read_text()
