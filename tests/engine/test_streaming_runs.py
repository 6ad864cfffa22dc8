"""A run against a server that streams: a looping answer is stopped within seconds and
re-asked, the run still ends with a clean verdict, and progress shows (or not, with -q)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from specmill.engine import progress as progress_module
from tests.engine.openai_server import Endpoint, Reply, serve
from tests.engine.test_demo import by_role_and_module, run_demo
from tests.llm.sse import Stream, forever

# what a small model under a JSON grammar wrote for a plan's steps, over and over
LOOP = '{"description": "Add the line total", "requirements": ["R1"]}, '
PREFIX = '{"files": [{"path": "billing/invoice.py", "purpose": "the invoice"}], "steps": ['
TOKENS_A_SECOND = 200


def loop_first_plan(endpoint: Endpoint) -> None:
    """The first planner request streams an endless repetition at ~200 tokens a second."""
    routed = endpoint.take

    def take(body: dict[str, Any]) -> Any:
        planner = body["messages"][0]["content"].startswith("You are the planner")
        if planner and not endpoint.streams and len(body["messages"]) == 2:
            with endpoint.lock:
                endpoint.requests.append(body)
            pieces = _then(PREFIX, forever(LOOP))
            return Reply(pieces=pieces, stream=Stream(delay=1 / TOKENS_A_SECOND))
        return routed(body)

    endpoint.take = take  # type: ignore[method-assign]


def test_a_looping_answer_is_stopped_within_seconds_and_the_run_ends_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(progress_module, "LINE_EVERY", 0.5)
    with serve() as endpoint:
        by_role_and_module(endpoint)
        loop_first_plan(endpoint)
        code, out, err = run_demo("--keep", "--base-url", endpoint.url, "--model", "small")

    assert code == 0, err + out
    assert "billing.invoice: ✅ passed after 2 attempt(s)" in err  # the demo's own story
    looped = endpoint.streams[0]
    assert looped.closed_by_client and looped.seconds < 10, looped
    reask = endpoint.requests[1]
    assert reask["messages"][0]["content"].startswith("You are the planner")
    problem = reask["messages"][-1]["content"]
    assert f"the answer repeated itself from line 1 (character {len(PREFIX) + 1})" in problem
    # progress in a log (not a terminal): a line a call every LINE_EVERY seconds at most
    lines = [line for line in err.splitlines() if "planner call (small)" in line]
    assert lines and all(line.startswith("billing.invoice: planner call") for line in lines)
    assert any(re.search(r"streaming, [\d,]+ tokens, [\d.]+ tokens/s, \d+ s$", x) for x in lines)
    assert len(lines) <= looped.seconds / 0.5 + 2
    kept = Path(re.findall(r"kept the example repository in (\S+)", out)[-1])
    from specmill.engine.runstore import list_runs

    calls = [call for run in list_runs(kept) for call in run.calls]
    plan = next(c for c in calls if c.role == "planner" and c.module == "billing.invoice")
    assert plan.outcome == "ok" and plan.streamed is True
    assert plan.first_token_s is not None and plan.tokens_per_s
    shutil.rmtree(kept.parent)


def test_quiet_runs_show_no_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(progress_module, "LINE_EVERY", 0.1)
    with serve() as endpoint:
        by_role_and_module(endpoint)
        loop_first_plan(endpoint)
        code, out, err = run_demo("-q", "--base-url", endpoint.url, "--model", "small")

    assert code == 0, err + out
    assert endpoint.streams[0].closed_by_client  # the loop was stopped all the same
    assert "planner call" not in err and "planning" not in err and "passed after" not in err
    assert "Specmill-Module: billing.invoice" in out  # the result still prints


def _then(first: str, rest: Any) -> Any:
    yield first
    yield from rest
