"""What the engine calls: ``ChatRequest`` in, validated ``ChatResponse`` out.

Backends sit behind the ``ChatBackend`` protocol and are chosen by name from
``BACKENDS`` (STYLE.md §4). The factories import their backend lazily, so that a run
with the scripted backend (tests, ``specmill demo``) never pays for importing openai.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from specmill.core.config import BudgetConfig, ModelsConfig
from specmill.core.records import CallRecord
from specmill.llm.budget import Budget
from specmill.llm.call_life import CallMeter
from specmill.llm.events import CallListener

T = TypeVar("T", bound=BaseModel)
Role = Literal["planner", "executor", "verifier"]


@dataclass(frozen=True)
class ChatRequest(Generic[T]):
    """One agent call: the rendered prompt and the pydantic model its answer must fit.

    ``base_url``/``api_key_env`` override the models config for this call (a verifier
    on another provider); None means the config's, then the SDK's environment.
    ``seed``/``temperature`` are sent where the endpoint accepts them. ``cancel``, once
    set, stops the call before its next exchange (``CallCancelled``). ``meter``: what
    the call has sent, spent and holds (``specmill.llm.call_life``); one per request.
    ``listener`` is told how each exchange streams (``specmill.llm.events``).
    """

    role: Role
    module: str
    model: str
    messages: list[dict[str, Any]]
    response_model: type[T]
    template: str
    template_sha256: str
    attempt: int = 1
    base_url: str | None = None
    api_key_env: str | None = None
    max_output_tokens: int = 0  # the role's limit (models.max_output_tokens); 0: none
    candidate: int | None = None
    seed: int | None = None
    temperature: float | None = None
    cancel: threading.Event | None = field(default=None, compare=False, repr=False)
    meter: CallMeter = field(default_factory=CallMeter, compare=False, repr=False)
    listener: CallListener | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How messages name this call: ``planner call for billing.invoice (gpt-4.1)``."""
        return f"{self.role} call for {self.module} ({self.model})"


@dataclass(frozen=True)
class ChatResponse(Generic[T]):
    """A validated answer and the record of what it cost (re-asks included)."""

    value: T
    record: CallRecord
    text: str = field(repr=False)  # the raw answer that validated
    reasks: int = 0


class ChatBackend(Protocol):
    """A way to get validated answers from a model; safe to call from several threads."""

    budget: Budget

    def complete(self, request: ChatRequest[T]) -> ChatResponse[T]:
        """Answer the request, or raise an ``LLMError`` (ModelError, InvalidAnswerError,
        BudgetExceeded, ScriptExhaustedError) carrying the failed call's record."""
        ...

    def close(self) -> None:
        """Release connections; the backend is not used afterwards."""
        ...


BackendFactory = Callable[[ModelsConfig, Budget, "Path | None"], ChatBackend]


def _openai(models: ModelsConfig, budget: Budget, repo_root: Path | None) -> ChatBackend:
    from specmill.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(models, budget)


def _scripted(models: ModelsConfig, budget: Budget, repo_root: Path | None) -> ChatBackend:
    from specmill.llm.scripted import ScriptedBackend

    return ScriptedBackend.from_config(models, budget, repo_root=repo_root)


BACKENDS: dict[str, BackendFactory] = {
    "openai": _openai,  # any OpenAI-compatible base_url
    "scripted": _scripted,  # answers from a file; raises when it runs out
}


def make_backend(
    models: ModelsConfig, budget: BudgetConfig, *, repo_root: Path | None = None
) -> ChatBackend:
    """The configured backend, with a fresh ``Budget`` for one run.

    Calls are priced as ``specmill.core.prices.run_prices`` says (the shipped table
    under the config's own; nothing for the scripted backend); with a dollar limit, a
    configured model without a price is a ``ConfigError`` up front, as ``lint`` says.
    """
    from specmill.core.config_rules import unpriced_error, unpriced_models
    from specmill.core.prices import run_prices

    missing = unpriced_models(models, budget)
    if missing is not None:
        raise unpriced_error(budget, missing)
    return BACKENDS[models.backend](models, Budget(budget, run_prices(models)), repo_root)
