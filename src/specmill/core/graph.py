"""The module graph from ``depends_on``: resolution, dependency order, dependents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

from specmill.core.spec import Spec
from specmill.errors import GraphError


@dataclass(frozen=True)
class Graph:
    specs: dict[str, Spec]
    _dependents: dict[str, frozenset[str]] = field(repr=False)
    _order: tuple[str, ...] = field(repr=False)

    def __getitem__(self, module: str) -> Spec:
        return self.specs[module]

    def __contains__(self, module: object) -> bool:
        return module in self.specs

    def order(self, modules: Iterable[str] | None = None) -> list[str]:
        """``modules`` (default: all) with every module after its dependencies."""
        if modules is None:
            return list(self._order)
        wanted = set(modules)
        return [module for module in self._order if module in wanted]

    def dependents(self, modules: Iterable[str]) -> set[str]:
        """Transitive dependents of ``modules`` (not including them)."""
        start = set(modules)
        seen: set[str] = set()
        stack = list(start)
        while stack:
            for dependent in self._dependents.get(stack.pop(), ()):
                if dependent not in seen:
                    seen.add(dependent)
                    stack.append(dependent)
        return seen - start

    def with_dependents(self, modules: Iterable[str]) -> list[str]:
        start = set(modules)
        return self.order(start | self.dependents(start))


def build_graph(specs: Iterable[Spec]) -> Graph:
    by_id: dict[str, Spec] = {}
    for spec in sorted(specs, key=attrgetter("path")):
        if spec.id in by_id:
            raise GraphError(
                f"module id {spec.id!r} is also used by {by_id[spec.id].path}",
                path=spec.path,
                line=spec.line_of("id:"),
            )
        by_id[spec.id] = spec
    dependents: dict[str, set[str]] = {}  # only modules something depends on
    for spec in by_id.values():
        for dependency in spec.depends_on:
            if dependency not in by_id:
                raise GraphError(
                    f"depends_on: unknown module {dependency!r}" + _did_you_mean(dependency, by_id),
                    path=spec.path,
                    line=spec.line_of(dependency),
                )
            if dependency == spec.id:
                raise GraphError(
                    f"depends_on: {spec.id} depends on itself",
                    path=spec.path,
                    line=spec.line_of(dependency),
                )
            dependents.setdefault(dependency, set()).add(spec.id)
    order = _topological_order(by_id)
    return Graph(by_id, {k: frozenset(v) for k, v in dependents.items()}, tuple(order))


def _topological_order(specs: dict[str, Spec]) -> list[str]:
    """Depth-first, deterministic (sorted); a cycle is an error naming the chain."""
    done: set[str] = set()
    order: list[str] = []
    for root in sorted(specs):
        if root in done:
            continue
        if not specs[root].depends_on:  # most modules: nothing to walk
            done.add(root)
            order.append(root)
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(root, sorted(specs[root].depends_on))]
        path.append(root)
        on_path.add(root)
        while stack:
            module, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.discard(module)
                done.add(module)
                order.append(module)
                continue
            dependency = pending.pop(0)
            if dependency in done:
                continue
            if dependency in on_path:
                chain = [*path[path.index(dependency) :], dependency]
                spec = specs[module]
                raise GraphError(
                    "dependency cycle: " + " -> ".join(chain),
                    path=spec.path,
                    line=spec.line_of(dependency),
                )
            path.append(dependency)
            on_path.add(dependency)
            stack.append((dependency, sorted(specs[dependency].depends_on)))
    return order


def _did_you_mean(name: str, known: dict[str, Spec]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def mermaid(graph: Graph, highlight: Iterable[str] = ()) -> str:
    """A Mermaid flowchart: an arrow from each module to what it depends on."""
    marked = set(highlight)
    lines = ["graph LR"]
    order = graph.order()
    node = {module: f"m{index}" for index, module in enumerate(order)}
    for module in order:
        lines.append(f'  {node[module]}["{module}"]')
    for module in order:
        for dependency in sorted(graph[module].depends_on):
            lines.append(f"  {node[module]} --> {node[dependency]}")
    if marked:
        lines.append("  classDef affected fill:#fde68a,stroke:#b45309")
        lines.extend(f"  class {node[m]} affected" for m in graph.order(marked))
    return "\n".join(lines)
