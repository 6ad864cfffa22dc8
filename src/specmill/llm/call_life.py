"""The life of one model call, in one place: what happens, in which order, and why.

A *call* is one ``ChatRequest``: a question whose answer must validate, asked again
until it does (``specmill.llm.conversation``). Each ask is an *exchange*, sent as one
request and sent again while its failure may pass. A backend supplies the transport,
how one request is sent (the openai SDK, a script); the rest happens here, in order:

1. **Cancelled?** A call nobody waits for any more (another candidate passed) is not
   started.
2. **Concurrency slot** (``models.concurrency``), taken *before* the budget: a call
   queued behind the limit holds no budget, so the calls that wait cannot starve the
   ones that run.
3. **Reservation** (``Budget.reserve``): the prompt plus the output limit it will send.
   A call over budget is refused here, before anything is sent; on a tight budget it
   waits for the calls in flight to give back what they did not use.
4. **Send and retry.** A failure that may pass (429, 5xx, a timeout, a dropped
   connection) is sent again after a backoff, or as long as the server asks, under
   the same slot and reservation: a retry is the same call, and an endpoint that rate
   limits us gets no other request from this run in between. A cancelled call stops
   during the backoff. An endpoint that refuses *how* it was asked (a response format,
   a parameter's name) is asked again at once, differently: that is not a retry.
5. **Settle.** The usage the server reports (estimated when it reports none) replaces
   the reservation, and the run's tokens and cost grow by it.
6. **Record.** Every call that sent a request gets one ``CallRecord`` (answered,
   invalid, failed) with its usage and its request count, handed to the caller's log
   (``await_answer``); a call refused or cancelled before sending anything has none.
7. **Abandon.** A caller that stops waiting (early stop) leaves the call to end in the
   background: it is logged at once as ``abandoned``, with what it spent and what it
   holds (``estimated``), and that entry is replaced by its real usage when its answer
   comes. A request on the wire cannot be taken back, so it is on the record even
   when the run ends first.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import tenacity

from specmill.core.records import CallRecord
from specmill.llm.budget import Budget, Reservation, estimate_tokens, prompt_reserve
from specmill.llm.errors import CallCancelled, LLMError
from specmill.llm.retry import backoff
from specmill.llm.tokens import counter

if TYPE_CHECKING:
    from pydantic import BaseModel

    from specmill.llm.backend import ChatBackend, ChatRequest, ChatResponse

    T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)
POLL_S = 0.05  # how often a waiting call looks at its cancel event
Outcome = Literal["ok", "invalid", "error", "abandoned"]


@dataclass(frozen=True)
class Answer:
    """One raw model answer; token counts are None when the server reported none."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    truncated: bool = False  # stopped at the output token limit
    mode: str | None = None  # the structured-output mode the endpoint took
    # why the answer was stopped before the server finished it (it repeated itself, its
    # stream broke): an invalid answer, re-asked with this reason
    stopped: str | None = None
    cut_by: str | None = None  # the limit that cut a truncated answer, named for the user
    streamed: bool | None = None  # None: not an OpenAI-compatible exchange
    first_token_s: float | None = None  # seconds from sending to the first token
    generating_s: float | None = None  # seconds from the first token to the last


Send = Callable[[list[dict[str, Any]], int], Answer]
"""The transport: one request with these messages and this output limit (0: none)."""


class Transient(Exception):
    """A request that failed in a way that may pass: worth sending again."""

    def __init__(self, why: str, *, wait: float | None, give_up: Callable[[int], LLMError]):
        super().__init__(why)
        self.why = why  # for the retry's log line: "HTTP 429", "APITimeoutError"
        self.wait = wait  # seconds the server asked for; None: our backoff
        self.give_up = give_up  # the error to raise after this many attempts


class Resend(Exception):
    """The endpoint refused how it was asked, and the transport now asks differently."""


def prompt_chars(messages: list[dict[str, Any]]) -> int:
    """Characters of text in the messages: the budget's estimate of the prompt's size."""
    return sum(len(m["content"]) for m in messages if isinstance(m.get("content"), str))


