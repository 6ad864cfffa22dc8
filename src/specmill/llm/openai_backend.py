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
landed, for the rest of the run (``specmill.llm.negotiated``). Refusals are never
retried; neither is a prompt over the model's context window. A candidate's ``seed``
and ``temperature`` are sent until the endpoint rejects them (reasoning models take no
temperature): then that endpoint and model get requests without them.

Answers are streamed where the endpoint streams (``specmill.llm.streaming``, settled per
endpoint and model the same way): the request's listener sees tokens arrive, and an
answer that loops is stopped while it streams. The output limit is lowered to fit the
model's context window at the endpoint, where the server says what it is
(``specmill.llm.context_window``), and an answer cut off names the limit that cut it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from pydantic import BaseModel

from specmill.core.config import ModelsConfig
from specmill.llm.backend import ChatRequest, ChatResponse
from specmill.llm.budget import Budget
from specmill.llm.call_life import CallLife, Resend, Transient
from specmill.llm.context_window import (
    ContextWindows,
    cut_reason,
    fit_output,
    is_openai_host,
    output_overflowed,
    prompt_tokens,
)
from specmill.llm.conversation import Answer, converse, prompt_chars
from specmill.llm.endpoints import Endpoint, open_endpoint, resolve_base_url
from specmill.llm.errors import ModelError
from specmill.llm.events import ProgressReporter
from specmill.llm.failures import describe_context_overflow, describe_failure
from specmill.llm.negotiated import Negotiated
from specmill.llm.refusals import (
    SAMPLING_WORDS,
    Refusal,
    classify_refusal,
    refused_streaming,
    refuses_parameter,
    rejects_sampling,
)
from specmill.llm.retry import retry_after, should_retry_status
from specmill.llm.streaming import StreamMode, send, weaker_stream
from specmill.llm.structured import (
    Bounds,
    OutputMode,
    format_instruction,
    response_format,
    weaker,
    with_instruction,
)

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

