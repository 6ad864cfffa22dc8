"""The matrix's jobs: components of the affected subgraph, packed into few jobs."""

from __future__ import annotations

import pytest

from specmill.core.graph import build_graph
from specmill.core.matrix import GITHUB_MATRIX_LIMIT, components, matrix_jobs, pack
from tests.core.test_graph import spec


def test_a_chain_and_an_independent_module_give_two_groups_in_dependency_order() -> None:
    graph = build_graph([spec("report", "calc"), spec("calc"), spec("other")])
    jobs = matrix_jobs(graph, graph.order(), max_jobs=20)
    assert [job.entry() for job in jobs] == [
        {"name": "calc +1", "modules": "calc report"},
        {"name": "other", "modules": "other"},
    ]


def test_components_join_through_a_shared_dependent_and_ignore_unaffected_links() -> None:
    graph = build_graph(
        [
            spec("a"),
            spec("b"),
            spec("both", "a", "b"),  # joins a and b
            spec("fresh"),  # not affected: does not join c and d
            spec("c", "fresh"),
            spec("d", "fresh"),
        ]
    )
    groups = components(graph, ["a", "b", "both", "c", "d"])
    assert sorted(map(sorted, groups)) == [["a", "b", "both"], ["c"], ["d"]]
    joined = next(group for group in groups if "both" in group)
    assert joined[-1] == "both"  # after both its dependencies


def test_a_component_is_never_split_even_when_it_unbalances_the_jobs() -> None:
    chain = [spec("m0")] + [spec(f"m{i}", f"m{i - 1}") for i in range(1, 10)]
    graph = build_graph([*chain, spec("x"), spec("y")])
    jobs = matrix_jobs(graph, graph.order(), max_jobs=2)
    assert [job.modules for job in jobs] == [
        tuple(f"m{i}" for i in range(10)),
        ("x", "y"),
    ]
    assert jobs[0].name == "m0 +9"


@pytest.mark.parametrize(("count", "max_jobs"), [(1_000, 20), (300, 20), (1_000, 256)])
def test_many_independent_modules_fit_max_jobs_balanced(count: int, max_jobs: int) -> None:
    graph = build_graph([spec(f"mod{i:04d}") for i in range(count)])
    jobs = matrix_jobs(graph, graph.order(), max_jobs=max_jobs)
    assert len(jobs) == max_jobs
    sizes = [len(job.modules) for job in jobs]
    assert max(sizes) - min(sizes) <= 1
    every = [m for job in jobs for m in job.modules]
    assert sorted(every) == graph.order() and len(every) == len(set(every))


def test_fewer_groups_than_jobs_one_job_each_and_nothing_affected_no_job() -> None:
    graph = build_graph([spec("a"), spec("b")])
    assert len(matrix_jobs(graph, ["a", "b"], max_jobs=20)) == 2
    assert matrix_jobs(graph, [], max_jobs=20) == []


def test_pack_refuses_more_jobs_than_github_allows() -> None:
    with pytest.raises(ValueError, match="between 1 and 256"):
        pack([["a"]], GITHUB_MATRIX_LIMIT + 1)
    assert pack([["a", "b"], ["c"], ["d"], ["e"]], 2) == [["a", "b", "e"], ["c", "d"]]
