import pytest

from specmill.core.graph import build_graph, mermaid
from specmill.core.spec import parse_spec
from specmill.errors import GraphError


def spec(module: str, *deps: str):  # type: ignore[no-untyped-def]
    text = f"---\nid: {module}\noutputs: [src/{module}.py]\ndepends_on: [{', '.join(deps)}]\n---\n"
    return parse_spec(text, f"specs/{module}.md")


def test_dependency_order_and_dependents() -> None:
    graph = build_graph(
        [
            spec("app", "invoice", "tax"),
            spec("invoice", "money"),
            spec("money"),
            spec("tax", "money"),
            spec("other"),
        ]
    )
    order = graph.order()
    assert order.index("money") < order.index("invoice") < order.index("app")
    assert order.index("tax") < order.index("app")
    assert graph.dependents(["money"]) == {"invoice", "tax", "app"}
    assert graph.with_dependents(["tax"]) == ["tax", "app"]
    assert graph.order(["app", "money"]) == ["money", "app"]


def test_unknown_dependency_names_spec_and_suggests() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph([spec("invoice", "mony"), spec("money")])
    assert caught.value.path == "specs/invoice.md"
    assert caught.value.line == 4
    assert "unknown module 'mony' (did you mean 'money'?)" in caught.value.message


def test_cycle_names_the_chain() -> None:
    with pytest.raises(GraphError) as caught:
        build_graph([spec("a", "b"), spec("b", "c"), spec("c", "a")])
    assert "dependency cycle: a -> b -> c -> a" in caught.value.message


def test_self_dependency_and_duplicate_ids() -> None:
    with pytest.raises(GraphError, match="depends on itself"):
        build_graph([spec("a", "a")])
    first = spec("a")
    second = parse_spec("---\nid: a\noutputs: [x.py]\n---\n", "specs/z.md")
    with pytest.raises(GraphError, match=r"module id 'a' is also used by specs/a\.md"):
        build_graph([first, second])


def test_mermaid_draws_edges_and_highlights() -> None:
    text = mermaid(build_graph([spec("invoice", "money"), spec("money")]), ["invoice"])
    assert text.startswith("graph LR")
    assert 'm0["invoice"]' in text or 'm1["invoice"]' in text
    assert "-->" in text
    assert "class" in text and "affected" in text
