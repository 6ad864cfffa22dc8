"""specmill-stale, through its ``main``: modules whose inputs changed since generation."""

from __future__ import annotations

from specmill.hooks.stale import main
from tests.conftest import Project, docs_example
from tests.hooks.support import run_main

FOOTER = (
    "specmill-stale: to leave the regeneration to the bot on the pull request, commit with "
    "SKIP=specmill-stale git commit ...; where the bot always regenerates, set "
    'stale = "report" in [specmill.hooks] of specmill.toml'
)


def test_fresh_modules_pass(billing: Project) -> None:
    assert run_main(main, billing.root) == (0, [])


def test_a_changed_spec_makes_its_module_stale(billing: Project) -> None:
    text = billing.read("specs/billing/invoice.md")
    billing.write("specs/billing/invoice.md", text + "- **R3** Totals are never negative.\n")
    assert run_main(main, billing.root) == (
        1,
        [
            "specs/billing/invoice.md:1: stale: billing.invoice: its inputs changed since "
            "src/billing/invoice.py, tests/billing/test_invoice.py were adopted",
            "  changed: not known (an adoption records no inputs)",
            "  fix: specmill regen billing.invoice",
            "  (regenerates them, and what depends on them, in dependency order)",
            FOOTER,
        ],
    )
    assert docs_example("hooks.md", "## A spec change for the bot to regenerate") == FOOTER + "\n"


def test_a_dependency_spec_change_lists_dependents_in_order(billing: Project) -> None:
    text = billing.read("specs/billing/money.md")
    billing.write("specs/billing/money.md", text + "- **M2** `Money` adds.\n")
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[0] == (
        "specs/billing/money.md:1: stale: billing.money: its inputs changed since "
        "src/billing/money.py was adopted"
    )
    # invoice's inputs include money's spec, so it is stale too, and comes after it
    assert lines[-3] == "  fix: specmill regen billing.money billing.invoice"


def test_a_changed_context_file_makes_its_module_stale(billing: Project) -> None:
    billing.write("src/billing/db.py", "URL = 'sqlite://'\n")
    text = billing.read("specs/billing/money.md")
    billing.write(
        "specs/billing/money.md", text.replace("---\n#", "context: [src/billing/db.py]\n---\n#")
    )
    code, _, err = billing.main("adopt", "--force", "src/billing/money.py")
    assert code == 0, err
    code, _, err = billing.main(
        "adopt", "--force", "src/billing/invoice.py", "tests/billing/test_invoice.py"
    )
    assert code == 0, err
    assert run_main(main, billing.root) == (0, [])
    billing.write("src/billing/db.py", "URL = 'postgres://'\n")
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[0].startswith("specs/billing/money.md:1: stale: billing.money: ")


def test_a_declared_output_never_generated_is_reported(billing: Project) -> None:
    billing.write("specs/billing/tax.md", "---\noutputs:\n  - src/billing/tax.py\n---\n# Tax\n")
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[:2] == [
        "specs/billing/tax.md:3: missing: billing.tax: src/billing/tax.py is declared but "
        "does not exist",
        "  fix: specmill regen billing.tax",
    ]


def test_hand_edits_are_left_to_specmill_no_hand_edits(billing: Project) -> None:
    text = billing.read("src/billing/money.py")
    billing.write("src/billing/money.py", text.replace("pass", "cents = 0"))
    assert run_main(main, billing.root) == (0, [])


def test_an_invalid_spec_fails_with_its_location(billing: Project) -> None:
    billing.write("specs/billing/money.md", "---\noutputs: []\n---\n")
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[0].startswith("specs/billing/money.md:")
    assert ": invalid: " in lines[0]
    assert lines[-1] == "  fix: correct the spec (`specmill lint` lists every problem)"


def test_report_mode_prints_the_same_problems_and_does_not_block(billing: Project) -> None:
    text = billing.read("specs/billing/invoice.md")
    billing.write("specs/billing/invoice.md", text + "- **R3** Totals are never negative.\n")
    code, blocked = run_main(main, billing.root)
    assert (code, blocked[-1]) == (1, FOOTER)
    billing.write("specmill.toml", '[specmill]\n[specmill.hooks]\nstale = "report"\n')
    code, reported = run_main(main, billing.root)
    assert (code, reported[:-1]) == (0, blocked[:-1])
    assert reported[-1] == (
        'specmill-stale: reported, not blocking (stale = "report" in [specmill.hooks] of '
        "specmill.toml): the bot regenerates them"
    )


def test_report_mode_still_blocks_an_invalid_spec(billing: Project) -> None:
    billing.write("specmill.toml", '[specmill]\n[specmill.hooks]\nstale = "report"\n')
    billing.write("specs/billing/money.md", "---\noutputs: []\n---\n")
    assert run_main(main, billing.root)[0] == 1


def test_the_setting_is_named_where_the_config_lives(billing: Project) -> None:
    (billing.root / "specmill.toml").unlink()
    billing.write("pyproject.toml", '[project]\nname = "x"\n\n[tool.specmill]\n')
    billing.write("specs/billing/money.md", billing.read("specs/billing/money.md") + "- **M2** +\n")
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[-1].endswith('set stale = "report" in [tool.specmill.hooks] of pyproject.toml')


def test_an_unknown_mode_is_a_config_error_naming_the_line(billing: Project) -> None:
    billing.write("specmill.toml", '[specmill]\n[specmill.hooks]\nstale = "warn"\n')
    code, lines = run_main(main, billing.root)
    assert code == 1
    assert lines[0].startswith("specmill-stale: error: specmill.toml:3: hooks.stale: Input should")
