"""Budgets through the real CLI: sized for N candidates, they run every candidate and
never pass their cap; too small, the module fails and the message starts with the
budget (README "How the budget holds")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import runs_dir
from tests.engine.conftest import (
    INVOICE_CODE,
    PASS,
    SERVED,
    Factory,
    executor,
    make_factory,
    plan,
)
from tests.engine.openai_server import Endpoint, counted, serve

INVOICE_PY = "src/billing/invoice.py"
BROKEN = "def total(items):\n    return sum(items\n"  # compileall fails on it


def latest_record(factory: Factory) -> dict[str, Any]:
    records = runs_dir(factory.root).glob("*/record.json")
    return json.loads(max(records, key=lambda p: p.parent.name).read_text())


def tokens(record: dict[str, Any]) -> int:
    return sum(c["prompt_tokens"] + c["completion_tokens"] for c in record["calls"])


def with_budget(factory: Factory, max_tokens: int | None) -> None:
    """specmill.toml with this [specmill.budget] (none: no limit)."""
    text = factory.read("specmill.toml").split("\n[specmill.budget]", 1)[0]
    if max_tokens is not None:
        text += f"\n[specmill.budget]\nmax_tokens = {max_tokens}\n"
    factory.write("specmill.toml", text)


def regen(factory: Factory, max_tokens: int | None) -> tuple[int, str, dict[str, Any]]:
    """``specmill regen --no-commit`` under this budget; the working tree is restored."""
    with_budget(factory, max_tokens)
    code, _, err = factory.main("regen", "--no-commit")
    factory.git("checkout", "--", "src")
    return code, err, latest_record(factory)


def test_a_budget_twice_the_need_runs_every_candidate_and_half_of_it_names_the_budget(
    factory: Factory,
) -> None:
    """Scripted models; one candidate gets code that passes, two get code that fails its
    checks, so the run's need does not depend on which candidate asked first."""
    factory.configure(candidates=3, max_attempts=1)

    def script() -> None:
        answers = [executor(INVOICE_PY, c) for c in (INVOICE_CODE, BROKEN, BROKEN)]
        factory.answers(planner=[plan(INVOICE_PY)], executor=answers, verifier=[PASS, PASS])

    script()
    code, err, record = regen(factory, None)
    assert code == 0, err
    need = tokens(record)
    assert [h["stage"] for h in record["modules"][0]["history"]].count("passed") == 1

    script()
    code, err, record = regen(factory, 2 * need)
    assert code == 0, err
    module = record["modules"][0]
    assert module["status"] == "passed"
    assert sorted(h["stage"] for h in module["history"]) == [
        "checks-failed", "checks-failed", "passed",
    ]  # fmt: skip
    assert sum(c["role"] == "executor" for c in record["calls"]) == 3  # all three ran
    assert tokens(record) <= 2 * need

    script()
    half = need // 2
    code, err, record = regen(factory, half)
    assert code == 1
    module = record["modules"][0]
    assert module["status"] == "budget-exceeded"
    assert module["error"].startswith("budget exhausted: ")
    assert "billing.invoice: budget-exceeded: budget exhausted: " in err
    assert "budget: budget" not in err and "budget: budget" not in json.dumps(record)
    assert f"over budget.max_tokens = {half:,}" in err
    assert tokens(record) <= half


@pytest.fixture
def three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Factory, Endpoint]]:
    """Three candidates on three executor models of a local server whose usage counts
    four characters a token (as a tokenizer would, below the budget's reservation)."""
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-engine-test-secret")
    with serve() as endpoint:
        endpoint.usage = counted
        models = SERVED.format(url=endpoint.url).replace("timeout = 0.5", "timeout = 30")
        models += 'candidate_models = ["m-c1", "m-c2", "m-c3"]\n'
        factory = make_factory(tmp_path, models, extra="candidates = 3\n")
        factory.configure(max_attempts=1, early_stop=False)
        yield factory, endpoint
        assert endpoint.unexpected == 0, "requests beyond the queued answers"


def queue_run(endpoint: Endpoint) -> None:
    """Answers that take a moment, so that the three candidates' calls are in flight
    together: the executors, then the six verifier calls."""
    endpoint.answer("m-planner", plan(INVOICE_PY))
    for model in ("m-c1", "m-c2", "m-c3"):
        endpoint.answer(model, executor(INVOICE_PY, INVOICE_CODE), delay=0.3)
    for model in ("m-rev-a", "m-rev-b"):
        endpoint.answer(model, PASS, PASS, PASS, delay=0.3)


def test_candidates_in_flight_together_share_a_budget_twice_their_need(
    three: tuple[Factory, Endpoint],
) -> None:
    """The real openai SDK, real threads: every call reserves its prompt plus its output
    limit (executor 16,384, verifier 8,192 by default), far more than the run needs;
    the calls take turns instead of the first one starving the others."""
    factory, endpoint = three
    queue_run(endpoint)
    code, err, record = regen(factory, None)
    assert code == 0, err
    need = tokens(record)

    queue_run(endpoint)
    first = len(endpoint.requests)
    code, err, record = regen(factory, 2 * need)
    assert code == 0, err
    history = record["modules"][0]["history"]
    assert [h["stage"] for h in history] == ["passed"] * 3, [h["reason"] for h in history]
    assert tokens(record) <= 2 * need
    assert max(r["max_tokens"] for r in endpoint.requests[first:]) <= 2 * need
