"""Each server's real refusals, served on 127.0.0.1 and read through the real openai SDK.

docs/servers.md has the compatibility table these encode.
"""

from __future__ import annotations

import random
import threading

import pytest

from specmill.llm import InvalidAnswerError, ModelError
from specmill.llm.errors import ContextWindowExceeded
from specmill.llm.refusals import classify_refusal
from specmill.llm.structured import LADDER, weaker
from tests.llm.server_refusals import (
    CONTEXT_OVERFLOWS,
    FORMAT_REFUSALS,
    OLLAMA_MODEL_NOT_FOUND,
    Overflow,
    Refusal,
)


def _ids(items: list[Refusal] | list[Overflow]) -> list[str]:
    return [item.server for item in items]


@pytest.mark.parametrize("refusal", FORMAT_REFUSALS, ids=_ids(FORMAT_REFUSALS))
def test_a_format_refusal_moves_one_rung_down_without_a_retry(
    fake_openai, openai_backend, chat_request, report, refusal
):
    start = refusal.refused_mode
    fake_openai.error(refusal.status, body=refusal.body)
    fake_openai.answer(report)
    backend = openai_backend(max_retries=4)
    if start != "json_schema":  # the server took the stronger modes, refused this one
        backend.negotiated.settle_mode((fake_openai.url, "test-model"), start)

    response = backend.complete(chat_request())

    assert len(fake_openai.requests) == 2  # the refusal was not retried
    assert response.record.structured_output == weaker(start)  # type: ignore[arg-type]
    assert response.record.outcome == "ok"
    second = fake_openai.requests[1].body.get("response_format")
    if weaker(start) == "json_object_schema":  # type: ignore[arg-type]
        assert second["type"] == "json_object" and "verdict" in second["schema"]["properties"]


@pytest.mark.parametrize("refusal", FORMAT_REFUSALS, ids=_ids(FORMAT_REFUSALS))
def test_a_format_refusal_with_a_fixed_mode_ends_at_once_saying_what_to_change(
    fake_openai, openai_backend, chat_request, refusal
):
    fake_openai.error(refusal.status, body=refusal.body)

    with pytest.raises(ModelError) as caught:
        openai_backend(structured_output=refusal.refused_mode).complete(chat_request())

    assert len(fake_openai.requests) == 1
    message = str(caught.value)
    assert f"refused response_format {refusal.refused_mode}" in message
    assert 'structured_output = "auto"' in message
    assert "try again later" not in message  # a 500 here is no passing failure


@pytest.mark.parametrize("overflow", CONTEXT_OVERFLOWS, ids=_ids(CONTEXT_OVERFLOWS))
def test_a_prompt_over_the_context_window_is_never_retried_and_says_what_to_do(
    fake_openai, openai_backend, chat_request, overflow
):
    fake_openai.error(overflow.status, body=overflow.body)

    with pytest.raises(ContextWindowExceeded) as caught:
        openai_backend(max_retries=4).complete(chat_request())

    assert len(fake_openai.requests) == 1  # neither retried nor renegotiated
    message = str(caught.value)
    assert "test-model" in message and "billing.invoice" in message
    assert f"context window of {overflow.window:,} tokens" in message
    if overflow.prompt_tokens is not None:
        assert f"{overflow.prompt_tokens:,} tokens as the server counted it" in message
    assert "larger context window" in message and "--n_ctx" in message
    assert caught.value.record is not None and caught.value.record.outcome == "error"


