"""A chat answer as llama.cpp's ``llama-server`` streams it, for the local fake servers.

Read from ``tools/server/server-task.cpp`` (``to_json_oaicompat_chat_stream``) and
``server-context.cpp``: HTTP/1.1 with chunked transfer, ``text/event-stream``; a first
chunk with the role and ``content: null``, one ``chat.completion.chunk`` per token with
``finish_reason: null``, a last one with an empty delta and the ``finish_reason``
("length" when a limit cut it), then, when ``stream_options.include_usage`` was sent,
one with ``choices: []``, the ``usage`` and llama.cpp's ``timings``; then
``data: [DONE]``. An error after the first token arrives as ``data: {"error": {...}}``
and ends the stream. llama-cpp-python streams the same shapes but ignores
``stream_options`` (no usage chunk): ``Stream(usage=False)`` plays it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any


@dataclass
class Stream:
    """How one streamed answer goes; the defaults are a well-behaved server."""

    delay: float = 0.0  # seconds between two tokens (0.005: about 200 tokens a second)
    usage: bool = True  # honour stream_options.include_usage (llama-cpp-python does not)
    cut_after: int | None = None  # drop the connection after this many tokens
    error_after: int | None = None  # send an error event after this many tokens
    end_without_finish: bool = False  # end cleanly, but without a finish_reason or [DONE]
    silent_for: float = 0.0  # seconds of silence after the headers, before any token


def pieces_of(text: str, size: int = 4) -> Iterator[str]:
    """The text in token-sized pieces (about four characters each)."""
    for start in range(0, len(text), size):
        yield text[start : start + size]


def forever(text: str) -> Iterator[str]:
    """The same text over and over: a model caught in a loop."""
    while True:
        yield from pieces_of(text)


def write_stream(
    handler: BaseHTTPRequestHandler,
    request: dict[str, Any],
    pieces: Iterable[str],
    *,
    stream: Stream,
    finish_reason: str = "stop",
    usage: tuple[int, int] | None = None,
    stopping: threading.Event | None = None,
) -> Streamed:
    """Stream ``pieces`` as chunks, until they end or the client closes the connection
    (as it does to stop a loop).

    ``usage``: the (prompt, completion) tokens the last chunk reports; None: 100 and
    the tokens sent.
    """
    handler.protocol_version = "HTTP/1.1"
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    streamed = Streamed(time.monotonic())
    writer = _Writer(handler, request["model"])
    try:
        if stream.silent_for and stopping is not None:
            stopping.wait(stream.silent_for)
        writer.event(writer.choice({"role": "assistant", "content": None}))
        for piece in pieces:
            if stopping is not None and stopping.is_set():
                break
            if streamed.tokens == stream.cut_after:
                return streamed.end()  # no terminating chunk: the client sees a broken body
            if streamed.tokens == stream.error_after:
                error = {"code": 500, "message": "slot stopped", "type": "server_error"}
                writer.event({"error": error})
                writer.chunk(b"")
                return streamed.end()
            writer.event(writer.choice({"content": piece}))
            streamed.tokens += 1
            if stream.delay:
                time.sleep(stream.delay)
        if not stream.end_without_finish:
            writer.event(writer.choice({}, finish_reason))
            if stream.usage and (request.get("stream_options") or {}).get("include_usage"):
                writer.usage(usage or (100, streamed.tokens), streamed)
            writer.chunk(b"data: [DONE]\n\n")
        writer.chunk(b"")  # the terminating chunk
    except OSError:  # the client closed the connection
        streamed.closed_by_client = True
    return streamed.end()


@dataclass
class Streamed:
    """What one stream sent, for tests to assert on."""

    started: float
    tokens: int = 0
    seconds: float = 0.0
    closed_by_client: bool = False

    def end(self) -> Streamed:
        self.seconds = time.monotonic() - self.started
        return self


class _Writer:
    def __init__(self, handler: BaseHTTPRequestHandler, model: str) -> None:
        self.handler = handler
        self.base = {
            "created": int(time.time()),
            "id": "chatcmpl-fake",
            "model": model,
            "system_fingerprint": "b7000-fake",
            "object": "chat.completion.chunk",
        }

    def choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**self.base, "choices": [{"finish_reason": finish, "index": 0, "delta": delta}]}

    def usage(self, counts: tuple[int, int], streamed: Streamed) -> None:
        prompt, done = counts
        usage = {
            "completion_tokens": done,
            "prompt_tokens": prompt,
            "total_tokens": done + prompt,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        ms = (time.monotonic() - streamed.started) * 1000
        timings = {"predicted_n": done, "predicted_ms": ms, "prompt_n": prompt}
        self.event({**self.base, "choices": [], "usage": usage, "timings": timings})

    def event(self, data: Any) -> None:
        self.chunk(f"data: {json.dumps(data)}\n\n".encode())

    def chunk(self, data: bytes) -> None:
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()
