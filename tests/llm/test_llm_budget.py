"""The run budget: cost from the price table, refusal before a call, thread safety."""

from __future__ import annotations

import threading

import pytest

from specmill.core.config import BudgetConfig, Price
from specmill.llm.budget import Budget
from specmill.llm.errors import BudgetExceeded

PRICES = {"gpt-4.1": Price(input=2.0, output=8.0)}


def test_cost_comes_from_the_price_table() -> None:
    budget = Budget(prices=PRICES)
    reservation = budget.reserve(model="gpt-4.1", prompt_chars=400, what="planner call")
    assert reservation.settle(1_000_000, 500_000) == pytest.approx(2.0 + 4.0)
    assert budget.tokens == 1_500_000
    assert budget.cost_usd == pytest.approx(6.0)
    assert budget.unpriced == frozenset()


def test_an_unknown_model_costs_nothing_and_is_flagged() -> None:
    budget = Budget(prices=PRICES)
    budget.reserve(model="llama3", prompt_chars=40, what="call").settle(100, 100)
    assert budget.cost_usd == 0.0
    assert budget.tokens == 200
    assert budget.unpriced == {"llama3"}


def test_a_call_over_the_token_budget_is_refused_and_not_counted() -> None:
    budget = Budget(BudgetConfig(max_tokens=1000))
    budget.reserve(model="m", prompt_chars=40, what="call").settle(900, 50)
    with pytest.raises(BudgetExceeded) as caught:
        budget.reserve(model="m", prompt_chars=400, what="executor call for billing.invoice")
    message = str(caught.value)
    assert "executor call for billing.invoice" in message
    assert "max_tokens = 1,000" in message and "950 used" in message
    assert budget.tokens == 950


def test_a_call_over_the_dollar_budget_is_refused() -> None:
    budget = Budget(BudgetConfig(max_usd=1.0), PRICES)
    budget.reserve(model="gpt-4.1", prompt_chars=4, what="call").settle(0, 124_000)  # $0.992
    budget.reserve(model="gpt-4.1", prompt_chars=4_000, what="call").cancel()  # 1000 tokens: $0.002
    with pytest.raises(BudgetExceeded, match=r"max_usd = \$1.00"):
        budget.reserve(model="gpt-4.1", prompt_chars=40_000, what="call")  # $0.02


def test_calls_in_flight_hold_their_share() -> None:
    """Two threads must not both slip under the limit with one estimate each."""
    budget = Budget(BudgetConfig(max_tokens=300))
    first = budget.reserve(model="m", prompt_chars=800, what="call")  # 200 tokens
    with pytest.raises(BudgetExceeded):
        budget.reserve(model="m", prompt_chars=800, what="call")
    first.cancel()
    budget.reserve(model="m", prompt_chars=800, what="call")


def test_a_reservation_settles_once() -> None:
    reservation = Budget().reserve(model="m", prompt_chars=4, what="call")
    reservation.settle(1, 1)
    with pytest.raises(RuntimeError):
        reservation.settle(1, 1)


def test_counting_from_many_threads_loses_nothing() -> None:
    budget = Budget(BudgetConfig(max_tokens=10_000_000), PRICES)

    def work() -> None:
        for _ in range(200):
            budget.reserve(model="gpt-4.1", prompt_chars=40, what="call").settle(10, 5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert budget.tokens == 8 * 200 * 15
    assert budget.cost_usd == pytest.approx(8 * 200 * (10 * 2.0 + 5 * 8.0) / 1e6)
