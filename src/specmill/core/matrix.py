"""The jobs of a GitHub Actions matrix: affected modules in groups that run apart. Pure.

A group is a weakly connected component of the affected subgraph (affected modules,
and the ``depends_on`` edges between them). A module is generated against its
dependencies' new outputs, so a module and an affected dependency must run in the same
job, in dependency order; two components share no edge, so they can run in separate
jobs and each module is regenerated exactly once. A component is never split.

Components are packed into at most ``max_jobs`` jobs (GitHub allows 256 per matrix),
largest first, each into the job with the fewest modules so far (longest processing
time first, the classic balancing of first-fit decreasing).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from specmill.core.graph import Graph

GITHUB_MATRIX_LIMIT = 256  # jobs per matrix, a GitHub Actions limit


@dataclass(frozen=True)
class Job:
    """One matrix entry: modules in dependency order."""

    modules: tuple[str, ...]

    @property
    def name(self) -> str:
        """``calc +1``: the first module, and how many more (a readable job name)."""
        first, more = self.modules[0], len(self.modules) - 1
        return f"{first} +{more}" if more else first

    def entry(self) -> dict[str, str]:
        return {"name": self.name, "modules": " ".join(self.modules)}


def components(graph: Graph, modules: Sequence[str]) -> list[list[str]]:
    """Weakly connected components of ``modules`` in ``graph``, each in dependency order.

    Components are listed by their first module's place in the dependency order.
    """
    wanted = set(modules)
    parent = {module: module for module in wanted}

    def root(module: str) -> str:
        while parent[module] != module:
            parent[module] = parent[parent[module]]  # path halving
            module = parent[module]
        return module

    for module in wanted:
        for dependency in graph[module].depends_on:
            if dependency in wanted:
                parent[root(module)] = root(dependency)
    grouped: dict[str, list[str]] = {}
    for module in graph.order(wanted):
        grouped.setdefault(root(module), []).append(module)
    return list(grouped.values())


def pack(groups: Sequence[Sequence[str]], max_jobs: int) -> list[list[str]]:
    """Groups into at most ``max_jobs`` jobs, balancing the number of modules per job.

    A job's modules keep the order the groups give them (each group in dependency
    order, groups by the order given), so a job lists them in dependency order too.
    """
    if not 1 <= max_jobs <= GITHUB_MATRIX_LIMIT:
        raise ValueError(f"max_jobs must be between 1 and {GITHUB_MATRIX_LIMIT}")
    count = min(max_jobs, len(groups))
    if count == 0:
        return []
    chosen: list[list[int]] = [[] for _ in range(count)]
    loads = [(0, job) for job in range(count)]  # (modules so far, job index): a min-heap
    by_size = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), i))
    for index in by_size:
        load, job = heapq.heappop(loads)
        chosen[job].append(index)
        heapq.heappush(loads, (load + len(groups[index]), job))
    return [[m for index in sorted(picked) for m in groups[index]] for picked in chosen]


def matrix_jobs(graph: Graph, affected: Sequence[str], max_jobs: int) -> list[Job]:
    """The matrix of ``specmill affected --matrix``: components packed into jobs."""
    packed = pack(components(graph, affected), max_jobs)
    jobs = [Job(tuple(modules)) for modules in packed]
    position = {module: i for i, module in enumerate(graph.order(affected))}
    return sorted(jobs, key=lambda job: position[job.modules[0]])