def test_ollama_takes_json_schema_and_its_404_is_not_a_format_refusal(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.answer(report)
    backend = openai_backend()
    assert backend.complete(chat_request()).record.structured_output == "json_schema"

    fake_openai.error(404, body=OLLAMA_MODEL_NOT_FOUND)
    with pytest.raises(ModelError) as caught:
        backend.complete(chat_request(model="qwen2.5-coder"))

    assert len(fake_openai.requests) == 2
    assert "try pulling it first" in str(caught.value)
    assert "Check the model name" in str(caught.value)


def test_a_genuine_500_is_still_retried(fake_openai, openai_backend, chat_request, report):
    fake_openai.error(500, body={"error": {"message": "CUDA out of memory", "type": "server"}})
    fake_openai.error(503, body={"error": {"message": "Loading model", "type": "unavailable"}})
    fake_openai.answer(report)

    response = openai_backend().complete(chat_request())

    assert len(fake_openai.requests) == 3
    assert response.record.structured_output == "json_schema"


def test_the_negotiated_mode_is_kept_per_endpoint_and_model_for_the_run(
    fake_openai, openai_backend, chat_request, report
):
    llama = FORMAT_REFUSALS[2]
    assert llama.server == "llama-cpp-python"
    fake_openai.error(llama.status, body=llama.body)
    for _ in range(3):
        fake_openai.answer(report)
    backend = openai_backend()

    first = backend.complete(chat_request())
    second = backend.complete(chat_request(module="billing.money"))
    other = backend.complete(chat_request(model="other-model"))

    assert [first.record.structured_output, second.record.structured_output] == [
        "json_object_schema",
        "json_object_schema",
    ]
    assert other.record.structured_output == "json_schema"  # another model starts at the top
    assert len(fake_openai.requests) == 4


def test_concurrent_refusals_never_move_a_model_back_up(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.always(status=422, body={"error": {"message": "response_format: nope"}})
    backend = openai_backend()
    failures: list[BaseException] = []

    def call() -> None:
        try:
            backend.complete(chat_request())
        except ModelError as error:
            failures.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(failures) == 4  # every rung refused, then plain prompting too
    assert backend.mode_for(fake_openai.url, "test-model") == "none"
    # each thread ended on plain prompting (requests in flight may interleave)
    assert sum("response_format" not in seen.body for seen in fake_openai.requests) >= 4


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": {"message": "Incorrect API key; see response_format docs"}}),
        (429, {"error": {"message": "Rate limit for json_schema requests"}}),
        (500, {"error": {"message": "upstream connect error"}}),
        (502, "<html>Bad Gateway</html>"),
    ],
)
def test_what_is_not_a_refusal(status: int, body: object) -> None:
    assert classify_refusal(status, "", body) is None


def test_the_ladder_ends_in_plain_prompting() -> None:
    assert LADDER == ("json_schema", "json_object_schema", "json_object", "none")
    assert weaker("none") is None


def test_an_overflow_without_numbers_names_specmills_estimate(
    fake_openai, openai_backend, chat_request
):
    fake_openai.error(400, "litellm.ContextWindowExceededError: input too long for model")
    prompt = [{"role": "user", "content": "x" * 4000}]  # ~1,000 tokens

    with pytest.raises(ContextWindowExceeded) as caught:
        openai_backend().complete(chat_request(messages=prompt))

    message = str(caught.value)
    assert "about 1,0" in message and "by specmill's estimate" in message
    assert "its context window;" in message


def test_a_reask_over_the_context_window_ends_as_an_invalid_answer(
    fake_openai, openai_backend, chat_request
):
    """A small local model rambles to its output limit; the re-ask cannot fit."""
    llama = next(o for o in CONTEXT_OVERFLOWS if o.server == "llama-cpp-python")
    words = [
        "the",
        "line",
        "total",
        "rounds",
        "half",
        "even",
        "so",
        "cents",
        "stay",
        "exact",
        "but",
        "a",
        "quantity",
        "may",
    ]
    pick = random.Random(7).choice
    ramble = " ".join(pick(words) for _ in range(2500))  # words at random: no loop
    fake_openai.answer('{"verdict": "fail", "summary": "' + ramble, finish_reason="length")
    fake_openai.error(llama.status, body=llama.body)

    with pytest.raises(InvalidAnswerError) as caught:
        openai_backend().complete(chat_request())

    assert len(fake_openai.requests) == 2
    message = str(caught.value)
    assert "after 1 answer(s) (0 re-ask(s))" in message
    assert "cut off at the server's own output limit (specmill sent none)" in message
    assert "a re-ask would not fit the model's context window" in message
    assert caught.value.record is not None and caught.value.record.outcome == "invalid"
    echoed = fake_openai.requests[1].body["messages"][-2]
    assert echoed["role"] == "assistant"
    assert len(echoed["content"]) < 4100 and echoed["content"].endswith("[… cut off here]")
