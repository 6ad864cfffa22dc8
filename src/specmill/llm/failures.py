"""Turn the SDK's last error into a ``ModelError`` a user can act on.

The message names the model, the endpoint's host, the HTTP status and what to do. It
never carries the API key: a server may echo it (OpenAI's 401 shows part of it), so
401/403 messages leave the server's words out, and any other message scrubs them.
"""

from __future__ import annotations

from typing import Any

import openai

from specmill.llm.backend import ChatRequest
from specmill.llm.conversation import excerpt
from specmill.llm.errors import ModelError

SERVER_MESSAGE_CHARS = 300


def describe_failure(
    error: openai.APIError,
    *,
    request: ChatRequest[Any],
    host: str,
    key_env: str,
    secret: str,
    timeout: float,
    attempts: int,
) -> ModelError:
    """A ``ModelError`` for ``request``, which failed with ``error`` after ``attempts``."""
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    where = f"{request.label} to {host}"
    status: int | None = None
    if isinstance(error, openai.APITimeoutError):
        text = (
            f"{where}: no answer within models.timeout = {timeout:g} s ({tries})."
            " Raise models.timeout if the model is slow, or check that the server is up."
        )
    elif isinstance(error, openai.APIConnectionError):
        text = (
            f"{where}: could not connect ({tries}). Check models.base_url (or"
            " OPENAI_BASE_URL) and that the server is running."
        )
    elif isinstance(error, openai.APIStatusError):
        status = error.status_code
        text = f"{where}: HTTP {status}{_said(error, secret)} ({tries}). {_advice(status, key_env)}"
    else:
        text = f"{where}: {type(error).__name__} ({tries})."
    return ModelError(text, model=request.model, host=host, status=status)


def _said(error: openai.APIStatusError, secret: str) -> str:
    """What the server said, scrubbed, then shortened (a cut key would slip through)."""
    if error.status_code in (401, 403):
        return ""
    body = error.body
    said: object = body.get("message") if isinstance(body, dict) else body
    if not isinstance(said, str) or not said.strip():
        return ""
    said = " ".join(said.split())
    if secret:
        said = said.replace(secret, "***")
    return f": {excerpt(said, SERVER_MESSAGE_CHARS)}"


def _advice(status: int, key_env: str) -> str:
    if status in (401, 403):
        return (
            f"The endpoint refused the API key in ${key_env}: check that variable"
            " (a verifier on another provider names its own in api_key_env)."
        )
    if status == 404:
        return (
            "Check the model name in [specmill.models] and that base_url is the API root"
            " (usually ending in /v1)."
        )
    if status == 429:
        return (
            "Rate limited: lower models.concurrency, raise models.max_retries, or try"
            " again later; if the message mentions quota, check the account's billing."
        )
    if status >= 500:
        return "The server failed: try again later, or raise models.max_retries."
    if status in (400, 422):
        return (
            "The endpoint rejected the request; if it is about response_format, set"
            ' models.structured_output = "auto" or "none".'
        )
    return "Check the endpoint's configuration in [specmill.models]."
