"""Progress per module and stage on stderr: live with rich on a terminal, else plain lines."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from specmill.core.records import ModuleResult
from specmill.engine.report import ICONS


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
    """One line per stage: logs, CI and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _line(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def stage(self, module: str, stage: str) -> None:
        self._line(f"{module}: {stage}")

    def finished(self, result: ModuleResult) -> None:
        self._line(f"{result.module}: {outcome_line(result)}")

    def prompt(self, module: str, role: str, tokens: int, cut: Sequence[str]) -> None:
        if cut:  # never silently
            self._line(f"{module}: {cut_line(role, tokens, cut)}")


class RichProgress:
    """A live table: one row per module, its current stage and elapsed time."""

    def __init__(self, modules: Sequence[str]) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("[bold]{task.fields[module]}"),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.fields[tokens]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, Any] = {
            m: self._progress.add_task("waiting", module=m, total=1, tokens="") for m in modules
        }
        self._tokens = dict.fromkeys(modules, 0)
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


def progress_for(
    modules: Sequence[str], stream: IO[str] | None = None
) -> PlainProgress | RichProgress:
    stream = stream or sys.stderr
    if stream.isatty():
        return RichProgress(modules)
    return PlainProgress(stream)
