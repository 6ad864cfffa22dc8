"""What an OpenAI-compatible server's error means, whatever its status code. Pure.

Servers disagree on how they say no (docs/servers.md has the table, with sources):
llama-cpp-python answers an unknown ``response_format`` type with HTTP 500 and a
pydantic ``literal_error``, older llama.cpp ``llama-server`` builds with a 500 too, LM
Studio with a 400 whose ``error`` is a bare string, LiteLLM with a 400 whose ``code``
is the string ``"400"``. So the status alone decides nothing: the words do.

Two refusals matter to the caller, because retrying them cannot help:

- ``format``: the server cannot do the ``response_format`` it was sent; the caller
  moves down the structured-output ladder instead of retrying;
- ``context``: the prompt does not fit the model's context window; the caller stops
  with a message naming the prompt's size and what to do.

A third, ``refused_streaming``, says whether a 400/422 is about streaming: about
``stream_options`` (Azure on older api-versions, Groq in 2024, relays that pass it on), or
about ``stream`` itself (OpenAI's o1 at launch, and models an unverified organization
may not stream). The caller then asks without it, and remembers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

# A refusal of the response format names it; the lowercase text of the whole body
# (message, type, param, nested provider errors) is searched.
FORMAT_WORDS = (
    "response_format",
    "json_schema",
    "json_object",
    "json schema",
    "structured output",
    "grammar",
)
# How servers say the prompt does not fit: OpenAI, Azure OpenAI, vLLM, llama-cpp-python
# ("maximum context length"), llama.cpp ("exceeds the available context size", type
# exceed_context_size_error), OpenRouter ("this endpoint's maximum context length"),
# LiteLLM (ContextWindowExceededError, with the upstream's own words after it), LM Studio.
CONTEXT_WORDS = (
    "context_length_exceeded",
    "exceed_context_size_error",
    "contextwindowexceedederror",
    "maximum context length",
    "exceeds the available context size",
    "larger than the max context size",
    "exceed context window",
    "prompt is too long",
    "when context the overflows",  # LM Studio
    "greater than the context length",
)
_WINDOW = (
    re.compile(r"maximum context length is (\d+)"),
    re.compile(r"available context size \((\d+) tokens?\)"),
    re.compile(r"context window of (\d+)"),
    re.compile(r"tokens? > (\d+) maximum"),
    re.compile(r"context length of only (\d+)"),
)
_PROMPT = (
    re.compile(r"\((\d+) in the messages"),
    re.compile(r"your messages resulted in (\d+) tokens"),
    re.compile(r"request \((\d+) tokens?\) exceeds"),
    re.compile(r"\((\d+) of text input"),
    re.compile(r"prompt contains at least (\d+) input tokens"),
    re.compile(r"your request has (\d+) input tokens"),
    re.compile(r"prompt is too long: (\d+) tokens"),
    re.compile(r"keep the first (\d+) tokens"),
)

SAMPLING_WORDS = ("temperature", "seed")
RefusalKind = Literal["format", "context"]
StreamRefusal = Literal["stream_options", "stream"]
_STREAM = re.compile(r"'stream'|\bstream(ing)? (is )?not supported|\bto stream\b|support streaming")


@dataclass(frozen=True)
class Refusal:
    """A refusal that retrying cannot fix; token counts as the server gave them."""

    kind: RefusalKind
    window: int | None = None  # the model's context window, in tokens
    prompt_tokens: int | None = None  # the server's count of the prompt


def classify_refusal(status: int, message: str, body: object) -> Refusal | None:
    """The refusal in an HTTP error, or None for anything else (retry or report it).

    A 401/403/404/429 is never one: a bad key, a missing model or a rate limit only
    ever mention the response format by accident.
    """
    if status in (401, 403, 404, 408, 429) or status < 400:
        return None
    said = f"{message} {_flatten(body)}".lower()
    if any(word in said for word in CONTEXT_WORDS):
        return Refusal(
            "context", window=_first_number(_WINDOW, said), prompt_tokens=_prompt(body, said)
        )
    if any(word in said for word in FORMAT_WORDS):
        return Refusal("format")
    return None


def _flatten(body: object) -> str:
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body, default=str)
    except (TypeError, ValueError):  # pragma: no cover - json.dumps with default=str
        return str(body)


def _prompt(body: object, said: str) -> int | None:
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):  # llama.cpp says it outright
        counted = error.get("n_prompt_tokens")
        if isinstance(counted, int) and not isinstance(counted, bool):
            return counted
    return _first_number(_PROMPT, said)


def _first_number(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return int(found.group(1))
    return None


def refused_streaming(error: object) -> StreamRefusal | None:
    """``stream_options`` or ``stream``, when a 400/422 refuses that; else None."""
    status = getattr(error, "status_code", None)
    if status not in (400, 422):
        return None
    body = getattr(error, "body", None)
    said = f"{getattr(error, 'message', '')} {_flatten(body)}".lower()
    param = body.get("param") if isinstance(body, dict) else None
    if param == "stream_options" or "stream_options" in said:
        return "stream_options"
    if param == "stream" or _STREAM.search(said):
        return "stream"
    return None


def refuses_parameter(error: object, name: str) -> bool:
    """A 400 saying that this parameter is not supported (OpenAI's shape, or its words)."""
    if getattr(error, "status_code", None) != 400:
        return False
    body = getattr(error, "body", None)
    if isinstance(body, dict) and body.get("param") == name:  # the SDK's body: the "error"
        return True
    message = str(getattr(error, "message", ""))
    return f"'{name}'" in message and "unsupported" in message.lower()


def rejects_sampling(error: object) -> bool:
    """A 400/422 about ``seed`` or ``temperature`` (reasoning models take neither)."""
    if getattr(error, "status_code", None) not in (400, 422):
        return False
    said = f"{getattr(error, 'message', '')} {_flatten(getattr(error, 'body', None))}".lower()
    return any(word in said for word in SAMPLING_WORDS)
