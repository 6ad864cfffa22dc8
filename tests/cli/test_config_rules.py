"""One configuration check: what regen refuses, lint, check, doctor and --dry-run refuse
first, with the same message; the manual's own configuration examples pass it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from specmill.core.config import parse_config
from specmill.core.config_rules import config_errors
from tests.conftest import Project

CHECKOUT = Path(__file__).resolve().parents[2]
MANUAL = [CHECKOUT / "README.md", *sorted((CHECKOUT / "docs").glob("*.md"))]
UNPRICED = """\
[specmill]

[specmill.models]
verifiers = [{ model = "gpt-4.1" }, { model = "claude-sonnet" }]

[specmill.budget]
max_usd = 5.0
"""
MESSAGE = (
    "budget.max_usd is set, but model 'claude-sonnet' has no price, so its calls would count as $0"
)
HINT = (
    'add it to [specmill.models.prices], e.g. "claude-sonnet" = { input = 2.0, output = 8.0 } '
    "(US dollars per million tokens), or set budget.max_tokens instead"
)


@pytest.fixture
def unpriced(billing: Project) -> Project:
    billing.write("specmill.toml", UNPRICED)
    billing.write("specs/billing/money.md", billing.read("specs/billing/money.md") + "- **M2** +\n")
    return billing


def test_lint_refuses_what_regen_refuses_with_the_same_message(unpriced: Project) -> None:
    code, out, _ = unpriced.main("lint")
    assert (code, out) == (1, f"specmill.toml:7: invalid: {MESSAGE}\n")
    code, out, err = unpriced.main("regen")
    assert (code, out) == (1, "")
    assert err == f"specmill: error: specmill.toml:7: {MESSAGE}\nhint: {HINT}\n"


def test_dry_run_and_check_refuse_it_too(unpriced: Project) -> None:
    code, out, err = unpriced.main("regen", "--dry-run")
    assert (code, out) == (1, "")
    assert err.startswith(f"specmill: error: specmill.toml:7: {MESSAGE}\n")
    code, out, err = unpriced.main("check")
    assert code == 1
    assert f"specmill.toml:7: invalid: {MESSAGE}" in out.splitlines()
    assert f"  fix: {HINT}" in err.splitlines()


def test_doctor_refuses_it_without_calling_a_model(unpriced: Project) -> None:
    code, _, err = unpriced.main("doctor", "--no-calls")
    assert code == 1
    assert f"specmill.toml:7: invalid: {MESSAGE}" in err.splitlines()


def test_a_price_for_the_model_lets_every_command_through(unpriced: Project) -> None:
    priced = UNPRICED.replace(
        "[specmill.budget]",
        'prices = { "claude-sonnet" = { input = 3.0, output = 15.0 } }\n\n[specmill.budget]',
    )
    unpriced.write("specmill.toml", priced)
    assert unpriced.main("lint") == (0, "", "")
    code, out, _ = unpriced.main("regen", "--dry-run")
    assert code == 0 and "would regenerate billing.money" in out


def test_a_quorum_larger_than_the_verifiers_is_refused_alike(billing: Project) -> None:
    billing.write("specmill.toml", "[specmill]\n[specmill.models]\nquorum = 3\n")
    message = "models.quorum = 3, but only 2 verifier(s) are configured: no module could ever pass"
    assert billing.main("lint")[1] == f"specmill.toml:3: invalid: {message}\n"
    assert billing.main("regen", "--dry-run")[2].startswith(
        f"specmill: error: specmill.toml:3: {message}\n"
    )


def manual_toml_blocks() -> list[str]:
    """Every ```toml block of README.md and the docs pages, as a user would copy it."""
    pattern = re.compile(r"^```toml\n(.*?)^```", re.M | re.S)
    return [b for page in MANUAL for b in pattern.findall(page.read_text(encoding="utf-8"))]


def test_the_manual_has_configuration_examples() -> None:
    assert len(manual_toml_blocks()) >= 2  # the reference, and the scripted backend's


@pytest.mark.parametrize("block", manual_toml_blocks(), ids=lambda b: b.splitlines()[0])
def test_every_configuration_example_of_the_manual_is_accepted(block: str) -> None:
    name = "pyproject.toml" if re.search(r"^\[tool\.specmill", block, re.M) else "specmill.toml"
    config = parse_config(block, name)
    assert [str(e) for e in config_errors(config, path=name, text=block)] == []
