"""Breadth-first candidates: they explore on purpose, fail alone, stop early, and the
best-ranked one wins or gives the next attempt its feedback (docs/candidates.md)."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from specmill.llm import backend as backends
from specmill.llm.errors import BudgetExceeded
from tests.conftest import runs_dir
from tests.engine.conftest import (
    INVOICE_CODE,
    PASS,
    SERVED,
    Factory,
    executor,
    fail,
    make_factory,
    plan,
)
from tests.engine.openai_server import Endpoint, Reply, serve

INVOICE_PY = "src/billing/invoice.py"
JUNK = "Sure! Here is the code you asked for."
BROKEN = "def total(items):\n    return sum(items\n"  # compileall fails on it
NO_CHECK = "def total(items):\n    return sum(items)\n"


def run_folder(factory: Factory) -> Path:
    return sorted((runs_dir(factory.root)).glob("*/record.json"))[-1].parent


def record_of(factory: Factory) -> dict[str, Any]:
    return json.loads((run_folder(factory) / "record.json").read_text())


def prompt_of(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"])


@pytest.fixture
def three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Factory, Endpoint]]:
    """The project on the local server, three candidates on three executor models."""
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-engine-test-secret")
    with serve() as endpoint:
        models = SERVED.format(url=endpoint.url).replace("timeout = 0.5", "timeout = 30")
        models += 'candidate_models = ["m-c1", "m-c2", "m-c3"]\n'
        factory = make_factory(tmp_path, models, extra="candidates = 3\n")
        yield factory, endpoint
        assert endpoint.unexpected == 0, "requests beyond the queued answers"


def requests_for(endpoint: Endpoint, model: str) -> list[dict[str, Any]]:
    return [r for r in endpoint.requests if r["model"] == model]


def test_junk_then_failing_check_then_pass_commits_the_third(
    three: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = three
    factory.configure(early_stop=False)
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-c1", JUNK, JUNK, JUNK)  # the first answer and its two re-asks
    endpoint.answer("m-c2", executor(INVOICE_PY, BROKEN))
    endpoint.answer("m-c3", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)

    code, _, err = factory.main("regen")

    assert code == 0, err
    assert INVOICE_CODE in factory.git("show", f"HEAD:{INVOICE_PY}")
    module = record_of(factory)["modules"][0]
    assert module["status"] == "passed" and module["winner"] == 3
    history = {h["candidate"]: h for h in module["history"]}
    assert history[1]["stage"] == "no-answer"
    assert history[1]["reason"].startswith("no valid answer: executor call")
    assert history[2]["stage"] == "checks-failed" and "checks failed" in history[2]["reason"]
    assert history[3]["passed"] and history[3]["model"] == "m-c3"
    review = (run_folder(factory) / "review.md").read_text()
    assert "candidate 3 ranked first: the only one that passed (its files were kept)." in review
    rows = [line for line in review.splitlines() if line.startswith("| 1 | ")]
    assert len(rows) == 3
    assert "`m-c1`" in rows[0] and "no valid answer" in rows[0]
    assert "`m-c2`" in rows[1] and "| failed |" in rows[1] and "checks failed" in rows[1]
    assert "`m-c3`" in rows[2] and "(winner)" in rows[2] and "2/2 passed" in rows[2]

    firsts = [requests_for(endpoint, f"m-c{i}")[0] for i in (1, 2, 3)]
    prompts = [prompt_of(r) for r in firsts]
    assert len(set(prompts)) == 3
    for i, prompt in enumerate(prompts, start=1):
        assert f"## Your approach (candidate {i} of 3)" in prompt
    assert [r["seed"] for r in firsts] == [1, 2, 3]
    approaches = [h["approach"] for h in module["history"]]
    assert len(set(approaches)) == 3 and all(approaches)
    calls = record_of(factory)["calls"]
    assert {c["candidate"] for c in calls if c["role"] == "planner"} == {None}
    assert {c["candidate"] for c in calls if c["role"] == "executor"} == {1, 2, 3}
    assert {c["candidate"] for c in calls if c["role"] == "verifier"} == {3}
    assert factory.worktrees() == []


def test_a_candidate_whose_endpoint_fails_does_not_lose_the_module(
    three: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = three
    factory.configure(early_stop=False, candidates=2)
    endpoint.answers["m-c1"] = deque([Reply(status=500)] * 5)
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-c2", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)

    code, _, err = factory.main("regen")

    assert code == 0, err
    history = record_of(factory)["modules"][0]["history"]
    assert history[0]["reason"].startswith("model error: executor call for billing.invoice")
    assert "HTTP 500" in history[0]["reason"] and history[1]["passed"]
    endpoint.answers["m-c1"].clear()  # the retries left over are not requests too many


def test_the_module_fails_only_when_no_candidate_passes(
    three: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = three
    factory.configure(max_attempts=1)
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-c1", JUNK, JUNK, JUNK)
    endpoint.answer("m-c2", executor(INVOICE_PY, BROKEN))
    endpoint.answer("m-c3", executor("../outside.py", INVOICE_CODE))

    code, _, err = factory.main("regen")

    assert code == 1
    module = record_of(factory)["modules"][0]
    assert module["status"] == "failed" and module["winner"] == 2
    assert [h["stage"] for h in module["history"]] == ["no-answer", "checks-failed", "refused"]
    assert "checks failed" in err
    assert factory.worktrees() == []


def test_early_stop_cancels_the_other_candidates(three: tuple[Factory, Endpoint]) -> None:
    factory, endpoint = three
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-c1", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-c2", executor(INVOICE_PY, INVOICE_CODE), delay=20)
    endpoint.answer("m-c3", executor(INVOICE_PY, INVOICE_CODE), delay=20)
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)
    started = time.monotonic()

    code, _, err = factory.main("regen")

    assert code == 0, err
    assert time.monotonic() - started < 15  # the two 20 s answers were not waited for
    history = record_of(factory)["modules"][0]["history"]
    assert [h["passed"] for h in history] == [True, False, False]
    assert [h["stopped"] for h in history] == [False, True, True]
    assert history[1]["reason"] == "stopped early: another candidate of this attempt passed"
    verifier_requests = [r for r in endpoint.requests if r["model"].startswith("m-rev")]
    assert len(verifier_requests) == 2  # only the winner was reviewed
    assert factory.worktrees() == []
    # The two executor requests on the wire were paid for: they are on the record, with
    # what was reserved for them (no answer came before the run ended), and in its total.
    record = record_of(factory)
    calls = record["calls"]
    assert len(calls) == sum(c["requests"] for c in calls) == len(endpoint.requests) == 6
    abandoned = [c for c in calls if c["outcome"] == "abandoned"]
    assert sorted(c["candidate"] for c in abandoned) == [2, 3]
    assert all(c["estimated"] and c["completion_tokens"] == 16_384 for c in abandoned)
    total = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
    listing = factory.main("runs")[1]
    assert f"  6 calls {total:>9,} tokens" in listing
    shown = factory.main("runs", record["run_id"])[1]
    assert shown.count("abandoned (tokens and cost as reserved") == 2


def test_candidate_temperatures_cycle_across_the_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-engine-test-secret")
    with serve() as endpoint:
        models = SERVED.format(url=endpoint.url).replace("timeout = 0.5", "timeout = 30")
        models += 'candidate_models = ["m-c1", "m-c2", "m-c3"]\n'
        models += "candidate_temperatures = [0.2, 0.9]\n"
        factory = make_factory(tmp_path, models, extra="candidates = 3\n")
        factory.configure(max_attempts=1, early_stop=False)
        endpoint.answer("m-planner", plan(INVOICE_PY))
        for model in ("m-c1", "m-c2", "m-c3"):
            endpoint.answer(model, executor(INVOICE_PY, BROKEN))  # no verifier call
        code, _, _ = factory.main("regen")
        assert endpoint.unexpected == 0
    assert code == 1  # every candidate's checks failed: not what this test is about
    sent = {r["model"]: (r["temperature"], r["seed"]) for r in endpoint.requests[1:]}
    assert sent == {"m-c1": (0.2, 1), "m-c2": (0.9, 2), "m-c3": (0.2, 3)}
    history = record_of(factory)["modules"][0]["history"]
    assert [(h["model"], h["temperature"]) for h in history] == [
        ("m-c1", 0.2), ("m-c2", 0.9), ("m-c3", 0.2),
    ]  # fmt: skip


def test_feedback_comes_from_the_best_candidate_plus_the_others_findings(
    three: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = three
    factory.configure(early_stop=False, candidates=2)
    endpoint.answer("m-planner", plan(INVOICE_PY))
    outside = {"files": [{"path": "setup.py", "content": "x = 1\n"}], "notes": ""}
    endpoint.answer("m-c1", outside, executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-c2", executor(INVOICE_PY, NO_CHECK), executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", fail(line=5), PASS, PASS)
    endpoint.answer("m-rev-b", fail(line=5), PASS, PASS)

    code, _, err = factory.main("regen")

    assert code == 0, err
    module = record_of(factory)["modules"][0]
    first = [h for h in module["history"] if h["attempt"] == 1]
    assert [h["stage"] for h in first] == ["refused", "checks-passed"]
    for model, heading in (
        ("m-c1", "Attempt 1 was rejected\n\nNo candidate passed. Below is the best-ranked one"
         " (candidate 2)"),
        ("m-c2", "Your attempt 1 was rejected"),
    ):  # fmt: skip
        second = prompt_of(requests_for(endpoint, model)[1])
        assert heading in second
        assert "negatives accepted" in second  # candidate 2's verifier finding
        assert "    return sum(items)" in second  # candidate 2's code, numbered
        assert "x = 1" not in second  # not candidate 1's
        # candidate 1's own finding, which candidate 2 did not get, goes along too
        assert "Other candidates of that attempt were told this too" in second
        assert "setup.py" in second.split("Other candidates of that attempt")[1]


def test_two_candidates_on_one_model_get_different_prompts(factory: Factory) -> None:
    factory.configure(candidates=2, max_attempts=1, early_stop=False)
    proposed = {**plan(INVOICE_PY), "approaches": ["iterative", "table-driven"]}
    factory.answers(
        planner=[proposed],
        executor=[executor(INVOICE_PY, INVOICE_CODE), executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS, PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    calls = sorted((run_folder(factory) / "calls").glob("*executor*"))
    prompts = {path.name.rsplit("-", 1)[1]: path.read_text() for path in calls}
    assert sorted(prompts) == ["c1.md", "c2.md"]
    assert prompts["c1.md"] != prompts["c2.md"]
    assert "open: iterative" in prompts["c1.md"] and "open: table-driven" in prompts["c2.md"]
    assert "(attempt 1, candidate 2)" in prompts["c2.md"]
    history = record_of(factory)["modules"][0]["history"]
    assert {(h["candidate"], h["approach"], h["seed"]) for h in history} == {
        (1, "iterative", 1),
        (2, "table-driven", 2),
    }


def test_passing_candidates_with_different_apis_leave_a_spec_gap(
    three: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = three
    factory.configure(early_stop=False, candidates=2)
    other = INVOICE_CODE.replace("def total(items):", "def total(items, start=0):")
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-c1", executor(INVOICE_PY, other))
    endpoint.answer("m-c2", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", PASS, PASS)
    endpoint.answer("m-rev-b", PASS, PASS)

    code, _, err = factory.main("regen")

    assert code == 0, err
    module = record_of(factory)["modules"][0]
    assert module["winner"] == 2  # the smaller change against the adopted version
    assert "fewer changed line(s) against the previous version" in module["choice"]
    (gap,) = [f for f in module["findings"] if f["kind"] == "spec-gap"]
    assert gap["requirement"] == "R1" and gap["spec_line"] == 7
    assert "`total(items)`" in gap["message"] and "`total(items, start=0)`" in gap["message"]
    review = (run_folder(factory) / "review.md").read_text()
    assert "minor spec-gap **R1**" in review


def test_executor_notes_are_shown_and_reach_the_verifiers_as_claims(factory: Factory) -> None:
    said = {**executor(INVOICE_PY, INVOICE_CODE), "notes": "R2 is fully handled."}
    factory.answers(planner=[plan(INVOICE_PY)], executor=[said], verifier=[PASS, PASS])
    code, _, err = factory.main("regen")
    assert code == 0, err
    for path in (run_folder(factory) / "calls").glob("*verifier*"):
        prompt = path.read_text()
        claims = prompt.split("## What the executor says about its code", 1)[1]
        assert claims.lstrip().startswith("Claims to check against the code, not facts")
        assert "R2 is fully handled." in claims
    review = (run_folder(factory) / "review.md").read_text()
    assert (
        "**The executor's notes** (its own claims, not verified):\n> R2 is fully handled." in review
    )
    assert record_of(factory)["modules"][0]["notes"] == "R2 is fully handled."


class RefusingCandidates:
    """The scripted backend, whose budget refuses the executor calls of some candidates."""

    def __init__(self, inner: Any, refused: set[int]) -> None:
        self.inner, self.budget, self.refused = inner, inner.budget, refused

    def complete(self, request: Any) -> Any:
        if request.role == "executor" and request.candidate in self.refused:
            raise BudgetExceeded(f"budget exhausted: {request.label}; the call was not made")
        return self.inner.complete(request)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("refused", [{2}, {1, 2}], ids=["one", "both"])
def test_the_budget_stops_a_candidate_not_the_module(
    factory: Factory, monkeypatch: pytest.MonkeyPatch, refused: set[int]
) -> None:
    factory.configure(candidates=2)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS],
    )
    scripted = backends.BACKENDS["scripted"]
    monkeypatch.setitem(
        backends.BACKENDS, "scripted", lambda *args: RefusingCandidates(scripted(*args), refused)
    )
    code, _, err = factory.main("regen")
    module = record_of(factory)["modules"][0]
    reasons = {h["candidate"]: h["reason"] for h in module["history"]}
    assert reasons[2].startswith("budget exhausted: executor call for billing.invoice (gpt-4.1")
    if refused == {2}:
        assert code == 0, err
        assert module["status"] == "passed" and module["winner"] == 1
    else:
        assert code == 1
        assert module["status"] == "budget-exceeded" and module["attempts"] == 1
        assert "billing.invoice: budget-exceeded: budget exhausted: executor call" in err
        assert "(candidate 1; candidate 2: budget exhausted: executor call" in err
    assert factory.worktrees() == []
