"""Issue 11, item 10: protected paths on case-insensitive file systems (macOS, Windows),
and the files that configure specmill or git besides specmill.toml."""

from __future__ import annotations

from dataclasses import replace

import pytest

from specmill.core.config import Config, parse_config
from specmill.core.spec import parse_spec
from specmill.engine.guard import refusal
from specmill.errors import SpecError

PROTECTED = parse_config("[specmill]\nprotected = ['migrations/**']\n", "specmill.toml")


@pytest.mark.parametrize(
    "path",
    [
        ".GITHUB/workflows/x.yml",
        ".GitHub/Workflows/x.yml",
        "SPECS/x.md",
        "Specs/billing/invoice.md",
        ".Specmill/templates/executor.j2",
        "SPECMILL.TOML",
        "Migrations/0001.sql",
        ".gitmodules",
        ".GITMODULES",
    ],
)
def test_protected_paths_are_refused_in_any_letter_case(path: str) -> None:
    why = refusal(path, [path], PROTECTED.protected_patterns)
    assert why is not None and "protected path" in why


def test_a_spec_may_not_declare_a_protected_path_in_another_case() -> None:
    text = "---\noutputs: [.GITHUB/workflows/pwn.yml]\n---\n# X\n- **R1** x.\n"
    with pytest.raises(SpecError, match="protected path"):
        parse_spec(text, "specs/x.md", specs_root="specs", protected=Config().protected_patterns)


def test_pyproject_is_protected_when_it_holds_the_configuration() -> None:
    in_pyproject = parse_config("[tool.specmill]\n", "pyproject.toml")
    assert refusal("pyproject.toml", ["pyproject.toml"], in_pyproject.protected_patterns)
    assert refusal("PyProject.toml", ["PyProject.toml"], in_pyproject.protected_patterns)
    # a project configured in specmill.toml may generate its pyproject.toml
    own_file = parse_config("[specmill]\n", "specmill.toml")
    assert refusal("pyproject.toml", ["pyproject.toml"], own_file.protected_patterns) is None
    # the bot's --delivery override copies the config: the protection stays
    copied = replace(in_pyproject, checks=["pytest"])
    assert "pyproject.toml" in copied.protected_patterns
