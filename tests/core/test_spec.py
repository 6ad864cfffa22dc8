import dataclasses
import json
from pathlib import Path

import pytest

from specmill.core.spec import parse_spec
from specmill.core.spec_cache import SpecCache, _Columns
from specmill.errors import SpecError

PROTECTED = (".git/**", ".github/**", "specmill.toml", "specs/**")

GOOD = """\
---
id: billing.invoice
outputs:
  - src/billing/invoice.py
  - tests/billing/test_invoice.py
depends_on: [billing.money]
context: [src/billing/db.py]
tier: strong
checks:
  - pytest -q tests/billing/test_invoice.py
---
# Invoice
- **R1** `Invoice.total()` returns the sum of line totals.
- **R2** Adding a line item with a negative quantity raises `ValueError`.
- INV-3: Invoices are numbered.

```
- R9 inside a code block is not a requirement
```
1. `R10` numbered items count too
- Not a requirement: R11 in the middle
"""


def parse(text: str, path: str = "specs/billing/invoice.md"):  # type: ignore[no-untyped-def]
    return parse_spec(text, path, specs_root="specs", protected=PROTECTED)


def test_parses_front_matter_and_requirements() -> None:
    spec = parse(GOOD)
    assert spec.id == "billing.invoice"
    assert spec.outputs == ("src/billing/invoice.py", "tests/billing/test_invoice.py")
    assert spec.depends_on == ("billing.money",)
    assert spec.front.tier == "strong"
    assert [(r.id, r.line) for r in spec.requirements] == [
        ("R1", 13),
        ("R2", 14),
        ("INV-3", 15),
        ("R10", 20),
    ]
    assert spec.requirement("R2") is not None
    assert spec.requirement("R2").text.startswith("Adding a line item")  # type: ignore[union-attr]


def test_default_id_is_path_below_specs_root() -> None:
    spec = parse(GOOD.replace("id: billing.invoice\n", ""), "specs/billing/tax/vat.md")
    assert spec.id == "billing.tax.vat"


def test_crlf_spec_parses_the_same() -> None:
    spec = parse(GOOD.replace("\n", "\r\n"))
    assert spec.outputs == parse(GOOD).outputs
    assert [r.line for r in spec.requirements] == [r.line for r in parse(GOOD).requirements]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("tier: strong", "tier: strong\noutptus: []", 9, "unknown key 'outptus'"),
        ("tier: strong", "tier: turbo", 8, "tier: Input should be 'auto'"),
        ("depends_on: [billing.money]", "depends_on: [billing.money", 7, "invalid YAML"),
        ("  - src/billing/invoice.py", "  - /etc/passwd", 4, "is absolute"),
        ("  - src/billing/invoice.py", "  - ../outside.py", 4, "contains '..'"),
        ("  - src/billing/invoice.py", "  - .github/workflows/ci.yml", 4, "protected path"),
        ("  - src/billing/invoice.py", "  - specs/other.md", 4, "protected path"),
        (
            "- INV-3: Invoices",
            "- R1: Invoices",
            15,
            "duplicate requirement id R1 (first at line 13)",
        ),
        ("id: billing.invoice", "id: 'bad id!'", 2, "id: must be letters"),
        ("  - tests/billing/test_invoice.py", "  - src/billing/invoice.py", 5, "listed twice"),
        ("context: [src/billing/db.py]", "context: [../db.py]", 7, "context:"),
    ],
)
def test_errors_name_the_line(old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    with pytest.raises(SpecError) as caught:
        parse(GOOD.replace(old, new, 1))
    assert caught.value.path == "specs/billing/invoice.md"
    assert message in caught.value.message
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Just markdown\n", "no front matter"),
        ("---\noutputs: [a.py]\n# never closed\n", "not closed"),
        ("---\n---\n# empty\n", "front matter is empty"),
        ("---\n- a\n- b\n---\n", "must be a YAML mapping"),
        ("---\nid: x\n---\n", "missing 'outputs'"),
        ("---\noutputs: []\n---\n", "outputs: List should have at least 1 item"),
    ],
)
def test_structural_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.line is not None


def test_a_spec_from_the_cache_has_every_field_of_a_parsed_one(tmp_path: Path) -> None:
    """The spec cache builds specs without ``__init__``: every field must be there."""
    spec = parse(GOOD)
    path = tmp_path / "spec-cache.json"
    path.write_text(json.dumps(_Columns.payload("salt", {spec.path: ("1 2 3 4", spec)})))
    cached = SpecCache(path, "salt").columns.spec(0, spec.path, lambda: GOOD)
    assert cached is not None
    for field in dataclasses.fields(spec):
        assert field.name in cached.__dict__, field.name
    for field in dataclasses.fields(spec.front):
        assert getattr(cached.front, field.name) == getattr(spec.front, field.name)
    assert (cached.id, cached.outputs, cached.context, cached.body_line) == (
        spec.id,
        spec.outputs,
        spec.context,
        spec.body_line,
    )
    assert cached.input_digest == spec.input_digest
    assert cached.requirements == spec.requirements  # read from the text when asked
    assert cached.text == GOOD
