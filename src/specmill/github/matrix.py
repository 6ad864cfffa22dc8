"""Scale-out: the bundles of one pull request's matrix jobs, read and merged into one.

Each job of ``specmill affected --matrix`` regenerates its modules and writes a bundle;
the final job downloads them all (one directory per artifact) and merges them, so that
one review and one summary report the whole pull request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from specmill.core.records import ModuleResult
from specmill.github.bundle import BUNDLE_FILE, Bundle, read_bundle
from specmill.github.errors import BundleError


def read_bundles(path: str | Path) -> list[Bundle]:
    """One bundle (file or directory), or a directory of them (one per matrix job)."""
    path = Path(path)
    if not path.is_dir() or (path / BUNDLE_FILE).exists():
        return [read_bundle(path)]
    children = sorted(path.iterdir())
    if not children:
        raise BundleError("no bundle in this directory", path=str(path))
    return [read_bundle(child) for child in children]


def merge_bundles(bundles: Sequence[Bundle]) -> Bundle:
    """The bundles of one pull request's matrix jobs as one (one review for them all)."""
    first, rest = bundles[0], bundles[1:]
    for other in rest:
        if other.event != first.event:
            raise BundleError("bundles from different pull requests or commits cannot be merged")
    records = [b.record for b in bundles if b.record is not None]
    modules = [m for r in records for m in r.modules]
    duplicated = sorted(
        {m.module for m in modules if [n.module for n in modules].count(m.module) > 1}
    )
    if duplicated:
        raise BundleError(f"module {duplicated[0]!r} is in more than one bundle")
    graph = {k: v for b in bundles for k, v in b.graph.items()}
    modules = _dependency_order(modules, graph)
    record = None
    if records:
        record = records[0].model_copy(
            update={
                "run_id": "+".join(r.run_id for r in records),
                "started_at": min(r.started_at for r in records),
                "finished_at": max((r.finished_at or r.started_at) for r in records),
                "modules": modules,
                "calls": [c for r in records for c in r.calls],
                "adopted": sorted({a for r in records for a in r.adopted}),
                "adopted_diff": {k: v for r in records for k, v in r.adopted_diff.items()},
            }
        )
    done = {m.module for m in modules}
    patches = [b.patch for b in bundles if b.patch]
    return Bundle(
        specmill_version=first.specmill_version,
        event=first.event,
        reason=first.reason,
        record=record,
        problems=list(dict.fromkeys(p for b in bundles for p in b.problems)),
        requirement_lines={k: v for b in bundles for k, v in b.requirement_lines.items()},
        graph=graph,
        pending=sorted({p for b in bundles for p in b.pending} - done),
        patch="".join(p if p.endswith("\n") else p + "\n" for p in patches) or None,
    )


def _dependency_order(
    modules: list[ModuleResult], graph: dict[str, list[str]]
) -> list[ModuleResult]:
    """Dependencies before dependents (as ``specmill affected`` lists them), else as given."""
    ordered: list[ModuleResult] = []
    by_id = {m.module: m for m in modules}
    seen: set[str] = set()  # a cycle was reported by the core; here it just stops
    # Depth-first without recursion: the graph comes from bundles (untrusted), and a
    # chain of a few thousand modules would exceed Python's recursion limit.
    for root in modules:
        if root.module in seen:
            continue
        seen.add(root.module)
        stack = [(root, iter(graph.get(root.module, [])))]
        while stack:
            module, dependencies = stack[-1]
            dependency = next((d for d in dependencies if d in by_id and d not in seen), None)
            if dependency is None:
                stack.pop()
                ordered.append(module)
            else:
                seen.add(dependency)
                stack.append((by_id[dependency], iter(graph.get(dependency, []))))
    return ordered