# The output limit's name: OpenAI's o-series and gpt-5 answer 400 "Unsupported parameter:
# 'max_tokens' … Use 'max_completion_tokens' instead." (param "max_tokens"); local servers
# have long known "max_tokens". Start from the host's likely name, swap on that refusal.
LIMIT_NAMES = ("max_tokens", "max_completion_tokens")


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
        self.negotiated = Negotiated()  # per (base_url, model)
        self.windows = ContextWindows()
        # the prompt's tokens as a server counted them in a refusal: (base_url, model,
        # prompt characters) -> tokens, so the request asked again fits its window
        self._counted: dict[tuple[str, str, int], int] = {}

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
            if cached is None:
                cached = open_endpoint(
                    base_url, key_env, timeout=self.models.timeout, label=label, model=model
                )
                self._endpoints[(base_url, key_env)] = cached
            return cached

    def _exchange(
        self,
        endpoint: Endpoint,
        request: ChatRequest[Any],
        messages: list[dict[str, Any]],
        max_output: int,
    ) -> Answer:
        """One request. A refusal of how it was asked (response format, streaming, the
        output limit's name or size, sampling) is remembered and raised as ``Resend``; a
        failure that may pass, as ``Transient``."""
        remembered = (endpoint.base_url, request.model)
        mode = self.mode_for(endpoint.base_url, request.model)
        sent = messages
        if mode != "json_schema":
            sent = with_instruction(messages, format_instruction(request.response_model))
        extra = response_format(request.response_model, mode, bounds=_bounds(endpoint, request))
        params: dict[str, Any] = {} if extra is None else {"response_format": extra}
        window = self.windows.window(endpoint.client, endpoint.base_url, request.model)
        size = (*remembered, prompt_chars(sent))
        with self._lock:
            prompt = self._counted.get(size)
        if prompt is None:
            prompt = prompt_tokens(request.model, sent)
        limit = fit_output(max_output, window.tokens if window else None, prompt)
        if limit:
            params[self._limit_name(endpoint, remembered)] = limit
        params.update(self._sampling(request, remembered))
        streaming = self.stream_mode_for(endpoint.base_url, request.model)
        reporter = ProgressReporter(
            request.listener, role=request.role, module=request.module, model=request.model
        )
        try:
            answer, ignored = send(
                endpoint.client,
                model=request.model,
                messages=sent,
                params=params,
                mode=streaming,
                reporter=reporter,
                scrub=endpoint.scrub,
            )
        except openai.APIError as error:
            raise self._failure(error, endpoint, request, sent, mode, params, streaming) from None
        finally:
            reporter.done()
        if ignored:
            log.info("%s sent one answer, not a stream: not asking it to stream", endpoint.host)
            self.negotiated.settle_stream(remembered, "off")
        elif streaming == "usage" and answer.prompt_tokens is None and not answer.stopped:
            self.negotiated.settle_stream(remembered, "plain")  # stream_options ignored
        cut_by = None
        if answer.truncated:
            cut_by = cut_reason(
                role=request.role,
                role_limit=request.max_output_tokens,
                sent=limit,
                budget_limit=max_output,
                window=self.windows.window(None, *remembered),
                prompt=answer.prompt_tokens,
                completion=answer.completion_tokens,
            )
        return dataclasses.replace(answer, mode=mode, cut_by=cut_by)

    def _failure(
        self,
        error: openai.APIError,
        endpoint: Endpoint,
        request: ChatRequest[Any],
        sent: list[dict[str, Any]],
        mode: OutputMode,
        params: dict[str, Any],
        streaming: StreamMode,
    ) -> Exception:
        """What a failed request means: ask differently, try again, or give up."""
        remembered = (endpoint.base_url, request.model)
        limit_name = next((name for name in LIMIT_NAMES if name in params), None)
        if limit_name is not None and refuses_parameter(error, limit_name):
            other = LIMIT_NAMES[1 - LIMIT_NAMES.index(limit_name)]
            log.info("%s wants %s, not %s", endpoint.host, other, limit_name)
            self.negotiated.use_limit_name(remembered, other)
            return Resend()
        refusal = _refusal(error)
        status = getattr(error, "status_code", None)
        if refusal is not None and refusal.kind == "context":
            size = (*remembered, prompt_chars(sent))
            with self._lock:
                refitted = size in self._counted
            if limit_name is not None and not refitted and output_overflowed(refusal):
                # the prompt fits; prompt plus the output limit did not (vLLM): ask again
                # with the room the server's own count of the prompt leaves
                self.windows.learn_refusal(*remembered, refusal.window or 0)
                with self._lock:
                    self._counted[size] = refusal.prompt_tokens or 0
                return Resend()
            return describe_context_overflow(
                refusal, request=request, host=endpoint.host, messages=sent, status=status
            )
        refused = refused_streaming(error) if streaming != "off" else None
        if refused is not None:
            lower_stream = weaker_stream(streaming, refused)
            log.warning(
                "%s refused %s for %s; asking with %s",
                endpoint.host,
                refused,
                request.model,
                "stream alone" if lower_stream == "plain" else "no streaming",
            )
            self.negotiated.settle_stream(remembered, lower_stream)
            return Resend()
        if any(word in params for word in SAMPLING_WORDS) and rejects_sampling(error):
            log.warning(
                "%s rejected seed/temperature for %s; sending none", endpoint.host, request.model
            )
            self.negotiated.refuse_sampling(remembered)
            return Resend()
        lower = weaker(mode)
        if refusal is not None and self._negotiates() and lower is not None:
            log.warning(
                "%s refused response_format %s for %s (HTTP %s); trying %s",
                endpoint.host, mode, request.model, status or "?", lower,
            )  # fmt: skip
            self.negotiated.settle_mode(remembered, lower)
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
            if isinstance(error, openai.APITimeoutError):
                why = f"nothing came within models.timeout = {self.models.timeout:g} s"
            return Transient(why, wait=wait, give_up=give_up)
        return give_up(1)

    def _limit_name(self, endpoint: Endpoint, remembered: tuple[str, str]) -> str:
        start = LIMIT_NAMES[1 if is_openai_host(endpoint.base_url) else 0]
        return self.negotiated.limit_name(remembered, start)

    def _sampling(self, request: ChatRequest[Any], remembered: tuple[str, str]) -> dict[str, Any]:
        if not self.negotiated.takes_sampling(remembered):
            return {}
        wanted = {"seed": request.seed, "temperature": request.temperature}
        return {key: value for key, value in wanted.items() if value is not None}

    def mode_for(self, base_url: str, model: str) -> OutputMode:
        """The structured-output mode the next call to this model will use."""
        configured = self.models.structured_output
        start: OutputMode = "json_schema" if configured == "auto" else configured
        return self.negotiated.mode((base_url.rstrip("/"), model), start)

    def stream_mode_for(self, base_url: str, model: str) -> StreamMode:
        """How the next call to this model streams: with usage, plainly, or not at all."""
        start: StreamMode = "usage" if self.models.stream else "off"
        return self.negotiated.stream((base_url.rstrip("/"), model), start)

    def _negotiates(self) -> bool:
        return self.models.structured_output == "auto"


def _bounds(endpoint: Endpoint, request: ChatRequest[Any]) -> Bounds:
    """Which size bounds the schema carries (``specmill.llm.structured``): OpenAI's
    strict mode takes maxItems but not maxLength, and neither for fine-tuned models."""
    if is_openai_host(endpoint.base_url):
        return "none" if request.model.startswith("ft:") else "items"
    return "items-and-lengths"


def _refusal(error: BaseException) -> Refusal | None:
    if isinstance(error, openai.APIStatusError):
        return classify_refusal(error.status_code, error.message, error.body)
    return None


def _retryable(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        if _refusal(error) is not None:  # the same request would be refused again
            return False
        return should_retry_status(error.status_code, error.response.headers, error.body)
    return isinstance(error, openai.APIConnectionError)  # timeouts included
