"""The module graph as a picture: dependencies left, dependents right, coloured by state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NODE_WIDTH, NODE_HEIGHT = 190, 26
COLUMN, ROW, MARGIN = 250, 36, 10
LABEL_CHARS = 26


@dataclass(frozen=True)
class Node:
    module: str
    label: str  # cut to fit the box; the full id is in the tooltip
    state: str
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int
    title: str


@dataclass(frozen=True)
class GraphPicture:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int


def depths(modules: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """0 for a module without dependencies, else one more than its deepest dependency.
    A cycle (an invalid project still gets a picture) stops where it closes."""
    known = set(modules)
    found: dict[str, int] = {}

    def depth(module: str, seen: frozenset[str]) -> int:
        if module in found:
            return found[module]
        deps = [d for d in depends_on.get(module, ()) if d in known and d not in seen]
        value = 1 + max((depth(d, seen | {module}) for d in deps), default=-1)
        found[module] = value
        return value

    for module in modules:
        depth(module, frozenset())
    return found


def label(module: str) -> str:
    return module if len(module) <= LABEL_CHARS else module[: LABEL_CHARS - 1] + "…"


def layout(
    modules: Sequence[str], depends_on: Mapping[str, Sequence[str]], states: Mapping[str, str]
) -> GraphPicture:
    level = depths(modules, depends_on)
    rows: dict[int, int] = {}
    where: dict[str, tuple[int, int]] = {}
    nodes = []
    for module in modules:
        column = level[module]
        row = rows.get(column, 0)
        rows[column] = row + 1
        x, y = MARGIN + column * COLUMN, MARGIN + row * ROW
        where[module] = (x, y)
        nodes.append(Node(module, label(module), states.get(module, "fresh"), x, y))
    edges = []
    for module in modules:
        x, y = where[module]
        for dependency in depends_on.get(module, ()):
            if dependency in where:
                dx, dy = where[dependency]
                edges.append(
                    Edge(
                        dx + NODE_WIDTH,
                        dy + NODE_HEIGHT // 2,
                        x,
                        y + NODE_HEIGHT // 2,
                        f"{module} depends on {dependency}",
                    )
                )
    columns = max(rows, default=0) + 1
    height = MARGIN * 2 + max(rows.values(), default=1) * ROW
    width = MARGIN * 2 + (columns - 1) * COLUMN + NODE_WIDTH
    return GraphPicture(tuple(nodes), tuple(edges), width, height)
