"""The validate-and-re-ask loop both backends share.

A backend supplies its transport (messages in, raw ``Answer`` out); each ask goes
through the call's life (``specmill.llm.call_life``: slot, budget, retries, usage),
and this loop validates the answer against the request's pydantic model and, on a bad
answer, shows the model its answer and the validation error, up to ``reask_limit``
times.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from specmill.llm.backend import ChatRequest, ChatResponse
from specmill.llm.budget import Budget
from specmill.llm.call_life import Answer as Answer  # the transports' return type
from specmill.llm.call_life import CallLife, CallMeter, Send
from specmill.llm.call_life import prompt_chars as prompt_chars
from specmill.llm.errors import (
    BudgetExceeded,
    CallCancelled,
    ContextWindowExceeded,
    InvalidAnswerError,
    LLMError,
)
from specmill.llm.structured import AnswerProblem, encodable, parse_answer, reask_message

T = TypeVar("T", bound=BaseModel)
EXCERPT_CHARS = 200
ECHO_CHARS = 4000  # of an answer cut off at the output limit, shown back when re-asking
Exchange = Send  # the name the backends know it by


def converse(
    request: ChatRequest[T],
    exchange: Exchange,
    *,
    budget: Budget,
    reask_limit: int,
    added_chars: int = 0,
    life: CallLife | None = None,
) -> ChatResponse[T]:
    """Get a valid answer through ``exchange``, re-asking on junk; see the module doc.

    ``added_chars``: text the exchange may add to the messages (the openai backend's
    schema instruction, when the endpoint takes no JSON schema), reserved with them.
    ``life``: the backend's, with its concurrency slots and retries; None: ``budget``
    alone, no slot and no retry (the scripted backend: nothing on a wire).
    """
    life = life or CallLife(budget)
    meter = request.meter
    messages = list(request.messages)
    problem = ""
    text = ""
    for turn in range(reask_limit + 1):
        try:
            answer = life.exchange(request, messages, exchange, added_chars=added_chars)
        except ContextWindowExceeded as exc:
            if not turn:
                raise _with_record(exc, request) from None
            # The question fit, the re-ask (question, answer, problem) does not: the
            # model gave no valid answer, which is an invalid answer, not a dead server.
            problem += " (a re-ask would not fit the model's context window)"
            break
        except LLMError as exc:
            raise _with_record(exc, request) from None
        text = encodable(answer.text)  # goes back to the model, into records and logs
        try:
            if answer.stopped:  # a loop or a broken stream: its text is not the answer
                raise AnswerProblem(answer.stopped)
            value = parse_answer(text, request.response_model)
        except AnswerProblem as exc:
            problem = str(exc)
            if answer.truncated:
                limit = answer.cut_by or "the output token limit"
                problem += f" (the answer was cut off at {limit})"
            echoed = text
            cut = answer.truncated or answer.stopped
            if cut and len(text) > ECHO_CHARS:  # keep the re-ask in the window
                echoed = text[:ECHO_CHARS] + "\n[… cut off here]"
            messages = [*messages, {"role": "assistant", "content": echoed}, reask_message(problem)]
            continue
        record = meter.record(request, "ok")
        return ChatResponse(value=value, record=record, text=text, reasks=turn)
    answers = meter.answers
    error = InvalidAnswerError(
        f"{request.label}: no valid {request.response_model.__name__} after"
        f" {answers} answer(s) ({answers - 1} re-ask(s)); the last one: {problem}\n"
        f"It began: {excerpt(text)!r}\n"
        "Try a stronger model for this role, raise models.reask_limit, or check the"
        f" prompt template {request.template}.",
        excerpt=excerpt(text),
    )
    error.record = meter.record(request, "invalid")
    raise error


def _with_record(error: LLMError, request: ChatRequest[Any]) -> LLMError:
    """The error with its call's record: none when no request was sent."""
    meter: CallMeter = request.meter
    refused = isinstance(error, BudgetExceeded | CallCancelled) and not meter.requests
    error.record = None if refused else meter.record(request, "error")
    return error


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text``, on one line, short enough for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
