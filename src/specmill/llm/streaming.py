"""One request to a chat endpoint and its answer, streamed where the endpoint streams.

How servers stream (docs/servers.md has the table): ``stream=True`` turns the answer
into server-sent events, one ``chat.completion.chunk`` per token or few, the text in
``choices[0].delta.content``, the last one with a ``finish_reason`` ("length": cut at
a limit). With ``stream_options={"include_usage": True}`` (OpenAI, vLLM, llama.cpp's
``llama-server``, Ollama) one more chunk carries the ``usage`` and no choices.
llama-cpp-python ignores ``stream_options``: its tokens are counted here, one a chunk.

Per endpoint and model the mode settles like the structured-output mode:
``usage`` (stream, with usage), ``plain`` (the endpoint refused ``stream_options``),
``off`` (it refused streaming, or ignored it and sent one JSON answer: read as one).

While reading, the answer is watched for a loop (``specmill.llm.repetition``): the
response is then closed, which stops the server generating, and the answer comes back
``stopped`` with the reason, to be re-asked like any invalid answer. So is an answer
whose stream broke after some text, or ended without saying it was done. A stream
that sends nothing within the timeout raises the SDK's timeout, which is retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion

from specmill.llm.conversation import Answer, excerpt
from specmill.llm.events import ProgressReporter
from specmill.llm.repetition import Loop, RepetitionWatch

StreamMode = Literal["usage", "plain", "off"]
STREAM_MODES: tuple[StreamMode, ...] = ("usage", "plain", "off")  # strongest first
SERVER_WORDS_CHARS = 200
CUT_MIDWAY = "the answer was cut off in the middle: {why}"
LOOP_CUT = "\n[… and the same again and again: stopped here]"


def send(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    mode: StreamMode,
    reporter: ProgressReporter,
    scrub: Callable[[str], str] = str,
) -> tuple[Answer, bool]:
    """The answer, and whether the endpoint ignored a request to stream.

    ``scrub`` cleans what a server says before it goes into a reason (a key it echoes).
    """
    create: Any = client.chat.completions.create  # plain dicts, as the API takes them
    if mode == "off":
        return whole_answer(create(model=model, messages=messages, **params)), False
    extra: dict[str, Any] = {"stream": True}
    if mode == "usage":
        extra["stream_options"] = {"include_usage": True}
    stream = create(model=model, messages=messages, **params, **extra)
    if "json" in stream.response.headers.get("content-type", ""):  # no events: one answer
        body = json.loads(stream.response.read())
        stream.close()
        return whole_answer(ChatCompletion.model_validate(body)), True
    return read_stream(stream, reporter, scrub), False


def read_stream(
    stream: Any, reporter: ProgressReporter, scrub: Callable[[str], str] = str
) -> Answer:
    """The answer in a stream of chunks; see the module doc for when it stops early."""
    pieces: list[str] = []
    watch = RepetitionWatch()
    finish: str | None = None
    usage: Any = None
    stopped: str | None = None
    loop: Loop | None = None
    try:
        for chunk in stream:
            usage = getattr(chunk, "usage", None) or usage
            for choice in getattr(chunk, "choices", None) or ():
                if choice.index:  # only the first choice is asked for
                    continue
                piece = choice.delta.content if choice.delta is not None else None
                if piece:
                    pieces.append(piece)
                    reporter.token()
                    loop = watch.feed(piece)
                    if loop is not None:
                        stopped = loop.describe()
                elif _reasoning(choice.delta):  # a thinking model's tokens: not the answer
                    reporter.token()
                finish = choice.finish_reason or finish
            if stopped:
                break
    except openai.APITimeoutError:
        raise  # nothing for models.timeout: retried
    except openai.APIConnectionError:
        if not pieces:
            raise  # nothing came: a connection problem, retried
        stopped = CUT_MIDWAY.format(why="the connection closed before it was finished")
    except openai.APIError as error:  # an error event inside the stream (llama-server's)
        said = excerpt(scrub(error.message), SERVER_WORDS_CHARS)
        stopped = CUT_MIDWAY.format(why=f"the server ended it with an error ({said})")
    finally:
        stream.close()  # a loop stopped here: the server stops generating
    if stopped is None and finish is None:
        stopped = CUT_MIDWAY.format(why="the stream ended before the server said it was done")
    if usage is not None and usage.completion_tokens is not None:
        reporter.usage(usage.completion_tokens)
    first = reporter.first_token_s
    text = "".join(pieces)
    if loop is not None:  # shown back once, not over and over: a re-ask must not prime it
        text = text[: loop.start + loop.period] + LOOP_CUT
    return Answer(
        text=text,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=reporter.tokens,
        truncated=stopped is None and finish == "length",
        stopped=stopped,
        streamed=True,
        first_token_s=first,
        generating_s=None if first is None else reporter.elapsed() - first,
    )


def _reasoning(delta: Any) -> bool:
    extra = getattr(delta, "model_extra", None) or {}
    return bool(extra.get("reasoning_content") or extra.get("reasoning"))


def whole_answer(completion: Any) -> Answer:
    """The text and usage of a chat completion, tolerant of sparse local servers."""
    choices = getattr(completion, "choices", None) or []
    message = choices[0].message if choices else None
    text = (message.content if message else None) or ""
    refusal = getattr(message, "refusal", None)
    if not text and refusal:
        text = f"(the model refused: {refusal})"
    usage = getattr(completion, "usage", None)
    return Answer(
        text=text,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        truncated=bool(choices) and choices[0].finish_reason == "length",
        streamed=False,
    )


def weaker_stream(mode: StreamMode, refused: Literal["stream_options", "stream"]) -> StreamMode:
    """The mode after a refusal: without ``stream_options``, or without streaming."""
    return "plain" if refused == "stream_options" and mode == "usage" else "off"
