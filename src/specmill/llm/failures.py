"""Turn the SDK's last error into a ``ModelError`` a user can act on.

The message names the model, the endpoint's host, the HTTP status and what to do. It
never carries the API key: a server may echo it (OpenAI's 401 shows part of it), so
401/403 messages leave the server's words out, and any other message scrubs them.
"""

from __future__ import annotations

from typing import Any

import openai

from specmill.llm.backend import ChatRequest
from specmill.llm.budget import estimate_tokens
from specmill.llm.conversation import excerpt, prompt_chars
from specmill.llm.errors import ContextWindowExceeded, ModelError
from specmill.llm.refusals import Refusal

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
    format_refused: str | None = None,
) -> ModelError:
    """A ``ModelError`` for ``request``, which failed with ``error`` after ``attempts``.

    ``format_refused`` names the structured-output mode the server refused, when it
    did, so the advice is about ``structured_output`` whatever the status code.
    """
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
        advice = _advice(status, key_env)
        if format_refused is not None:
            advice = (
                f"The endpoint refused response_format {format_refused}: set"
                ' models.structured_output = "auto" (it finds the mode that works) or'
                ' "none".'
            )
        text = f"{where}: HTTP {status}{_said(error, secret)} ({tries}). {advice}"
    else:
        text = f"{where}: {type(error).__name__} ({tries})."
    return ModelError(text, model=request.model, host=host, status=status)


def describe_context_overflow(
    refusal: Refusal,
    *,
    request: ChatRequest[Any],
    host: str,
    messages: list[dict[str, Any]],
    status: int | None = None,
) -> ContextWindowExceeded:
    """The prompt does not fit: its size, the model's window, and what to do."""
    estimate = estimate_tokens(prompt_chars(messages))
    size = f"about {estimate:,} tokens by specmill's estimate"
    if refusal.prompt_tokens is not None:
        size = f"{refusal.prompt_tokens:,} tokens as the server counted it"
    window = (
        f"its context window of {refusal.window:,} tokens"
        if refusal.window is not None
        else "its context window"
    )
    text = (
        f"{request.label} to {host}: the prompt ({size}) does not fit {window};"
        " the call was not retried. Give this role a model with a larger context"
        " window, raise the server's context size (llama.cpp -c/--ctx-size,"
        " llama-cpp-python --n_ctx, Ollama num_ctx, vLLM --max-model-len), or make"
        f" the prompt smaller (fewer context files or a smaller module for {request.module})."
    )
    return ContextWindowExceeded(text, model=request.model, host=host, status=status)


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
