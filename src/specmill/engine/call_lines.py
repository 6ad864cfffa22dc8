"""Running model calls as plain lines: one per call every few seconds, for logs and CI.

The transport reports a call only when something happens (a token, the end); a call
waiting minutes for its first token (a small model reading a long prompt on a CPU)
says nothing. So a ticker thread, alive while calls run, prints each running call's
line once ``every`` seconds have passed since its last one, its elapsed time brought
up to date, and a last line when a call that had lines ends.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from specmill.core.printable import printable
from specmill.llm.events import CallProgress

TICK = 0.1  # seconds between two looks at the running calls


def call_line(progress: CallProgress, *, seconds: bool = True) -> str:
    """``planner call (gemma-3-270m): streaming, 1,234 tokens, 56.7 tokens/s, 22 s``."""
    what = f"{progress.role} call ({printable(progress.model, 60)})"
    took = f", {progress.elapsed_s:.0f} s" if seconds else ""
    if progress.first_token_s is None:
        return f"{what}: waiting for the first token{took}"
    rate = progress.tokens_per_s
    speed = f", {rate:.1f} tokens/s" if rate is not None else ""
    verb = "ended" if progress.state == "done" else "streaming"
    return f"{what}: {verb}, {progress.tokens:,} tokens{speed}{took}"


class CallTicker:
    """Prints ``module: call line`` for running calls through ``emit``, at most one line
    a call every ``every`` seconds."""

    def __init__(
        self,
        emit: Callable[[str], None],
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        # call -> (its last report, when it came, elapsed_s at its last line)
        self._running: dict[int, tuple[CallProgress, float, float]] = {}
        self._thread: threading.Thread | None = None

    def report(self, progress: CallProgress) -> None:
        with self._lock:
            if progress.state == "done":
                entry = self._running.pop(progress.call, None)
                last_line = entry is not None and entry[2] > 0
            else:
                printed = self._running.get(progress.call, (progress, 0.0, 0.0))[2]
                self._running[progress.call] = (progress, self._clock(), printed)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._tick, daemon=True)
                    self._thread.start()
                return
        if last_line:
            self._emit(_labelled(progress))

    def due(self) -> list[str]:
        """The lines due now (and marks them printed)."""
        now = self._clock()
        lines = []
        with self._lock:
            for call, (progress, at, printed) in self._running.items():
                elapsed = progress.elapsed_s + (now - at)
                if elapsed - printed >= self._every:
                    self._running[call] = (progress, at, elapsed)
                    lines.append(_labelled(dataclasses.replace(progress, elapsed_s=elapsed)))
        return lines

    def _tick(self) -> None:
        while True:
            time.sleep(TICK)
            for line in self.due():
                self._emit(line)
            with self._lock:
                if not self._running:  # started again by the next call
                    self._thread = None
                    return


def _labelled(progress: CallProgress) -> str:
    return f"{printable(progress.module, 120)}: {call_line(progress)}"
