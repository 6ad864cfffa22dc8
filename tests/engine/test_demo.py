"""``specmill demo``: with the built-in demo model, and against an OpenAI-compatible server."""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import re
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.openai_server import Endpoint, serve

ROLES = {"You are the planner": "planner", "You are the executor": "executor"}


def run_demo(*args: str) -> tuple[int, str, str]:
    from specmill.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo", *args])
    return code, out.getvalue(), err.getvalue()


def test_demo_runs_the_whole_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_demo()
    assert code == 0, err + out
    assert "demo model: scripted answers" in out
    assert "billing.invoice: ✅ passed after 2 attempt(s)" in err  # progress, on stderr
    assert "attempt 1 (fast tier, `demo-fast`): the verifiers rejected it" in out
    assert "major code-defect **R4** at `billing/invoice.py:29`" in out
    assert "Specmill-Module: billing.invoice sha256:" in out
    assert "Specmill-Module: billing.receipt sha256:" in out
    assert re.search(r"requirement  R4 at specs/billing/invoice.md:\d+: `Invoice.add`", out)
    assert "plan         step 4: Invoice.add rejects" in out
    assert "(exit code 1)" in out  # the hand edit is caught
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"]  # nothing left here …
    assert not list((tmp_path / "tmp").iterdir())  # … nor in the temp folder (autouse fixture)


def by_role_and_module(endpoint: Endpoint) -> None:
    """Serve the demo model's answers through HTTP: by the prompt's role and module."""
    script = importlib.resources.files("specmill.templates").joinpath("demo", "model.yaml")
    answers = yaml.safe_load(script.read_text(encoding="utf-8"))["modules"]
    queues = {
        (module, role): deque(json.dumps(a) for a in items)
        for module, roles in answers.items()
        for role, items in roles.items()
    }
    take = endpoint.take

    def route(body: dict[str, Any]) -> Any:
        system = body["messages"][0]["content"]
        user = " ".join(m["content"] for m in body["messages"] if m["role"] == "user")
        role = next((r for k, r in ROLES.items() if system.startswith(k)), "verifier")
        module = re.findall(r"module `([^`]+)`", user)[-1]  # a re-ask names none
        endpoint.answer(body["model"], queues[(module, role)].popleft())
        return take(body)

    endpoint.take = route  # type: ignore[method-assign]


def test_demo_against_an_openai_compatible_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with serve() as endpoint:
        by_role_and_module(endpoint)
        code, out, err = run_demo("--base-url", endpoint.url, "--model", "local-model")
    assert code == 0, err + out
    assert "model: local-model at http://127.0.0.1:" in out
    assert "demo model" not in out
    assert "Specmill-Models: local-model" in out
    assert len(endpoint.requests) == 11
    assert "billing.invoice: ✅ passed after 2 attempt(s)" in err


def test_demo_with_a_failing_endpoint_ends_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with serve() as endpoint:
        from tests.engine.openai_server import Reply

        endpoint.always = Reply(status=500, headers={"retry-after": "0"})
        code, out, err = run_demo("--base-url", endpoint.url, "--model", "broken")
    assert code == 1
    assert "HTTP 500" in out  # in the review
    assert "the code of broken did not pass" in err
    assert "Traceback" not in out + err
    code, _, err = run_demo("--model", "x")
    assert code == 2 and "--base-url and --model go together" in err


def test_demo_against_a_server_that_refuses_json_schema_with_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """llama-cpp-python's answer to json_schema: the run negotiates, and records it."""
    from tests.engine.openai_server import Reply
    from tests.llm.server_refusals import FORMAT_REFUSALS

    llama = next(r for r in FORMAT_REFUSALS if r.server == "llama-cpp-python")
    monkeypatch.chdir(tmp_path)
    with serve() as endpoint:
        by_role_and_module(endpoint)
        routed = endpoint.take

        def refuse_json_schema(body: dict[str, Any]) -> Any:
            if body.get("response_format", {}).get("type") == "json_schema":
                with endpoint.lock:
                    endpoint.requests.append(body)
                return Reply(status=llama.status, body=llama.body)
            return routed(body)

        endpoint.take = refuse_json_schema  # type: ignore[method-assign]
        code, out, err = run_demo("--keep", "--base-url", endpoint.url, "--model", "llama")
    assert code == 0, err + out
    refused = [r for r in endpoint.requests if r["response_format"]["type"] == "json_schema"]
    assert len(refused) == 1  # once for the run, not once per call, and never retried
    kept = Path(re.findall(r"kept the example repository in (\S+)", out)[-1])
    from specmill.engine.runstore import list_runs

    calls = [call for run in list_runs(kept) for call in run.calls]
    assert len(calls) == 11
    assert {call.structured_output for call in calls} == {"json_object_schema"}
    monkeypatch.chdir(kept)
    run_id = list_runs(kept)[0].run_id
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        from specmill.cli.main import main

        assert main(["runs", run_id, "--json"]) == 0
    assert '"structured_output": "json_object_schema"' in out.getvalue()
    monkeypatch.chdir(tmp_path)
    import shutil

    shutil.rmtree(kept.parent)


def test_demo_timeout_reaches_the_models_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with serve() as endpoint:
        by_role_and_module(endpoint)
        code, out, err = run_demo(
            "--keep", "--base-url", endpoint.url, "--model", "slow", "--timeout", "900"
        )
    assert code == 0, err + out
    kept = Path(re.findall(r"kept the example repository in (\S+)", out)[-1])
    from specmill.core.project import load_config

    config, _ = load_config(kept)
    assert config.models.timeout == 900
    import shutil

    shutil.rmtree(kept.parent)
    code, _, err = run_demo("--base-url", endpoint.url, "--model", "x", "--timeout", "0")
    assert code == 2 and "--timeout" in err


def test_demo_whose_regen_ends_before_its_review_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regen stopped early (Ctrl-C, SIGTERM) writes no review: the demo says so, with no
    traceback from reading a review that is not there."""
    from specmill.cli import demo

    real = demo.run_cli

    def stopped_regen(*args: str) -> int:
        return 130 if args[0] == "regen" else real(*args)

    monkeypatch.setattr(demo, "run_cli", stopped_regen)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_demo("--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert code == 1
    assert "`specmill regen` ended (exit code 130) before writing its review" in err
    assert "Traceback" not in out + err
