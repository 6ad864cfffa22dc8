"""Which modules to regenerate: stale ones (by inputs hash), then their dependents."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Set

from specmill.core.affected_cache import touches_everything
from specmill.core.project import Project
from specmill.core.spec import Spec
from specmill.core.status import module_status


def input_paths(project: Project, spec: Spec) -> set[str]:
    """Repository files whose change can change ``spec``'s inputs hash."""
    by_id = project.by_id
    paths = {spec.path, *spec.context}
    paths |= {by_id[d].path for d in spec.depends_on if d in by_id}
    return paths


def touched_by(project: Project, spec: Spec, changed: Set[str]) -> bool:
    """Whether ``changed`` (the paths a diff touched) holds an input or output of ``spec``."""
    return bool(input_paths(project, spec) & changed) or any(o in changed for o in spec.outputs)


def touches_every_module(project: Project, changed: Collection[str]) -> bool:
    """Config, governance and prompt overrides are inputs of every module."""
    return touches_everything(project.config_path, project.config.governance, changed)


def affected_modules(project: Project, changed: Collection[str] | None = None) -> list[str]:
    """Modules to regenerate, in dependency order.

    A module is a seed when its outputs are not fresh (its inputs hash differs from
    the headers', or an output is missing or edited); with ``changed`` (the paths a
    diff touched) only modules whose inputs or outputs the diff touched are looked
    at, so a pull request does not regenerate what it did not change. Transitive
    dependents follow.
    """
    assert project.graph is not None
    candidates: Iterable[Spec] = project.specs
    if changed is not None and not touches_every_module(project, changed):
        changed_set = set(changed)
        candidates = [spec for spec in project.specs if touched_by(project, spec, changed_set)]
    seeds = {spec.id for spec in candidates if not module_status(project, spec).fresh}
    return project.graph.with_dependents(seeds)
