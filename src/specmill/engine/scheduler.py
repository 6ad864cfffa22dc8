"""Dependency-ordered, concurrent execution of modules.

A module starts as soon as every dependency in the run has passed and a worker is
free; dependents of a module that did not pass are skipped with the reason. Workers
are daemon threads, so an interrupted run does not wait for a model call to return:
the main thread cleans up (worktrees, check processes) and leaves.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

R = TypeVar("R")


class Schedule(Generic[R]):
    def __init__(
        self,
        order: Sequence[str],
        dependencies: Mapping[str, Sequence[str]],
        work: Callable[[str], R],
        passed: Callable[[R], bool],
        skip: Callable[[str, str], R],
        *,
        workers: int,
        stop: Callable[[R], str | None] = lambda result: None,
    ) -> None:
        self.order = list(order)
        members = set(order)
        self.dependencies = {m: [d for d in dependencies.get(m, ()) if d in members] for m in order}
        self.work = work
        self.passed = passed
        self.skip = skip
        self.stop = stop
        self.workers = max(1, workers)

    def run(self) -> dict[str, R]:
        """Results by module; re-raises (in this thread) what a worker raised."""
        results: dict[str, R] = {}
        pending = list(self.order)
        running: set[str] = set()
        done: queue.Queue[tuple[str, R | None, BaseException | None]] = queue.Queue()
        stopped: str | None = None

        def worker(module: str) -> None:
            try:
                done.put((module, self.work(module), None))
            except BaseException as exc:  # Ctrl-C from a backend included
                done.put((module, None, exc))

        while pending or running:
            for module in list(pending):
                failed = [
                    d
                    for d in self.dependencies[module]
                    if d in results and not self.passed(results[d])
                ]
                if stopped or failed:
                    why = stopped or f"skipped: its dependency {failed[0]} did not pass"
                    results[module] = self.skip(module, why)
                    pending.remove(module)
                elif len(running) < self.workers and all(
                    d in results for d in self.dependencies[module]
                ):
                    pending.remove(module)
                    running.add(module)
                    threading.Thread(target=worker, args=(module,), daemon=True).start()
            if not running:
                continue
            try:
                module, result, error = done.get(timeout=0.1)
            except queue.Empty:
                continue
            running.discard(module)
            if error is not None:
                raise error
            assert result is not None
            results[module] = result
            stopped = stopped or self.stop(result)
        return {m: results[m] for m in self.order}
