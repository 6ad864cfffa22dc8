"""SIGTERM and SIGHUP, handled like Ctrl-C.

A CI runner cancels a job with SIGTERM (a closed terminal sends SIGHUP). Python's
default for both is to die on the spot: worktrees stayed behind and the checks' process
groups (each in a session of its own, so the signal never reached them) ran on as
orphans. ``signals_as_exceptions`` turns either signal into ``Terminated``, which
unwinds the run the way ``KeyboardInterrupt`` does (checks killed, worktrees removed,
the run record saved); the CLI then exits ``128 + signal``: 143 or 129.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """The process was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Raise ``Terminated`` in the main thread on SIGTERM or SIGHUP, once: a second
    signal during the cleanup is ignored, so that the cleanup finishes."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and receives the exception)
        return
    raised = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if not raised.is_set():
            raised.set()
            raise Terminated(signum)

    previous: dict[signal.Signals, Any] = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for which, old in previous.items():
            signal.signal(which, old)
