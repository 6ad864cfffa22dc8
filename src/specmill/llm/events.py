"""What a model call tells whoever watches it while it runs (the progress display).

The transport reports each exchange of a call as it streams: tokens so far, seconds
since the request went out, and when the first token came. A listener is handed in
with the request (``ChatRequest.listener``); the transport never prints anything
itself. Reports come at most every ``REPORT_EVERY`` seconds, plus the first token and
the end, so a fast stream cannot flood a terminal or a CI log.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

REPORT_EVERY = 0.25  # seconds between two reports of one exchange
State = Literal["waiting", "streaming", "done"]
_ids = itertools.count(1)
_ids_lock = threading.Lock()


@dataclass(frozen=True)
class CallProgress:
    """One exchange of a call, as it stands; ``call`` tells concurrent exchanges apart."""

    call: int
    role: str
    module: str
    model: str
    state: State
    tokens: int  # answer tokens so far (the server's count when it gave one)
    elapsed_s: float  # since the request was sent
    first_token_s: float | None = None  # None: no token yet

    @property
    def tokens_per_s(self) -> float | None:
        """Generation speed since the first token; None before there is one to measure."""
        if self.first_token_s is None:
            return None
        generating = self.elapsed_s - self.first_token_s
        return self.tokens / generating if generating > 0 else None


class CallListener(Protocol):
    def call_progress(self, progress: CallProgress) -> None: ...


class ProgressReporter:
    """Turns one exchange's stream into throttled ``CallProgress`` reports."""

    def __init__(
        self,
        listener: CallListener | None,
        *,
        role: str,
        module: str,
        model: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._listener = listener
        self._clock = clock
        with _ids_lock:
            call = next(_ids)
        self._base = CallProgress(call, role, module, model, "waiting", 0, 0.0)
        self.started = clock()
        self.first_token_s: float | None = None
        self.tokens = 0
        self._last_report = float("-inf")
        self._report("waiting", force=True)

    def token(self, count: int = 1) -> None:
        """``count`` more tokens arrived."""
        first = self.first_token_s is None
        if first:
            self.first_token_s = self._clock() - self.started
        self.tokens += count
        self._report("streaming", force=first)

    def usage(self, completion_tokens: int) -> None:
        """The server's own count, which replaces ours."""
        self.tokens = completion_tokens

    def done(self) -> None:
        self._report("done", force=True)

    def elapsed(self) -> float:
        return self._clock() - self.started

    def _report(self, state: State, *, force: bool = False) -> None:
        if self._listener is None:
            return
        now = self._clock()
        if not force and now - self._last_report < REPORT_EVERY:
            return
        self._last_report = now
        self._listener.call_progress(
            dataclasses.replace(
                self._base,
                state=state,
                tokens=self.tokens,
                elapsed_s=round(now - self.started, 3),
                first_token_s=self.first_token_s,
            )
        )
