"""A minimal OpenAI-compatible chat server on 127.0.0.1 that answers by model name.

Asked to stream, it streams as llama.cpp's ``llama-server`` does (``tests/llm/sse.py``);
``props`` and ``listing_extra`` add llama-server's ``GET /props`` and the context
fields of a model list (llama.cpp's ``meta``, vLLM's ``max_model_len``).

Routing by model (each role has its own model name in the test config) keeps answers
deterministic when verifiers call concurrently. ``always`` answers every request
(429 forever, 500, a slow server). Unexpected requests get a 418 and are counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.llm.sse import Stream, Streamed, pieces_of, write_stream


@dataclass
class Reply:
    status: int = 200
    content: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: Any = None  # an error's JSON body; None: {"error": {"message": "HTTP <status>"}}
    stream: Stream | None = field(default_factory=Stream)  # None: ignores ``stream``
    pieces: Iterable[str] | None = None  # the streamed tokens; None: the content's
    finish_reason: str = "stop"


@dataclass
class Endpoint:
    url: str = ""
    answers: dict[str, deque[Reply]] = field(default_factory=dict)
    always: Reply | None = None
    # Answers computed from the request (a model that reads the prompt); None: no answer
    respond: Callable[[dict[str, Any]], str | None] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    unexpected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    models: list[str] | None = None  # GET /models lists these; None: no such route (404)
    listings: int = 0  # GET /v1/models requests
    # (prompt, completion) tokens the usage reports, from the request and the answer;
    # None: 1000 and 100 for every answer
    usage: Callable[[dict[str, Any], str], tuple[int, int]] | None = None
    listing_extra: dict[str, Any] = field(default_factory=dict)  # in each listed model
    props: dict[str, Any] | None = None  # GET /props answers this; None: no such route
    streams: list[Streamed] = field(default_factory=list)  # what each stream sent

    def answer(self, model: str, *answers: Any, delay: float = 0.0) -> None:
        queue = self.answers.setdefault(model, deque())
        for a in answers:
            queue.append(Reply(content=a if isinstance(a, str) else json.dumps(a), delay=delay))

    def refuse(self, model: str, status: int, body: Any) -> None:
        """The next request for this model gets an error with this body."""
        self.answers.setdefault(model, deque()).append(Reply(status=status, body=body))

    def take(self, body: dict[str, Any]) -> Reply | None:
        with self.lock:
            self.requests.append(body)
            queue = self.answers.get(body.get("model", ""))
            if queue:
                return queue.popleft()
            if self.respond is not None:
                content = self.respond(body)
                if content is not None:
                    return Reply(content=content)
            if self.always is None:
                self.unexpected += 1
            return self.always


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        endpoint = self.server.endpoint
        if self.path == "/props" and endpoint.props is not None:
            self._send(200, endpoint.props, {})
            return
        if self.path != "/v1/models" or endpoint.models is None:
            self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
            return
        with endpoint.lock:
            endpoint.listings += 1
        data = [
            {"id": m, "object": "model", "owned_by": "test", **endpoint.listing_extra}
            for m in endpoint.models
        ]
        self._send(200, {"object": "list", "data": data}, {})

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        reply = endpoint.take(body)
        if reply is None:
            self._send(418, {"error": {"message": "no reply queued"}}, {})
            return
        if reply.delay:
            endpoint.stopping.wait(reply.delay)
        try:
            if reply.status != 200:
                body = reply.body or {"error": {"message": f"HTTP {reply.status}"}}
                self._send(reply.status, body, reply.headers)
                return
            usage = (1000, 100) if endpoint.usage is None else endpoint.usage(body, reply.content)
            if body.get("stream") and reply.stream is not None:
                streamed = write_stream(
                    self,
                    body,
                    reply.pieces or pieces_of(reply.content),
                    stream=reply.stream,
                    finish_reason=reply.finish_reason,
                    usage=usage,
                    stopping=endpoint.stopping,
                )
                with endpoint.lock:
                    endpoint.streams.append(streamed)
                return
            self._send(200, _completion(body["model"], reply.content, usage), reply.headers)
        except OSError:  # the client gave up
            pass

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _completion(model: str, content: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-engine-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def counted(body: dict[str, Any], content: str) -> tuple[int, int]:
    """Usage as a tokenizer of four characters a token would count it."""
    prompt = sum(len(str(m.get("content", ""))) for m in body["messages"])
    return -(-prompt // 4), -(-len(content) // 4)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    endpoint: Endpoint


@contextmanager
def serve() -> Iterator[Endpoint]:
    endpoint = Endpoint()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.endpoint = endpoint
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.stopping.set()
        server.shutdown()
        server.server_close()
