"""The context window an endpoint serves a model with, learned where the server says it.

A local server gives a model a window of its own, often far below what the model was
trained for and shared out between parallel slots: ``llama-server -c 16384
--parallel 2`` gives each request 8,192 tokens, prompt and answer together. specmill
learns it per endpoint and model, from what the server says (docs/servers.md):

- llama.cpp's ``llama-server``: ``GET /props`` at the server's root,
  ``default_generation_settings.n_ctx`` (one slot's window); newer builds also put it
  in the model list, ``meta.n_ctx`` (``meta.n_ctx_train`` is the training length,
  not the window, and is not used);
- vLLM: the model list's ``max_model_len``;
- any server's refusal of a prompt over the window that names the number
  (``specmill.llm.refusals``), which wins over the rest: it is what was enforced.

With it, a call's output limit is lowered so that prompt and answer fit (vLLM refuses
a request whose prompt plus ``max_tokens`` overflows; llama.cpp stops generating at
the window's end), and an answer cut off is said to be cut by the right limit.
OpenAI's and Azure's hosts are not probed: they answer neither route.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai

from specmill.llm.budget import estimate_tokens
from specmill.llm.conversation import prompt_chars
from specmill.llm.refusals import Refusal
from specmill.llm.tokens import counter

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # seconds: a server that answers chat answers these at once
OPENAI_HOSTS = ("api.openai.com", ".openai.azure.com")
SAFETY_TOKENS = 16  # the chat template's tokens that a prompt count may miss
MIN_ANSWER_TOKENS = 256  # a window with less room than this for the answer is too small


@dataclass(frozen=True)
class Window:
    tokens: int
    source: str  # where it was learned, as doctor shows it


def is_openai_host(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host == OPENAI_HOSTS[0] or host.endswith(OPENAI_HOSTS[1])


def server_root(base_url: str) -> str:
    """Where llama-server's own routes live: the base URL without its ``/v1``."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def window_in_props(body: object) -> Window | None:
    settings = body.get("default_generation_settings") if isinstance(body, dict) else None
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    return (
        Window(n_ctx, "llama.cpp /props") if isinstance(n_ctx, int) and _positive(n_ctx) else None
    )


def windows_in_listing(items: Iterable[Any]) -> dict[str, Window]:
    """Model id -> window, for the models whose listing says it (vLLM, llama.cpp)."""
    found: dict[str, Window] = {}
    for item in items:
        entry = item.model_dump() if hasattr(item, "model_dump") else item
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        meta = entry.get("meta")
        n_ctx = meta.get("n_ctx") if isinstance(meta, dict) else None
        max_model_len = entry.get("max_model_len")
        if isinstance(max_model_len, int) and _positive(max_model_len):
            found[entry["id"]] = Window(max_model_len, "model list (max_model_len)")
        elif isinstance(n_ctx, int) and _positive(n_ctx):
            found[entry["id"]] = Window(n_ctx, "model list (meta.n_ctx)")
    return found


def prompt_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    """The prompt's size for fitting the window: exact where the tokenizer is here, else
    the typical estimate (one too low is corrected by the server's refusal; one too high
    would cut answers that fit)."""
    tokenizer = counter(model)
    if tokenizer.exact:
        return tokenizer.count_messages(messages)
    return estimate_tokens(prompt_chars(messages))


def output_overflowed(refusal: Refusal) -> bool:
    """Whether a context refusal was about the output limit: the prompt alone fits."""
    if refusal.window is None or refusal.prompt_tokens is None:
        return False
    return refusal.prompt_tokens + MIN_ANSWER_TOKENS <= refusal.window


def fit_output(limit: int, window: int | None, prompt_tokens: int) -> int:
    """The output limit to send: ``limit`` (0: none) lowered so the prompt and the
    answer fit the window; at least 1, so the server, not a guess, says it is full."""
    if window is None:
        return limit
    room = max(1, window - prompt_tokens - SAFETY_TOKENS)
    return room if not limit or room < limit else limit


class ContextWindows:
    """What each endpoint said its windows are; thread-safe, each route asked once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: dict[tuple[str, str], Window] = {}
        self._props: dict[str, Window | None] = {}
        self._listed: dict[str, dict[str, Window]] = {}

    def learn_refusal(self, base_url: str, model: str, tokens: int) -> None:
        with self._lock:
            self._refused[(base_url, model)] = Window(tokens, "the server's refusal")

    def learn_listing(self, base_url: str, items: Iterable[Any]) -> None:
        found = windows_in_listing(items)
        with self._lock:
            self._listed[base_url] = found

    def window(self, client: openai.OpenAI | None, base_url: str, model: str) -> Window | None:
        """The model's window at this endpoint; asks the server once, given a client."""
        if client is not None and not is_openai_host(base_url):
            self._probe(client, base_url)
        with self._lock:
            listed = self._listed.get(base_url, {})
            single = next(iter(listed.values())) if len(listed) == 1 else None
            return (
                self._refused.get((base_url, model))
                or self._props.get(base_url)
                or listed.get(model)
                or single  # llama-server serves its one model whatever it is called
            )

    def _probe(self, client: openai.OpenAI, base_url: str) -> None:
        with self._lock:  # one probe at a time: threads that start together wait for it
            quick = client.with_options(timeout=PROBE_TIMEOUT, max_retries=0)
            if base_url not in self._props:
                props = _get(quick, f"{server_root(base_url)}/props")
                self._props[base_url] = window_in_props(props)
            if base_url not in self._listed:
                listing = _get(quick, f"{base_url}/models")
                data = listing.get("data") if isinstance(listing, dict) else None
                self._listed[base_url] = windows_in_listing(data if isinstance(data, list) else [])


def _get(client: openai.OpenAI, url: str) -> object:
    try:
        return client.get(url, cast_to=object)
    except (openai.APIError, ValueError, TypeError) as error:  # no such route: nothing said
        log.debug("no context window at %s: %s", url, type(error).__name__)
        return None


def _positive(value: int) -> bool:
    return not isinstance(value, bool) and value > 0


def cut_reason(
    *,
    role: str,
    role_limit: int,
    sent: int,
    budget_limit: int,
    window: Window | None,
    prompt: int | None,
    completion: int | None,
) -> str:
    """Which limit cut an answer (``finish_reason`` "length"), in the user's words.

    ``role_limit`` is models.max_output_tokens for the role, ``budget_limit`` that
    limit as the budget left it, ``sent`` what went out after fitting the window.
    """
    both = f"; the prompt took {prompt:,}" if prompt is not None else ""
    if window is not None and (
        sent < budget_limit
        or not sent
        or (
            prompt is not None
            and completion is not None
            and prompt + completion >= window.tokens - SAFETY_TOKENS
        )
    ):
        return (
            f"the server's context window ({window.tokens:,} tokens for prompt and answer"
            f" together{both}), not at specmill's output limit"
        )
    if sent and completion is not None and completion < sent - 1:
        total = f" ({prompt + completion:,} tokens in all)" if prompt is not None else ""
        return (
            f"a limit of the server's own, most likely its context window{total}, not at"
            f" specmill's output limit of {sent:,} tokens"
        )
    if sent and sent == role_limit:
        return f"the output token limit (models.max_output_tokens.{role} = {sent:,})"
    if sent:
        return f"the output limit the run's budget left room for ({sent:,} tokens)"
    return "the server's own output limit (specmill sent none)"
