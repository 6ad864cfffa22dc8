"""No workflow command in specmill's output unless specmill composed it.

The Actions runner reads every line a step prints, on stdout and stderr, as a workflow
command when it begins with ``::`` after leading whitespace (``::add-mask::``,
``::set-output …``, ``::stop-commands::``), or when it contains the legacy ``##[``
form anywhere. Config values, spec text, model answers and error messages reach
specmill's output from many places, so the escaping sits at the output edge: in Actions
(``GITHUB_ACTIONS=true``), ``guarded_output`` puts a ``CommandGuard`` in front of
``sys.stdout`` and ``sys.stderr``, and only ``emit_command`` (the annotations specmill
composes itself) writes a line that the runner will obey.

Lines end where the runner's reader ends them: at ``\\n``, ``\\r`` or ``\\r\\n``. A line
that would open a command gets a ``\\`` in front; ``##[`` becomes ``##\\[``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import sys
import threading

TYPE_CHECKING = False  # the hooks import this module: no `typing` for its constant
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import TextIO, TypeVar

    R = TypeVar("R")

ESCAPE = "\\"
_BREAK = re.compile(r"(\r\n|\r|\n)")
_LEGACY = "##["


class CommandGuard(io.TextIOBase):
    """A text stream that escapes every line written to it (see the module docstring).

    The start of a line is held until it is known whether it opens a command (only
    whitespace or a lone ``:`` so far), and a trailing ``#`` or ``##`` until the next
    character, so that a command split over several writes is caught too.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.RLock()
        self._held = ""  # the current line's text not yet written
        self._opened = False  # the current line's start is written: it opens no command

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.stream.fileno()

    def write(self, text: str) -> int:
        with self._lock:
            parts = _BREAK.split(text)
            for index, part in enumerate(parts):
                if index % 2:  # a line break
                    self._write_held(final=True)
                    self.stream.write(part)
                    self._opened = False
                else:
                    self._held += part
                    self._write_held(final=False)
        return len(text)

    def write_command(self, line: str) -> None:
        """A workflow command specmill composed: written as it is, on a line of its own."""
        with self._lock:
            if self._held or self._opened:
                self._write_held(final=True)
                self.stream.write("\n")
                self._opened = False
            self.stream.write(line.replace("\r", "%0D").replace("\n", "%0A") + "\n")

    def _write_held(self, *, final: bool) -> None:
        text = self._held
        if not self._opened:
            start = text.lstrip()
            if not final and start in ("", ":"):
                return  # not known yet whether this line opens a command
            if start.startswith("::"):
                text = ESCAPE + text
            self._opened = True
        keep = 0  # a "#" or "##" at the end may become "##[" with the next write
        if not final:
            keep = 2 if text.endswith("##") else 1 if text.endswith("#") else 0
        written, self._held = text[: len(text) - keep], text[len(text) - keep :]
        self.stream.write(written.replace(_LEGACY, "##" + ESCAPE + "["))

    def flush(self) -> None:
        with self._lock:
            self.stream.flush()

    def finish(self) -> None:
        """Write what is held (the end of the output) and flush."""
        with self._lock:
            if self._held:
                self._write_held(final=True)
            self.stream.flush()


def emit_command(out: TextIO, line: str) -> None:
    """Print a workflow command that specmill composed (its values already escaped)."""
    if isinstance(out, CommandGuard):
        out.write_command(line)
    else:
        print(line, file=out)


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


@contextlib.contextmanager
def guarded_output(environ: Mapping[str, str] = os.environ) -> Iterator[None]:
    """In Actions, escape everything printed on stdout and stderr while inside."""
    if not in_actions(environ):
        yield
        return
    out, err = sys.stdout, sys.stderr
    guards = CommandGuard(out), CommandGuard(err)
    sys.stdout, sys.stderr = guards
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        for guard in guards:
            with contextlib.suppress(OSError, ValueError):
                guard.finish()


def guarded(main: Callable[..., R]) -> Callable[..., R]:
    """``main`` (a hook's entry point) with its output guarded, as the CLI's is."""

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> R:
        with guarded_output():
            return main(*args, **kwargs)

    return wrapper
