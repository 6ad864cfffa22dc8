"""Errors of the model access layer, all ``SpecmillError``s so the CLI prints them once.

Messages say what went wrong and what to do next, because the CLI shows them as they
are. They never contain an API key: they name the environment variable that holds it.
Each error carries the ``CallRecord`` of the failed call when a call was made, so that
the run record still shows what a failed call cost.
"""

from __future__ import annotations

from specmill.core.records import CallRecord
from specmill.errors import SpecmillError


class LLMError(SpecmillError):
    """A model call that did not produce a usable answer."""

    record: CallRecord | None = None


class ModelError(LLMError):
    """The endpoint failed (after retries, where retrying made sense)."""

    def __init__(self, message: str, *, model: str, host: str, status: int | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.host = host
        self.status = status


class ContextWindowExceeded(ModelError):
    """The prompt does not fit the model's context window; retrying cannot help."""


class InvalidAnswerError(LLMError):
    """The model kept answering something that is not the requested structure."""

    def __init__(self, message: str, *, excerpt: str) -> None:
        super().__init__(message)
        self.excerpt = excerpt


class BudgetExceeded(LLMError):
    """A call was refused before it was made: it would overrun the run's budget."""


class ScriptExhaustedError(LLMError):
    """The scripted backend was asked for an answer its script does not have."""


class CallCancelled(LLMError):
    """The call was no longer wanted (another candidate had passed): not sent, or its
    answer discarded."""
