"""The transport to any OpenAI-compatible chat endpoint, through the ``openai`` SDK only.

This module sends one request and says what its failure means; the call's life around
it (concurrency slot, budget, retries, usage, record) is ``specmill.llm.call_life``'s.
The SDK's own retries are off: a failure that may pass (``specmill.llm.retry``'s
policy, which honours ``Retry-After`` as the SDK does) is raised as ``Transient`` and
retried there, where the count, the backoff and their tests stay in our hands.

Structured output is negotiated (``structured_output = "auto"``): ``json_schema``, then
JSON mode with the schema beside it, then JSON mode, then plain prompting, moving down
whenever the endpoint refuses the response format, whatever status code it uses for
that (``specmill.llm.refusals``), and remembering per endpoint and model where it
landed, for the rest of the run. Refusals are never retried; neither is a prompt
over the model's context window. A candidate's ``seed`` and ``temperature`` are sent
until the endpoint rejects them (reasoning models take no temperature): then that
endpoint and model get requests without them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import openai
from pydantic import BaseModel

from specmill.core.config import ModelsConfig
from specmill.llm.backend import ChatRequest, ChatResponse
from specmill.llm.budget import Budget
from specmill.llm.call_life import CallLife, Resend, Transient
from specmill.llm.conversation import Answer, converse
from specmill.llm.errors import ModelError
from specmill.llm.failures import describe_context_overflow, describe_failure
from specmill.llm.refusals import Refusal, classify_refusal
from specmill.llm.retry import retry_after, should_retry_status
from specmill.llm.structured import (
    LADDER,
    OutputMode,
    format_instruction,
    response_format,
    weaker,
    with_instruction,
)
from specmill.secret_file import secret

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when OPENAI_BASE_URL is unset
# Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK refuses to start
# without one.
PLACEHOLDER_KEY = "specmill-no-key"
# The output limit's name: OpenAI's o-series and gpt-5 answer 400 "Unsupported parameter:
# 'max_tokens' … Use 'max_completion_tokens' instead." (param "max_tokens"); local servers
# have long known "max_tokens". Start from the host's likely name, swap on that refusal.
LIMIT_NAMES = ("max_tokens", "max_completion_tokens")
OPENAI_HOSTS = ("api.openai.com", ".openai.azure.com")
SAMPLING_WORDS = ("temperature", "seed")


@dataclass(frozen=True)
class Endpoint:
    client: openai.OpenAI
    base_url: str
    host: str  # host[:port] only: URLs may carry credentials
    key_env: str
    secret: str = field(repr=False)  # never shown; scrubbed from what servers say


def resolve_base_url(models: ModelsConfig, override: str | None = None) -> str:
    """Where a call goes: the override, models.base_url, OPENAI_BASE_URL, else OpenAI."""
    return (
        override
        or models.base_url
        or os.environ.get("OPENAI_BASE_URL")  # an empty value (CI's unset secret) is unset
        or DEFAULT_BASE_URL
    ).rstrip("/")


def host_of(base_url: str) -> str:
    """host[:port] only: URLs may carry credentials."""
    parts = urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class OpenAIBackend:
    """``ChatBackend`` over ``openai.OpenAI``; one client per (base URL, key variable)."""

    def __init__(
        self,
        models: ModelsConfig,
        budget: Budget | None = None,
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.models = models
        self.budget = budget or Budget(prices=models.prices)
        self.life = CallLife(
            self.budget,
            concurrency=models.concurrency,
            retries=models.max_retries,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            sleep=sleep,
        )
        self._lock = threading.Lock()
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._modes: dict[tuple[str, str], OutputMode] = {}  # (base_url, model)
        self._limit_names: dict[tuple[str, str], str] = {}  # (base_url, model)
        self._no_sampling: set[tuple[str, str]] = set()  # rejected seed/temperature

    def complete(self, request: ChatRequest[T]) -> ChatResponse[T]:
        endpoint = self._endpoint(request)
        return converse(
            request,
            lambda messages, max_output: self._exchange(endpoint, request, messages, max_output),
            budget=self.budget,
            reask_limit=self.models.reask_limit,
            added_chars=len(format_instruction(request.response_model)),  # below json_schema
            life=self.life,
        )

    def close(self) -> None:
        with self._lock:
            for endpoint in self._endpoints.values():
                endpoint.client.close()
            self._endpoints.clear()

    def _endpoint(self, request: ChatRequest[Any]) -> Endpoint:
        return self.endpoint(
            request.base_url, request.api_key_env, label=request.label, model=request.model
        )

    def endpoint(
        self,
        base_url: str | None,
        key_env: str | None,
        *,
        label: str = "specmill",
        model: str = "",
    ) -> Endpoint:
        """The (cached) client for an endpoint; None means the config's, then the SDK's."""
        base_url = resolve_base_url(self.models, base_url)
        key_env = key_env or self.models.api_key_env
        with self._lock:
            cached = self._endpoints.get((base_url, key_env))
            if cached is not None:
                return cached
            host = host_of(base_url)
            key = secret(key_env) or ""  # handed over in a file by the action, or exported
            if not key and base_url == DEFAULT_BASE_URL:
                raise ModelError(
                    f"{label}: no API key. Set the environment variable {key_env},"
                    " or point models.base_url (or OPENAI_BASE_URL) at an OpenAI-compatible"
                    " server that needs none (Ollama, vLLM, llama.cpp).",
                    model=model,
                    host=host,
                )
            client = openai.OpenAI(
                api_key=key or PLACEHOLDER_KEY,
                base_url=base_url,
                timeout=self.models.timeout,
                max_retries=0,  # ours: specmill.llm.call_life
            )
            endpoint = Endpoint(client, base_url, host, key_env, key)
            self._endpoints[(base_url, key_env)] = endpoint
            return endpoint

    def _exchange(
        self,
        endpoint: Endpoint,
        request: ChatRequest[Any],
        messages: list[dict[str, Any]],
        max_output: int,
    ) -> Answer:
        """One request. A refusal of how it was asked (response format, the output limit's
        name, sampling) is remembered and raised as ``Resend``; a failure that may pass,
        as ``Transient``."""
        remembered = (endpoint.base_url, request.model)
        mode = self.mode_for(endpoint.base_url, request.model)
        sent = messages
        if mode != "json_schema":
            sent = with_instruction(messages, format_instruction(request.response_model))
        extra = response_format(request.response_model, mode)
        params: dict[str, Any] = {} if extra is None else {"response_format": extra}
        limit_name = self._limit_name(endpoint, remembered)
        if max_output:
            params[limit_name] = max_output
        sampling = self._sampling(request, remembered)
        params.update(sampling)
        try:
            completion = endpoint.client.chat.completions.create(
                model=request.model,
                messages=sent,  # type: ignore[arg-type]  # plain dicts, as the API takes
                **params,
            )
        except openai.APIError as error:
            raise self._failure(error, endpoint, request, sent, mode, params) from None
        return dataclasses.replace(_answer(completion), mode=mode)

    def _failure(
        self,
        error: openai.APIError,
        endpoint: Endpoint,
        request: ChatRequest[Any],
        sent: list[dict[str, Any]],
        mode: OutputMode,
        params: dict[str, Any],
    ) -> Exception:
        """What a failed request means: ask differently, try again, or give up."""
        remembered = (endpoint.base_url, request.model)
        limit_name = next((name for name in LIMIT_NAMES if name in params), None)
        if limit_name is not None and _refuses_parameter(error, limit_name):
            other = LIMIT_NAMES[1 - LIMIT_NAMES.index(limit_name)]
            log.info("%s wants %s, not %s", endpoint.host, other, limit_name)
            with self._lock:
                self._limit_names[remembered] = other
            return Resend()
        refusal = _refusal(error)
        status = getattr(error, "status_code", None)
        if refusal is not None and refusal.kind == "context":
            return describe_context_overflow(
                refusal, request=request, host=endpoint.host, messages=sent, status=status
            )
        if any(word in params for word in SAMPLING_WORDS) and _rejects_sampling(error):
            log.warning(
                "%s rejected seed/temperature for %s; sending none", endpoint.host, request.model
            )
            with self._lock:
                self._no_sampling.add(remembered)
            return Resend()
        lower = weaker(mode)
        if refusal is not None and self._negotiates() and lower is not None:
            log.warning(
                "%s refused response_format %s for %s (HTTP %s); trying %s",
                endpoint.host, mode, request.model, status or "?", lower,
            )  # fmt: skip
            self._settle_mode(remembered, lower)
            return Resend()

        def give_up(attempts: int) -> ModelError:
            return describe_failure(
                error,
                request=request,
                host=endpoint.host,
                key_env=endpoint.key_env,
                secret=endpoint.secret,
                timeout=self.models.timeout,
                attempts=attempts,
                format_refused=mode if refusal is not None else None,
            )

        if _retryable(error):
            wait = None
            if isinstance(error, openai.APIStatusError):
                wait = retry_after(error.response.headers)
            why = f"{status or type(error).__name__} at {endpoint.host}"
            return Transient(why, wait=wait, give_up=give_up)
        return give_up(1)

    def _limit_name(self, endpoint: Endpoint, remembered: tuple[str, str]) -> str:
        host = urlsplit(endpoint.base_url).hostname or ""
        openai_host = host == OPENAI_HOSTS[0] or host.endswith(OPENAI_HOSTS[1])
        with self._lock:
            return self._limit_names.get(remembered, LIMIT_NAMES[1 if openai_host else 0])

    def _sampling(self, request: ChatRequest[Any], remembered: tuple[str, str]) -> dict[str, Any]:
        wanted = {"seed": request.seed, "temperature": request.temperature}
        with self._lock:
            if remembered in self._no_sampling:
                return {}
        return {key: value for key, value in wanted.items() if value is not None}

    def mode_for(self, base_url: str, model: str) -> OutputMode:
        """The structured-output mode the next call to this model will use."""
        configured = self.models.structured_output
        start: OutputMode = "json_schema" if configured == "auto" else configured
        with self._lock:
            return self._modes.get((base_url.rstrip("/"), model), start)

    def _negotiates(self) -> bool:
        return self.models.structured_output == "auto"

    def _settle_mode(self, remembered: tuple[str, str], mode: OutputMode) -> None:
        """Remember a weaker mode; concurrent refusals never move a model back up."""
        with self._lock:
            current = self._modes.get(remembered, LADDER[0])
            if LADDER.index(mode) > LADDER.index(current):
                self._modes[remembered] = mode


def _refusal(error: BaseException) -> Refusal | None:
    if isinstance(error, openai.APIStatusError):
        return classify_refusal(error.status_code, error.message, error.body)
    return None


def _refuses_parameter(error: openai.APIError, name: str) -> bool:
    """A 400 saying that this parameter is not supported (OpenAI's shape, or its words)."""
    if not isinstance(error, openai.APIStatusError) or error.status_code != 400:
        return False
    body = error.body if isinstance(error.body, dict) else {}
    if body.get("param") == name:  # the SDK's body is the "error" object itself
        return True
    return f"'{name}'" in error.message and "unsupported" in error.message.lower()


def _rejects_sampling(error: openai.APIError) -> bool:
    if not isinstance(error, openai.APIStatusError) or error.status_code not in (400, 422):
        return False
    said = f"{error.message} {json.dumps(error.body, default=str)}".lower()
    return any(word in said for word in SAMPLING_WORDS)


def _retryable(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        if _refusal(error) is not None:  # the same request would be refused again
            return False
        return should_retry_status(error.status_code, error.response.headers, error.body)
    return isinstance(error, openai.APIConnectionError)  # timeouts included


def _answer(completion: Any) -> Answer:
    """The text and usage of a chat completion, tolerant of sparse local servers."""
    choices = getattr(completion, "choices", None) or []
    message = choices[0].message if choices else None
    text = (message.content if message else None) or ""
    refusal = getattr(message, "refusal", None)
    if not text and refusal:
        text = f"(the model refused: {refusal})"
    usage = getattr(completion, "usage", None)
    return Answer(
        text=text,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        truncated=bool(choices) and choices[0].finish_reason == "length",
    )
