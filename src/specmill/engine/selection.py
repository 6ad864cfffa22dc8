"""Which modules a ``regen`` run regenerates, and why. Pure.

A fresh module (outputs' headers carry its current inputs hash, bodies untouched)
costs nothing: it is never sent to a model, even when named on the command line.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from specmill.core.affected import affected_modules
from specmill.core.project import Project
from specmill.core.status import ModuleStatus


@dataclass(frozen=True)
class Selection:
    targets: list[str]  # to regenerate, in dependency order
    unchanged: list[str]  # named on the command line, but fresh
    reasons: dict[str, str]


def reason(status: ModuleStatus, dependencies: Collection[str]) -> str:
    states = sorted({o.state for o in status.outputs if o.state != "fresh"})
    if states:
        return ", ".join(states)
    if dependencies:
        return "depends on " + ", ".join(sorted(dependencies))
    return "fresh"


def select_modules(
    project: Project,
    statuses: Sequence[ModuleStatus],
    named: Sequence[str] = (),
    changed: Collection[str] | None = None,
) -> Selection:
    """Named modules that are not fresh, with their stale dependents; else every affected one."""
    assert project.graph is not None
    by_module: Mapping[str, ModuleStatus] = {s.module: s for s in statuses}
    if named:
        for module in named:
            project.spec(module)  # unknown names fail here, listing the known ones
        unchanged = [m for m in named if by_module[m].fresh]
        seeds = [m for m in named if not by_module[m].fresh]
        wanted = project.graph.with_dependents(seeds)  # a stale dependent follows its seed
        targets = [m for m in wanted if m in seeds or not by_module[m].fresh]
    else:
        targets = affected_modules(project, changed)
        unchanged = []
    chosen = set(targets)
    reasons = {
        m: reason(by_module[m], [d for d in project.graph[m].depends_on if d in chosen])
        for m in targets
    }
    return Selection(targets, unchanged, reasons)
