"""Pure-core findings of the CLI review (see tests/cli/test_ux_review.py)."""

from __future__ import annotations

import pytest

from specmill.core.header import split_header
from specmill.core.paths import matches
from specmill.core.spec import parse_spec
from specmill.errors import SpecError
from tests.conftest import Project


@pytest.mark.parametrize("pattern", ["./src/**", "././src/**", "/src/**", "src/"])
def test_protected_patterns_written_with_dot_slash_still_protect(pattern: str) -> None:
    assert matches("src/a.py", pattern)


def test_dot_slash_protected_pattern_makes_an_output_invalid(project: Project) -> None:
    project.write("specmill.toml", '[specmill]\nprotected = ["./src/**"]\n')
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1 and "protected path" in out


def test_a_dot_slash_governance_change_touches_every_module(billing: Project) -> None:
    billing.write("STYLE.md", "be nice\n")
    billing.write("specmill.toml", '[specmill]\ngovernance = ["./STYLE.md"]\n')
    files = ("src/billing/money.py", "src/billing/invoice.py", "tests/billing/test_invoice.py")
    for path in files:
        billing.write(path, split_header(billing.read(path), path).outside)
    assert billing.main("adopt", *files)[0] == 0
    billing.commit("governance")
    billing.git("branch", "base")
    billing.write("STYLE.md", "be nicer\n")
    billing.commit("style")
    code, out, _ = billing.main("affected", "--base", "base", "--json")
    assert code == 0
    assert out.split() and "billing.money" in out and "billing.invoice" in out


def test_flow_mapping_duplicate_keys_are_caught() -> None:
    with pytest.raises(SpecError, match="duplicate key 'outputs'"):
        parse_spec("---\n{outputs: [a.py], outputs: [b.py]}\n---\n", "specs/a.md")


def test_yaml_merge_keys_still_work() -> None:
    with pytest.raises(SpecError, match="unknown key 'x'"):  # not "duplicate key"
        parse_spec("---\noutputs: [a.py]\nx: &b {k: 1}\ny:\n  <<: *b\n  k: 2\n---\n", "specs/a.md")
