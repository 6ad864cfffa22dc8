"""An OpenAI-compatible server on 127.0.0.1, scripted per test, for the real SDK to call.

Asked to stream, it streams as llama.cpp's server does (``tests/llm/sse.py``), unless
the reply says it ignores ``stream``.

Each test queues what the next requests get (an answer, an HTTP error, a delay), then
asserts on the requests the server saw. A request beyond the queue is answered with a
non-retryable 418 and fails the test at teardown, so a test cannot pass by accident.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from specmill.core.config import BudgetConfig, ModelsConfig, Price
from specmill.core.records import VerifierReport
from specmill.llm.backend import ChatRequest
from specmill.llm.budget import Budget
from specmill.llm.openai_backend import OpenAIBackend
from tests.llm.sse import Stream, Streamed, pieces_of, write_stream

SECRET = "sk-test-0123456789abcdef-SECRET"
KEY_ENV = "SPECMILL_TEST_KEY"
MODEL = "test-model"
PRICE = Price(input=2.0, output=8.0)  # USD per million tokens
REPORT: dict[str, Any] = {
    "verdict": "fail",
    "summary": "R2 is not implemented",
    "findings": [
        {
            "kind": "code-defect",
            "severity": "major",
            "message": "negative quantities are accepted",
            "requirement": "R2",
            "file": "src/billing/invoice.py",
            "line": 12,
            "spec_line": None,
        }
    ],
}


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the answer's text, for a 200
    body: Any = None  # the JSON body, for an error
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # (prompt, completion) tokens, or computed from the request body (a model that
    # writes up to the output limit it was sent)
    usage: tuple[int, int] | Callable[[dict[str, Any]], tuple[int, int]] | None = (100, 20)
    finish_reason: str = "stop"
    # asked to stream, how it streams; None: it ignores ``stream`` and sends one answer
    stream: Stream | None = field(default_factory=Stream)
    pieces: Iterable[str] | None = None  # the streamed tokens; None: the content's


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


class FakeOpenAI:
    """The scripted server's state: its queue, what it saw, and how busy it got."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.forever: Reply | None = None
        self.requests: list[Seen] = []
        self.streams: list[Streamed] = []  # what each streamed answer sent, in order
        self.props: dict[str, Any] | None = None  # GET /props (llama-server); None: 404
        self.listing: list[dict[str, Any]] | None = None  # GET /v1/models data; None: 404
        self.gets: list[str] = []
        self.unexpected = 0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.url = ""

    # --- scripting ----------------------------------------------------------------

    def answer(self, content: str | dict[str, Any], **kwargs: Any) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self.queue.append(Reply(content=text, **kwargs))

    def error(self, status: int, message: str = "error", **kwargs: Any) -> None:
        kwargs.setdefault("body", {"error": {"message": message, "type": "server_error"}})
        self.queue.append(Reply(status=status, **kwargs))

    def always(self, **reply: Any) -> None:
        """Give every request beyond the queue this reply (429 forever, a slow server)."""
        self.forever = Reply(**reply)

    # --- serving ------------------------------------------------------------------

    def take(self, seen: Seen) -> Reply | None:
        with self.lock:
            self.requests.append(seen)
            if self.queue:
                return self.queue.popleft()
            if self.forever is None:
                self.unexpected += 1
            return self.forever


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.gets.append(self.path)
        if self.path == "/props" and fake.props is not None:
            self._send(200, fake.props, {})
        elif self.path == "/v1/models" and fake.listing is not None:
            self._send(200, {"object": "list", "data": fake.listing}, {})
        else:
            self._send(404, {"error": {"message": f"File Not Found: {self.path}"}}, {})

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
            return
        body = json.loads(raw)
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = fake.take(Seen(body, headers, time.monotonic()))
        if reply is None:
            self._send(418, {"error": {"message": "the test queued no reply for this"}}, {})
            return
        with fake.lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if reply.delay:
                fake.stopping.wait(reply.delay)
            if reply.status != 200:
                self._send(reply.status, reply.body, reply.headers)
            elif body.get("stream") and reply.stream is not None:
                usage = reply.usage(body) if callable(reply.usage) else reply.usage
                streamed = write_stream(
                    self,
                    body,
                    reply.pieces or pieces_of(reply.content or ""),
                    stream=reply.stream,
                    finish_reason=reply.finish_reason,
                    usage=usage,
                    stopping=fake.stopping,
                )
                with fake.lock:
                    fake.streams.append(streamed)
            else:
                self._send(200, _completion(body, reply), reply.headers)
        except OSError:  # the client gave up (timeout): nothing to answer
            pass
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    completion: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
            }
        ],
    }
    if reply.usage is not None:
        prompt, done = reply.usage(request) if callable(reply.usage) else reply.usage
        completion["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": done,
            "total_tokens": prompt + done,
        }
    return completion


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own key or base URL must not leak into these tests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield fake
    fake.stopping.set()
    server.shutdown()
    server.server_close()
    assert fake.unexpected == 0, f"{fake.unexpected} request(s) beyond the queued replies"
    assert not fake.queue, f"queued replies never requested: {list(fake.queue)}"


@pytest.fixture
def openai_backend(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., OpenAIBackend]]:
    """Build backends against the fake server, with a tiny backoff so retries are fast."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    built: list[OpenAIBackend] = []

    def build(budget: BudgetConfig | None = None, **settings: Any) -> OpenAIBackend:
        defaults: dict[str, Any] = {
            "base_url": fake_openai.url,
            "api_key_env": KEY_ENV,
            "timeout": 5.0,
            "max_retries": 2,
            "prices": {MODEL: PRICE},
        }
        models = ModelsConfig(**{**defaults, **settings})
        backend = OpenAIBackend(
            models, Budget(budget, models.prices), initial_backoff=0.001, max_backoff=0.01
        )
        built.append(backend)
        return backend

    yield build
    for backend in built:
        backend.close()


@pytest.fixture
def report() -> dict[str, Any]:
    """A valid VerifierReport, as a model would write it."""
    return json.loads(json.dumps(REPORT))


@pytest.fixture
def secret() -> str:
    """The API key the backends built by ``openai_backend`` send."""
    return SECRET


@pytest.fixture
def chat_request() -> Callable[..., ChatRequest[Any]]:
    """A verifier request for VerifierReport; keyword arguments override its fields."""

    def build(**overrides: Any) -> ChatRequest[Any]:
        fields: dict[str, Any] = {
            "role": "verifier",
            "module": "billing.invoice",
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You review generated code against its spec."},
                {"role": "user", "content": "Spec: R1, R2. Code: ..."},
            ],
            "response_model": VerifierReport,
            "template": "verifier.md.j2",
            "template_sha256": "ab" * 32,
            "attempt": 1,
        }
        fields.update(overrides)
        return ChatRequest(**fields)

    return build
