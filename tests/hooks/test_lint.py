"""specmill-lint, through its ``main``: the whole project is linted, problems one per line."""

from __future__ import annotations

from specmill.hooks.lint import main
from tests.conftest import Project
from tests.hooks.support import run_main


def test_a_valid_project_passes_silently(billing: Project) -> None:
    assert run_main(main, billing.root, "specs/billing/money.md") == (0, [])


def test_a_malformed_spec_is_reported_at_its_line(billing: Project) -> None:
    billing.write(
        "specs/billing/money.md",
        "---\noutputs:\n  - src/billing/money.py\ntier: fastest\n---\n# Money\n",
    )
    code, lines = run_main(main, billing.root, "specs/billing/money.md")
    assert code == 1
    assert lines == [
        "specs/billing/money.md:4: invalid: tier: Input should be 'auto', 'fast', "
        "'standard' or 'strong'",
        "specs/billing/invoice.md:5: invalid: depends_on: unknown module 'billing.money' "
        "(did you mean 'billing.invoice'?)",
        "  fix: invalid: fix the file at the line shown; `specmill lint` checks specs and config",
    ]


def test_a_change_to_one_spec_that_breaks_another_is_reported(billing: Project) -> None:
    billing.write(
        "specs/billing/money.md", "---\nid: money\noutputs: [src/billing/money.py]\n---\n"
    )
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[0] == (
        "specs/billing/invoice.md:5: invalid: depends_on: unknown module 'billing.money' "
        "(did you mean 'billing.invoice'?)"
    )


def test_a_broken_config_is_an_error_without_a_traceback(billing: Project) -> None:
    billing.write("specmill.toml", "[specmill]\nspecs = 3\n")
    code, lines = run_main(main, billing.root, "specmill.toml")
    assert code == 1
    assert lines == ["specmill-lint: error: specmill.toml:2: specs: Input should be a valid string"]


def test_outside_a_project_it_says_how_to_start_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".git").mkdir()
    code, lines = run_main(main, tmp_path)
    assert code == 1
    assert lines[0].startswith("specmill-lint: error: no specmill.toml")
    assert lines[1] == "  fix: run `specmill init` at the root of your repository"
