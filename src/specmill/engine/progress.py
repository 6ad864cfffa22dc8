"""Progress per module and stage on stderr: live with rich on a terminal, else plain lines.

Model calls that stream their answer show too: on a terminal a live row per running
call (module, role, model, tokens so far, tokens a second), in a log or CI a line per
call every ``LINE_EVERY`` seconds at most (``specmill.engine.call_lines``).
Quiet (``-q``) prints only what must never pass silently: prompts cut to fit.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from rich.markup import escape

from specmill.core.printable import printable
from specmill.core.records import ModuleResult
from specmill.engine.call_lines import CallTicker, call_line
from specmill.engine.report import ICONS
from specmill.llm.events import CallProgress

LINE_EVERY = 5.0  # seconds between two plain lines about one call


def outcome_line(result: ModuleResult) -> str:
    text = f"{ICONS.get(result.status, '')} {result.status}"
    if result.status == "passed":
        text += f" after {result.attempts} attempt(s)"
        if result.disagreement:
            text += " (verifiers disagree)"
    elif result.error:
        text += f": {result.error.splitlines()[0]}"
    return text


def cut_line(role: str, tokens: int, cut: Sequence[str]) -> str:
    return f"{role} prompt cut to {tokens:,} tokens to fit its limit: left out {', '.join(cut)}"


class PlainProgress:
    """One line per stage: logs, CI and pipes; ``quiet``: only prompt cuts."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        quiet: bool = False,
        every: float | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()
        self._calls = CallTicker(self._line, LINE_EVERY if every is None else every)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _line(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def stage(self, module: str, stage: str) -> None:
        if not self.quiet:
            self._line(f"{module}: {stage}")

    def finished(self, result: ModuleResult) -> None:
        if not self.quiet:
            self._line(f"{result.module}: {outcome_line(result)}")

    def prompt(self, module: str, role: str, tokens: int, cut: Sequence[str]) -> None:
        if cut:  # never silently
            self._line(f"{module}: {cut_line(role, tokens, cut)}")

    def call_progress(self, progress: CallProgress) -> None:
        if not self.quiet:
            self._calls.report(progress)


class RichProgress:
    """A live table: one row per module, its current stage and elapsed time."""

    def __init__(self, modules: Sequence[str], console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("[bold]{task.fields[module]}"),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.fields[tokens]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, Any] = {
            m: self._progress.add_task("waiting", module=m, total=1, tokens="") for m in modules
        }
        self._tokens = dict.fromkeys(modules, 0)
        self._calls: dict[int, Any] = {}  # a running call's row
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def stage(self, module: str, stage: str) -> None:
        self._progress.update(self._tasks[module], description=stage)

    def prompt(self, module: str, role: str, tokens: int, cut: Sequence[str]) -> None:
        with self._lock:
            self._tokens[module] = total = self._tokens.get(module, 0) + tokens
        if module in self._tasks:
            self._progress.update(self._tasks[module], tokens=f"{total:,} prompt tokens")
        if cut:
            self._progress.console.print(f"{module}: {cut_line(role, tokens, cut)}", markup=False)

    def finished(self, result: ModuleResult) -> None:
        task = self._tasks.get(result.module)
        if task is not None:
            self._progress.update(task, description=outcome_line(result), completed=1)

    def call_progress(self, progress: CallProgress) -> None:
        """A row per running call under the modules, gone when the call ends."""
        with self._lock:
            row = self._calls.get(progress.call)
            if progress.state == "done":
                self._calls.pop(progress.call, None)
            elif row is None:
                row = self._progress.add_task(
                    "", module=f"  {escape(printable(progress.module, 120))}", total=None, tokens=""
                )
                self._calls[progress.call] = row
        if row is None:
            return
        if progress.state == "done":
            self._progress.remove_task(row)
        else:
            self._progress.update(row, description=escape(call_line(progress, seconds=False)))


def progress_for(
    modules: Sequence[str], stream: IO[str] | None = None, *, quiet: bool = False
) -> PlainProgress | RichProgress:
    stream = stream or sys.stderr
    if stream.isatty() and not quiet:
        return RichProgress(modules)
    return PlainProgress(stream, quiet=quiet)
