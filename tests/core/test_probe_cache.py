"""The probe cache's lines: what a probe was, or nothing (never a wrong probe)."""

import pytest

from specmill.core.header import Header
from specmill.core.probe import Probe
from specmill.core.probe_cache import decode, encode

HEADER = Header(
    "billing.money", "specs/billing/money.md", "sha256:1", "sha256:2", "adopted", 2, "", 5
)


@pytest.mark.parametrize(
    "probe", [Probe(None), Probe(HEADER, 2, True), Probe(HEADER._replace(run="r-1"), 3, False)]
)
def test_a_probe_comes_back_as_it_was(probe: Probe) -> None:
    line = encode(probe)
    assert line is not None and "\n" not in line
    assert decode(line) == probe


def test_a_header_field_with_a_tab_is_not_cached() -> None:
    assert encode(Probe(HEADER._replace(spec="specs/a\tb.md"))) is None


@pytest.mark.parametrize(
    "line",
    [
        "",
        "x",
        "1",
        "1\tmaybe",
        "0\t1",
        "-1\t1",
        "١\t1",  # a digit, but not an ASCII one
        "999999999999\t1",
        "a\tb\tc\td\te\tseven\tg\t3\t1\t1",
        "a\tb\tc\td\te\t1\tg\t0\t1\t1",
        "a\tb\tc\td\te\t1\tg\t3\t1",
    ],
)
def test_a_damaged_line_is_no_probe(line: str) -> None:
    assert decode(line) is None
