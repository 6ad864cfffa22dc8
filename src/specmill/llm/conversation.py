"""The validate-and-re-ask loop both backends share.

A backend supplies one exchange (messages in, raw ``Answer`` out); this loop checks
the budget before each exchange, counts usage, validates the answer against the
request's pydantic model, and on a bad answer shows the model its answer and the
validation error, up to ``reask_limit`` times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from specmill.core.records import CallRecord
from specmill.llm.backend import ChatRequest, ChatResponse
from specmill.llm.budget import Budget, estimate_tokens, prompt_reserve
from specmill.llm.errors import (
    BudgetExceeded,
    CallCancelled,
    ContextWindowExceeded,
    InvalidAnswerError,
    LLMError,
)
from specmill.llm.structured import AnswerProblem, encodable, parse_answer, reask_message
from specmill.llm.tokens import counter

T = TypeVar("T", bound=BaseModel)
EXCERPT_CHARS = 200
ECHO_CHARS = 4000  # of an answer cut off at the output limit, shown back when re-asking


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


Exchange = Callable[[list[dict[str, Any]], int], Answer]
"""One round trip: the messages, and the output token limit to send (0: none)."""


def prompt_chars(messages: list[dict[str, Any]]) -> int:
    """Characters of text in the messages: the budget's estimate of the prompt's size."""
    return sum(len(m["content"]) for m in messages if isinstance(m.get("content"), str))


class _Tally:
    """Usage summed over a call's exchanges, turned into its ``CallRecord``."""

    def __init__(self, request: ChatRequest[Any]) -> None:
        self.request = request
        self.started = time.monotonic()
        self.prompt_tokens = self.completion_tokens = 0
        self.cost = 0.0
        self.exchanges = 0
        self.mode: str | None = None
        self.streamed: bool | None = None
        self.first_token_s: float | None = None
        self.streamed_tokens = 0
        self.generating_s = 0.0

    def count_stream(self, answer: Answer, completion_tokens: int) -> None:
        """Time to first token (the first exchange's) and speed over every exchange."""
        self.streamed = answer.streamed if self.streamed is None else self.streamed
        if answer.first_token_s is not None and self.first_token_s is None:
            self.first_token_s = round(answer.first_token_s, 3)
        if answer.generating_s:
            self.streamed_tokens += completion_tokens
            self.generating_s += answer.generating_s

    def record(self, outcome: Literal["ok", "invalid", "error"]) -> CallRecord:
        r = self.request
        return CallRecord(
            role=r.role,
            module=r.module,
            model=r.model,
            template=r.template,
            template_sha256=r.template_sha256,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost,
            latency_s=round(time.monotonic() - self.started, 3),
            attempt=r.attempt,
            outcome=outcome,
            candidate=r.candidate,
            structured_output=self.mode,
            streamed=self.streamed,
            first_token_s=self.first_token_s,
            tokens_per_s=(
                round(self.streamed_tokens / self.generating_s, 1) if self.generating_s else None
            ),
        )


def converse(
    request: ChatRequest[T],
    exchange: Exchange,
    *,
    budget: Budget,
    reask_limit: int,
    added_chars: int = 0,
) -> ChatResponse[T]:
    """Get a valid answer through ``exchange``, re-asking on junk; see the module doc.

    ``added_chars``: text the exchange may add to the messages (the openai backend's
    schema instruction, when the endpoint takes no JSON schema), reserved with them.
    """
    tally = _Tally(request)
    messages = list(request.messages)
    problem = ""
    text = ""
    for turn in range(reask_limit + 1):
        chars = prompt_chars(messages) + added_chars
        tokenizer = counter(request.model)
        counted = None  # the model's tokenizer when its encoding is here, else an estimate
        if tokenizer.exact:
            counted = tokenizer.count_messages(messages) + prompt_reserve(added_chars)
        try:
            if request.cancel is not None and request.cancel.is_set():
                raise CallCancelled(f"{request.label}: cancelled, no longer needed")
            reservation = budget.reserve(
                model=request.model,
                prompt_chars=chars,
                what=request.label,
                max_output=request.max_output_tokens,
                module=request.module,
                prompt_tokens=counted,
            )
            try:
                answer = exchange(messages, reservation.max_output)
            except BaseException:
                reservation.cancel()
                raise
        except ContextWindowExceeded as exc:
            if not turn:
                raise _with_record(exc, tally) from None
            # The question fit, the re-ask (question, answer, problem) does not: the
            # model gave no valid answer, which is an invalid answer, not a dead server.
            problem += " (a re-ask would not fit the model's context window)"
            break
        except LLMError as exc:
            raise _with_record(exc, tally) from None
        tally.exchanges += 1
        tally.mode = answer.mode
        prompt = estimate_tokens(chars) if answer.prompt_tokens is None else answer.prompt_tokens
        completion = answer.completion_tokens
        if completion is None:
            completion = estimate_tokens(len(answer.text))
        tally.cost += reservation.settle(prompt, completion)
        tally.count_stream(answer, completion)
        tally.prompt_tokens += prompt
        tally.completion_tokens += completion
        text = encodable(answer.text)  # goes back to the model, into records and logs
        try:
            if answer.stopped:  # a loop or a broken stream: its text is not the answer
                raise AnswerProblem(answer.stopped)
            value = parse_answer(text, request.response_model)
        except AnswerProblem as exc:
            problem = str(exc)
            if answer.truncated:
                problem += (
                    f" (the answer was cut off at {answer.cut_by or 'the output token limit'})"
                )
            echoed = text
            cut = answer.truncated or answer.stopped
            if cut and len(text) > ECHO_CHARS:  # keep the re-ask in the window
                echoed = text[:ECHO_CHARS] + "\n[… cut off here]"
            messages = [*messages, {"role": "assistant", "content": echoed}, reask_message(problem)]
            continue
        return ChatResponse(value=value, record=tally.record("ok"), text=text, reasks=turn)
    answers = tally.exchanges
    error = InvalidAnswerError(
        f"{request.label}: no valid {request.response_model.__name__} after"
        f" {answers} answer(s) ({answers - 1} re-ask(s)); the last one: {problem}\n"
        f"It began: {excerpt(text)!r}\n"
        "Try a stronger model for this role, raise models.reask_limit, or check the"
        f" prompt template {request.template}.",
        excerpt=excerpt(text),
    )
    error.record = tally.record("invalid")
    raise error


def _with_record(error: LLMError, tally: _Tally) -> LLMError:
    """The error with its call's record: none for a refusal before anything was sent."""
    refused = isinstance(error, BudgetExceeded | CallCancelled) and not tally.exchanges
    error.record = None if refused else tally.record("error")
    return error


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text``, on one line, short enough for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
