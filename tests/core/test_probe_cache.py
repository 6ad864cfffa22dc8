"""The probe cache's lines: what a probe was, or nothing (never a wrong probe)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def plain_decode(line: str) -> Probe | None:
    """The line's probe by the rule as first written, a field at a time."""

    def number(text: str) -> int | None:
        if len(text) > 8 or not text.isdigit() or not text.isascii():
            return None
        return int(text) if int(text) >= 1 else None

    parts = line.split("\t")
    if len(parts) not in (2, 10):
        return None
    header_line, ok = number(parts[-2]), parts[-1]
    if header_line is None or ok not in ("0", "1"):
        return None
    header = None
    if len(parts) == 10:
        at, size = number(parts[5]), number(parts[7])
        if at is None or size is None:
            return None
        header = Header(parts[0], parts[1], parts[2], parts[3], parts[4], at, parts[6], size)
    return Probe(header, header_line, ok == "1")


FIELDS = st.one_of(
    st.sampled_from(["", "0", "1", "01", "7", "00000001", "123456789", "99999999", "-1", "+1"]),
    st.sampled_from([" 1", "1 ", "١", "²", "1_0", "0x1", "maybe", "sha256:1", "a b"]),
    st.text(alphabet="0123456789ab\t", max_size=4),
)


@settings(max_examples=1500)
@given(st.lists(FIELDS, min_size=0, max_size=11))
def test_decode_answers_as_the_plain_rule(fields: list[str]) -> None:
    line = "\t".join(fields)
    assert decode(line) == plain_decode(line)


NUMBERS = st.sampled_from(["1", "2", "12", "00000001", "99999999", "0", "123456789", "١", ""])


@settings(max_examples=800)
@given(NUMBERS, NUMBERS, NUMBERS, st.sampled_from(["0", "1", "2", ""]), FIELDS)
def test_decode_answers_as_the_plain_rule_on_header_lines(
    at: str, size: str, first: str, ok: str, text: str
) -> None:
    for line in [
        "\t".join(["m", "s.md", "sha256:1", "sha256:2", "generated", at, text, size, first, ok]),
        f"{first}\t{ok}",
    ]:
        assert decode(line) == plain_decode(line), line
