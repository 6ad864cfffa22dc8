"""The server's context window, learned where it says it, fits the output limit."""

from __future__ import annotations

import json

import openai
import pytest

from specmill.llm.context_window import SAFETY_TOKENS, ContextWindows
from specmill.llm.conversation import prompt_chars
from tests.llm.server_refusals import (
    LLAMA_SERVER_MODEL,
    LLAMA_SERVER_PROPS,
    VLLM_MODEL,
    VLLM_OUTPUT_OVERFLOW,
)

LIMIT = 8192  # the role's models.max_output_tokens


def _estimate(body: dict) -> int:
    """specmill's typical estimate of a prompt: four characters a token."""
    return -(-prompt_chars(body["messages"]) // 4)


def test_llama_server_props_lower_the_limit_and_name_the_window_that_cut(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.props = LLAMA_SERVER_PROPS  # n_ctx 8192, one slot's window
    window = LLAMA_SERVER_PROPS["default_generation_settings"]["n_ctx"]
    fake_openai.answer(
        '{"verdict": "fail", "summary": "' + " ".join(f"w{n}" for n in range(900)),
        finish_reason="length",
        usage=lambda body: (window - body["max_tokens"], body["max_tokens"]),
    )
    fake_openai.answer(report)
    backend = openai_backend()

    response = backend.complete(chat_request(max_output_tokens=LIMIT))

    sent = fake_openai.requests[0].body
    assert sent["max_tokens"] == window - _estimate(sent) - SAFETY_TOKENS
    reask = fake_openai.requests[1].body["messages"][-1]["content"]
    assert (
        f"cut off at the server's context window ({window:,} tokens for prompt and answer" in reask
    )
    assert "not at specmill's output limit" in reask
    assert response.reasks == 1
    assert fake_openai.gets.count("/props") == 1  # asked once, for both exchanges


@pytest.mark.parametrize(
    ("entry", "window"),
    [(LLAMA_SERVER_MODEL, 8192), (VLLM_MODEL, 8192)],
    ids=["llama-server-meta", "vllm-max-model-len"],
)
def test_the_model_list_says_the_window(
    fake_openai, openai_backend, chat_request, report, entry, window
):
    fake_openai.listing = [{"id": "test-model", "object": "model", "owned_by": "x", **entry}]
    fake_openai.answer(report)

    openai_backend().complete(chat_request(max_output_tokens=16384))

    sent = fake_openai.requests[0].body
    assert sent["max_tokens"] == window - _estimate(sent) - SAFETY_TOKENS


def test_the_training_length_is_not_taken_for_the_window(
    fake_openai, openai_backend, chat_request, report
):
    meta = {k: v for k, v in LLAMA_SERVER_MODEL["meta"].items() if k != "n_ctx"}  # older builds
    fake_openai.listing = [{"id": "test-model", "meta": meta}]
    fake_openai.answer(report)

    openai_backend().complete(chat_request(max_output_tokens=40_000))

    assert fake_openai.requests[0].body["max_tokens"] == 40_000  # not lowered to 32,768


def test_vllm_refusing_prompt_plus_limit_is_asked_again_with_the_room_left(
    fake_openai, openai_backend, chat_request, report
):
    overflow = VLLM_OUTPUT_OVERFLOW  # window 4096, the prompt 1000 tokens
    fake_openai.error(overflow.status, body=overflow.body)
    fake_openai.answer(report)
    fake_openai.answer(report)
    backend = openai_backend()

    backend.complete(chat_request(max_output_tokens=LIMIT))
    backend.complete(chat_request(max_output_tokens=LIMIT))

    limits = [seen.body["max_tokens"] for seen in fake_openai.requests]
    room = overflow.window - overflow.prompt_tokens - SAFETY_TOKENS
    assert limits[:2] == [LIMIT, room]  # the server's own count of the prompt
    assert limits[2] < overflow.window  # learned: the next call fits from the start


@pytest.mark.parametrize(
    ("completion", "said"),
    [
        (LIMIT, "cut off at the output token limit (models.max_output_tokens.verifier = 8,192)"),
        (3000, "cut off at a limit of the server's own, most likely its context window (3,100"),
    ],
    ids=["ours", "the-servers"],
)
def test_an_answer_cut_off_names_the_limit_that_cut_it(
    fake_openai, openai_backend, chat_request, report, completion, said
):
    fake_openai.answer(
        '{"verdict": "pass", "summary": "' + " ".join(f"w{n}" for n in range(900)),
        finish_reason="length",
        usage=(100, completion),
    )
    fake_openai.answer(report)

    openai_backend().complete(chat_request(max_output_tokens=LIMIT))

    assert said in fake_openai.requests[1].body["messages"][-1]["content"]


def test_openai_hosts_are_not_probed(fake_openai):
    client = openai.OpenAI(api_key="x", base_url=fake_openai.url, max_retries=0)
    windows = ContextWindows()

    assert windows.window(client, "https://api.openai.com/v1", "gpt-4.1") is None
    assert windows.window(client, "https://r.openai.azure.com/openai/v1", "gpt-4.1") is None
    assert fake_openai.gets == []
    client.close()


def test_a_hostile_listing_is_ignored(fake_openai):
    fake_openai.listing = [
        {"id": "m", "max_model_len": "8192"},
        {"id": "n", "max_model_len": True, "meta": {"n_ctx": -1}},
        {"id": 3, "max_model_len": 10},
        "not an object",
    ]
    fake_openai.props = {"default_generation_settings": {"n_ctx": json.loads("1e9")}}
    client = openai.OpenAI(api_key="x", base_url=fake_openai.url, max_retries=0)

    for model in ("m", "n", "3"):
        assert ContextWindows().window(client, fake_openai.url, model) is None
    client.close()
