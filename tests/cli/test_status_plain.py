"""`specmill status` into a pipe writes, without rich, exactly what rich writes there."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specmill.cli.status import STYLES, _print_rich, plain_lines
from specmill.core.probe import OutputStatus
from specmill.core.status import ModuleStatus


def rich_text(statuses: list[ModuleStatus], errors: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_rich(statuses, errors)
    return out.getvalue()


def plain_text(statuses: list[ModuleStatus], errors: list[str]) -> str | None:
    lines = plain_lines(statuses, errors)
    return None if lines is None else "".join(f"{line}\n" for line in lines)


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def module(name: str, spec: str, *outputs: tuple[str, str]) -> ModuleStatus:
    states = [OutputStatus(path, state) for path, state in outputs]  # type: ignore[arg-type]
    return ModuleStatus(name, spec, "sha256:0", states)


def test_a_project_reads_the_same_with_and_without_rich() -> None:
    statuses = [
        module("billing.money", "specs/billing/money.md", ("src/billing/money.py", "fresh")),
        module(
            "billing.invoice",
            "specs/billing/invoice.md",
            *[(f"src/billing/{state}.py", state) for state in STYLES],
        ),
        module("a" * 120, "specs/" + "b/" * 60 + "c.md", ("src/" + "d" * 200 + ".py", "stale")),
        module("wide.ünïcødé", "specs/日本語/[bold]x[/bold].md", ("src/:smile: é.py", "missing")),
    ]
    errors = ["specs/bad.md:2: unknown key 'outptus'", "dependency cycle: a -> b -> a"]
    for case in ([], statuses[:1], statuses):
        assert plain_text(case, errors) == rich_text(case, errors)
        assert plain_text(case, []) == rich_text(case, [])


@pytest.mark.parametrize("name", ["tab\there", "bell\a", "cr\rx", "new\nline", "esc\x1b[31m"])
def test_names_rich_would_change_are_left_to_rich(name: str) -> None:
    case = [module(name, "specs/x.md", ("src/x.py", "fresh"))]
    assert plain_lines(case, []) is None
    assert plain_lines([module("x", "specs/x.md", (name, "fresh"))], []) is None
    assert plain_lines([], [name]) is None


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(st.text(max_size=30), max_size=4),
    paths=st.lists(st.text(max_size=40), max_size=4),
    state=st.sampled_from(sorted(STYLES)),
    errors=st.lists(st.text(max_size=30), max_size=2),
)
def test_any_text_plain_enough_reads_as_rich_writes_it(
    names: list[str], paths: list[str], state: str, errors: list[str]
) -> None:
    statuses = [module(n, f"specs/{n}.md", *[(p, state) for p in paths]) for n in names]
    plain = plain_text(statuses, errors)
    if plain is not None:
        assert plain == rich_text(statuses, errors)