class CallMeter:
    """What one call has sent, spent and holds; read when the call is abandoned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.prompt_tokens = self.completion_tokens = 0
        self.cost = 0.0
        self.requests = 0
        self.answers = 0
        self.mode: str | None = None
        self.streamed: bool | None = None
        self.first_token_s: float | None = None
        self.streamed_tokens = 0
        self.generating_s = 0.0
        self._holding: Reservation | None = None
        self._abandoned = False

    def sending(self, request: ChatRequest[Any], reservation: Reservation) -> None:
        """One more request goes out now, unless the call was abandoned."""
        with self._lock:
            if self._abandoned:
                raise CallCancelled(f"{request.label}: cancelled, no longer needed")
            self._holding = reservation
            self.requests += 1

    def settle(
        self, reservation: Reservation, prompt: int, completion: int, answer: Answer
    ) -> None:
        with self._lock:
            self.cost += reservation.settle(prompt, completion)
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.answers += 1
            self.mode = answer.mode
            self._holding = None
            # time to the first token (the first answer's), speed over every answer
            self.streamed = answer.streamed if self.streamed is None else self.streamed
            if self.first_token_s is None and answer.first_token_s is not None:
                self.first_token_s = round(answer.first_token_s, 3)
            if answer.generating_s:
                self.streamed_tokens += completion
                self.generating_s += answer.generating_s

    def give_back(self, reservation: Reservation) -> None:
        """The exchange failed: nothing used (a failed request is not billed)."""
        with self._lock:
            reservation.cancel()
            self._holding = None

    def record(self, request: ChatRequest[Any], outcome: Outcome) -> CallRecord:
        """The record of a call that ended: its real usage."""
        with self._lock:
            return self._record(request, outcome, None)

    def abandon(self, request: ChatRequest[Any]) -> CallRecord | None:
        """Stop here; the record of what was sent so far (None: nothing was)."""
        with self._lock:
            self._abandoned = True
            return self._record(request, "abandoned", self._holding) if self.requests else None

    def _record(
        self, request: ChatRequest[Any], outcome: Outcome, held: Reservation | None
    ) -> CallRecord:
        r = request
        return CallRecord(
            role=r.role,
            module=r.module,
            model=r.model,
            template=r.template,
            template_sha256=r.template_sha256,
            prompt_tokens=self.prompt_tokens + (held.prompt if held else 0),
            completion_tokens=self.completion_tokens + (held.max_output if held else 0),
            cost_usd=self.cost + (held.cost if held else 0.0),
            latency_s=round(time.monotonic() - self.started, 3),
            attempt=r.attempt,
            outcome=outcome,
            candidate=r.candidate,
            structured_output=self.mode,
            requests=self.requests,
            estimated=held is not None,
            streamed=self.streamed,
            first_token_s=self.first_token_s,
            tokens_per_s=(
                round(self.streamed_tokens / self.generating_s, 1) if self.generating_s else None
            ),
        )


class CallLife:
    """Steps 1 to 5 for every exchange of one backend: its slots, budget and retries."""

    def __init__(
        self,
        budget: Budget,
        *,
        concurrency: int | None = None,  # None: no limit (the scripted backend)
        retries: int = 0,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._retries = retries
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._sleep = sleep

    def exchange(
        self,
        request: ChatRequest[Any],
        messages: list[dict[str, Any]],
        send: Send,
        *,
        added_chars: int = 0,
    ) -> Answer:
        """One answer to ``messages``, paid for; ``added_chars``: text the transport may
        add to them (a schema instruction), reserved with them."""
        meter = request.meter
        _stop_if_cancelled(request)
        with self._slot(request):
            chars = prompt_chars(messages) + added_chars
            tokenizer = counter(request.model)
            counted = None  # the model's own count when its encoding is here
            if tokenizer.exact:
                counted = tokenizer.count_messages(messages) + prompt_reserve(added_chars)
            reservation = self.budget.reserve(
                model=request.model,
                role=request.role,
                prompt_chars=chars,
                prompt_tokens=counted,
                what=request.label,
                max_output=request.max_output_tokens,
                module=request.module,
                cancel=request.cancel,
            )
            try:
                answer = self._send(request, messages, reservation, send)
            except BaseException:
                meter.give_back(reservation)
                raise
            prompt, completion = answer.prompt_tokens, answer.completion_tokens
            meter.settle(
                reservation,
                estimate_tokens(chars) if prompt is None else prompt,
                estimate_tokens(len(answer.text)) if completion is None else completion,
                answer,
            )
        return answer

    def _send(
        self,
        request: ChatRequest[Any],
        messages: list[dict[str, Any]],
        reservation: Reservation,
        send: Send,
    ) -> Answer:
        def attempt() -> Answer:
            while True:
                request.meter.sending(request, reservation)
                try:
                    return send(messages, reservation.max_output)
                except Resend:
                    continue

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retries + 1),
            retry=tenacity.retry_if_exception_type(Transient),
            wait=self._wait,
            sleep=lambda seconds: self._pause(request, seconds),
            before_sleep=lambda state: _log_retry(state, request.label),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as failure:
            raise failure.give_up(retrying.statistics.get("attempt_number", 1)) from None

    @contextlib.contextmanager
    def _slot(self, request: ChatRequest[Any]) -> Iterator[None]:
        """A concurrency slot; a cancelled call stops waiting for one."""
        if self._slots is None:
            yield
            return
        while not self._slots.acquire(timeout=POLL_S):
            _stop_if_cancelled(request)
        try:
            _stop_if_cancelled(request)
            yield
        finally:
            self._slots.release()

    def _pause(self, request: ChatRequest[Any], seconds: float) -> None:
        """A backoff that a cancelled call cuts short."""
        if request.cancel is None:
            self._sleep(seconds)
        elif request.cancel.wait(seconds):
            _stop_if_cancelled(request)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, Transient) and failure.wait is not None:
            return failure.wait
        return backoff(
            state.attempt_number, initial=self._initial_backoff, maximum=self._max_backoff
        )


def _stop_if_cancelled(request: ChatRequest[Any]) -> None:
    if request.cancel is not None and request.cancel.is_set():
        raise CallCancelled(f"{request.label}: cancelled, no longer needed")


def _log_retry(state: tenacity.RetryCallState, label: str) -> None:
    failure = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("%s: %s; retrying in %.2f s", label, failure, wait)


CallLog = Callable[[CallRecord, str, "CallRecord | None"], None]
"""Where a call's record goes: the record, the answer (or error) text, and the entry it
replaces (an abandoned call's, when its answer comes after all)."""


def await_answer(backend: ChatBackend, request: ChatRequest[T], log: CallLog) -> ChatResponse[T]:
    """The backend's answer, every call logged once (steps 6 and 7 of the module doc).

    Without ``request.cancel`` this is ``backend.complete``. With it, the call runs in a
    thread of its own, so that the caller can stop waiting when it is set.
    """
    if request.cancel is None:
        return _logged(backend.complete, request, log)
    lock = threading.Lock()
    done = threading.Event()
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["outcome"] = backend.complete(request)
        except BaseException as exc:  # Ctrl-C from a backend included
            box["outcome"] = exc
        with lock:
            done.set()
            abandoned = "abandoned" in box
        if abandoned:  # nobody waits for it, but it cost: its real usage replaces the estimate
            _log_late(box["outcome"], log, box["abandoned"])

    threading.Thread(target=call, daemon=True).start()
    while not done.wait(POLL_S):
        if request.cancel.is_set():
            with lock:
                if not done.is_set():
                    box["abandoned"] = placeholder = request.meter.abandon(request)
                    if placeholder is not None:
                        log(placeholder, "abandoned: no answer yet when its caller stopped", None)
                    raise CallCancelled(f"{request.label}: cancelled, no longer needed")
    return _logged(lambda _: _unbox(box["outcome"]), request, log)


def _unbox(outcome: Any) -> Any:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _logged(
    complete: Callable[[ChatRequest[T]], ChatResponse[T]], request: ChatRequest[T], log: CallLog
) -> ChatResponse[T]:
    try:
        response = complete(request)
    except LLMError as exc:
        if exc.record is not None:
            log(exc.record, f"error: {exc}", None)
        raise
    log(response.record, response.text, None)
    return response


def _log_late(outcome: Any, log: CallLog, placeholder: CallRecord | None) -> None:
    if isinstance(outcome, BaseException):
        record = outcome.record if isinstance(outcome, LLMError) else None
        text = f"error: {outcome}"
    else:
        record, text = outcome.record, outcome.text
    if record is None:
        return
    record.outcome = "abandoned"  # its caller had stopped waiting: the answer went unused
    log(record, f"abandoned (answered after its caller stopped): {text}", placeholder)
