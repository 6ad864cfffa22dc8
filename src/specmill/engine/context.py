"""What every module of a run shares: project, agents, worktrees, and how to stop."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from specmill.core.project import Project
from specmill.core.records import ModuleResult
from specmill.engine.agents import Agents
from specmill.engine.checks import ProcessGroups, check_environment
from specmill.engine.worktrees import Cancelled, Worktrees
from specmill.llm.events import CallProgress

T = TypeVar("T")


class Progress(Protocol):
    """Where the engine reports what each module is doing (the CLI draws it)."""

    def stage(self, module: str, stage: str) -> None: ...

    def finished(self, result: ModuleResult) -> None: ...

    def prompt(self, module: str, role: str, tokens: int, cut: Sequence[str]) -> None:
        """A prompt about to be sent: its tokens, and the parts cut to fit its limit."""
        ...

    def call_progress(self, progress: CallProgress) -> None:
        """A model call streaming its answer (``specmill.llm.events``)."""
        ...


class NoProgress:
    def stage(self, module: str, stage: str) -> None:
        pass

    def prompt(self, module: str, role: str, tokens: int, cut: Sequence[str]) -> None:
        pass

    def finished(self, result: ModuleResult) -> None:
        pass

    def call_progress(self, progress: CallProgress) -> None:
        pass


@dataclass
class RunContext:
    project: Project
    agents: Agents
    worktrees: Worktrees
    progress: Progress = field(default_factory=NoProgress)
    cancel: threading.Event = field(default_factory=threading.Event)
    groups: ProcessGroups = field(default_factory=ProcessGroups)
    check_env: dict[str, str] = field(default_factory=dict)
    run_id: str = ""  # written into generated headers, so `trace` finds the run record

    def __post_init__(self) -> None:
        self.agents.on_prompt = self.progress.prompt
        self.agents.listener = self.progress
        if not self.check_env:
            self.check_env = check_environment(os.environ, self.project.config)

    def checkpoint(self) -> None:
        """Stop here if the run was interrupted."""
        if self.cancel.is_set():
            raise Cancelled()


def parallel(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``tasks`` in threads; their results in order, or the first one's exception.

    One task runs inline (no thread for nothing). Exceptions of every kind reach the
    caller; Ctrl-C raised in a task (a backend's) does at once, without waiting for the
    other tasks, which the run's cancel event and cleanup then stop.
    """
    if len(tasks) == 1:
        return [tasks[0]()]
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)
    finished: queue.Queue[int] = queue.Queue()

    def run(index: int) -> None:
        try:
            results[index] = tasks[index]()
        except BaseException as exc:
            errors[index] = exc
        finished.put(index)

    for index in range(len(tasks)):
        threading.Thread(target=run, args=(index,), daemon=True).start()
    for _ in tasks:
        error = errors[finished.get()]
        if error is not None and not isinstance(error, Exception):
            raise error
    raised = [e for e in errors if e is not None]
    if raised:
        raise raised[0]
    return results
