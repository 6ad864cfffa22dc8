"""What each endpoint and model turned out to accept, for the rest of the run.

The openai backend starts every endpoint and model from the strongest request and
steps down when the server refuses part of it: the structured-output mode (``LADDER``),
the output limit's name, the sampling parameters, streaming (``STREAM_MODES``). What it
settled on is kept here, per (base URL, model), so later calls start there. Thread-safe;
concurrent refusals never move an endpoint back up a ladder.
"""

from __future__ import annotations

import threading
from typing import TypeVar

from specmill.llm.streaming import STREAM_MODES, StreamMode
from specmill.llm.structured import LADDER, OutputMode

Key = tuple[str, str]  # (base URL, model)
S = TypeVar("S", bound=str)


class Negotiated:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._modes: dict[Key, OutputMode] = {}
        self._streams: dict[Key, StreamMode] = {}
        self._limit_names: dict[Key, str] = {}
        self._no_sampling: set[Key] = set()

    def mode(self, key: Key, start: OutputMode) -> OutputMode:
        with self._lock:
            return self._modes.get(key, start)

    def settle_mode(self, key: Key, mode: OutputMode) -> None:
        with self._lock:
            _lower(self._modes, key, mode, LADDER)

    def stream(self, key: Key, start: StreamMode) -> StreamMode:
        with self._lock:
            return self._streams.get(key, start)

    def settle_stream(self, key: Key, mode: StreamMode) -> None:
        with self._lock:
            _lower(self._streams, key, mode, STREAM_MODES)

    def limit_name(self, key: Key, start: str) -> str:
        with self._lock:
            return self._limit_names.get(key, start)

    def use_limit_name(self, key: Key, name: str) -> None:
        with self._lock:
            self._limit_names[key] = name

    def takes_sampling(self, key: Key) -> bool:
        with self._lock:
            return key not in self._no_sampling

    def refuse_sampling(self, key: Key) -> None:
        with self._lock:
            self._no_sampling.add(key)


def _lower(settled: dict[Key, S], key: Key, step: S, ladder: tuple[S, ...]) -> None:
    """Move ``key`` down to ``step``, never back up (lock held)."""
    current = settled.get(key, ladder[0])
    if ladder.index(step) > ladder.index(current):
        settled[key] = step
