"""Streamed answers through the real openai SDK, from a server that streams as llama.cpp's."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from specmill.llm import InvalidAnswerError, ModelError
from specmill.llm.events import CallProgress
from tests.llm.server_refusals import STREAM_REFUSALS
from tests.llm.sse import Stream, forever

LOOP = '{"description": "Implement R1", "requirements": ["R1"]}, '


class Recorder:
    def __init__(self) -> None:
        self.seen: list[CallProgress] = []

    def call_progress(self, progress: CallProgress) -> None:
        self.seen.append(progress)


def test_an_answer_is_streamed_with_usage_and_timed(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.answer(report, usage=(1000, 57), stream=Stream(delay=0.002))
    listener = Recorder()

    response = openai_backend().complete(chat_request(listener=listener))

    body = fake_openai.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    record = response.record
    assert (record.prompt_tokens, record.completion_tokens) == (1000, 57)  # the server's
    assert record.streamed is True
    assert record.first_token_s is not None and 0 <= record.first_token_s < record.latency_s
    assert record.tokens_per_s is not None and record.tokens_per_s > 0
    states = [p.state for p in listener.seen]
    assert states[0] == "waiting" and states[-1] == "done" and "streaming" in states
    assert len({p.call for p in listener.seen}) == 1
    tokens = [p.tokens for p in listener.seen]
    assert tokens[:-1] == sorted(tokens[:-1])  # counted as they come …
    assert tokens[-1] == 57  # … and the server's own count at the end
    assert listener.seen[-1].first_token_s is not None


def test_tokens_are_counted_where_the_server_sends_no_usage(
    fake_openai, openai_backend, chat_request, report
):
    """llama-cpp-python ignores stream_options: one token a chunk, the prompt estimated."""
    text = json.dumps(report)
    fake_openai.answer(text, stream=Stream(usage=False))
    backend = openai_backend()

    record = backend.complete(chat_request()).record

    assert record.completion_tokens == len(range(0, len(text), 4))  # the chunks sent
    assert record.prompt_tokens > 0  # specmill's estimate
    assert backend.stream_mode_for(fake_openai.url, "test-model") == "plain"  # not sent again


def test_a_server_that_ignores_stream_works_as_before(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.answer(report, stream=None)  # one JSON answer, whatever was asked
    fake_openai.answer(report, stream=None)
    backend = openai_backend()

    first = backend.complete(chat_request()).record
    second = backend.complete(chat_request()).record

    assert first.outcome == second.outcome == "ok"
    assert first.streamed is False and first.first_token_s is None
    assert fake_openai.requests[0].body["stream"] is True
    assert "stream" not in fake_openai.requests[1].body  # remembered for the endpoint
    assert backend.stream_mode_for(fake_openai.url, chat_request().model) == "off"


@pytest.mark.parametrize("refusal", STREAM_REFUSALS, ids=lambda r: r.server)
def test_a_refused_streaming_parameter_is_dropped_and_remembered(
    fake_openai, openai_backend, chat_request, report, refusal
):
    fake_openai.error(refusal.status, body=refusal.body)
    fake_openai.answer(report)
    fake_openai.answer(report)
    backend = openai_backend()

    backend.complete(chat_request())
    backend.complete(chat_request())

    retried, later = fake_openai.requests[1].body, fake_openai.requests[2].body
    for body in (retried, later):
        assert "stream_options" not in body
        assert body.get("stream") is (True if refusal.refused == "stream_options" else None)
    assert len(fake_openai.requests) == 3  # refused once, never retried as it was


def test_an_answer_that_loops_is_stopped_while_it_streams_and_reasked(
    fake_openai, openai_backend, chat_request, report
):
    prefix = '{"verdict": "fail", "summary": "R2 is missing", "findings": ['
    fake_openai.answer(
        "", pieces=_then(prefix, forever(LOOP)), usage=None, stream=Stream(delay=0.001)
    )
    fake_openai.answer(report)

    started = time.monotonic()
    response = openai_backend().complete(chat_request())

    assert response.reasks == 1 and response.value.verdict == "fail"
    looped = fake_openai.streams[0]
    assert looped.closed_by_client or looped.tokens < 1000  # the client hung up on it
    assert looped.tokens < 500, looped  # ~1 KB into the loop, not the context's end
    assert time.monotonic() - started < 10
    reask = fake_openai.requests[1].body["messages"][-1]["content"]
    assert f"the answer repeated itself from line 1 (character {len(prefix) + 1})" in reask
    assert "Implement R1" in reask and "so it was stopped" in reask
    echoed = fake_openai.requests[1].body["messages"][-2]["content"]  # shown back once
    assert echoed.startswith(prefix) and echoed.count("Implement R1") == 1
    assert echoed.endswith("[… and the same again and again: stopped here]")


def test_a_loop_every_time_ends_as_an_invalid_answer_saying_so(
    fake_openai, openai_backend, chat_request
):
    for _ in range(3):  # the first answer and two re-asks
        fake_openai.answer("", pieces=forever(LOOP), usage=None)

    with pytest.raises(InvalidAnswerError) as caught:
        openai_backend().complete(chat_request())

    assert "the answer repeated itself from line 1" in str(caught.value)
    assert caught.value.record is not None and caught.value.record.outcome == "invalid"


@pytest.mark.parametrize(
    ("stream", "said"),
    [
        (Stream(cut_after=5), "the connection closed before it was finished"),
        (Stream(error_after=5), "the server ended it with an error (slot stopped)"),
        (Stream(end_without_finish=True), "the stream ended before the server said"),
    ],
    ids=["connection-dropped", "error-event", "no-finish"],
)
def test_a_stream_cut_in_the_middle_is_an_invalid_answer_reasked(
    fake_openai, openai_backend, chat_request, report, stream, said
):
    fake_openai.answer(report, stream=stream)
    fake_openai.answer(report)

    response = openai_backend().complete(chat_request())

    assert response.reasks == 1
    reask = fake_openai.requests[1].body["messages"][-1]["content"]
    assert f"the answer was cut off in the middle: {said}" in reask


def test_a_stream_that_sends_nothing_for_the_timeout_is_retried_and_says_so(
    fake_openai, openai_backend, chat_request, caplog
):
    for _ in range(2):
        fake_openai.answer("{}", stream=Stream(silent_for=3.0))

    with pytest.raises(ModelError) as caught:
        openai_backend(timeout=0.5, max_retries=1).complete(chat_request())

    assert len(fake_openai.requests) == 2  # retried under the retry rules
    assert "no answer within models.timeout = 0.5 s (2 attempts)" in str(caught.value)
    assert "nothing came within models.timeout = 0.5 s; retrying in" in caplog.text


def test_streaming_can_be_turned_off(fake_openai, openai_backend, chat_request, report):
    fake_openai.answer(report)

    record = openai_backend(stream=False).complete(chat_request()).record

    assert "stream" not in fake_openai.requests[0].body and record.streamed is False


def _then(first: str, rest: Any) -> Any:
    yield first
    yield from rest
