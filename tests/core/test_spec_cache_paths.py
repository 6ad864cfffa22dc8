"""The spec cache's path checks: the quick ones answer as the plain rule does.

``is_clean_path`` and ``clean_column`` (a whole column at once) must refuse every path
the plain rule refuses, or a hostile cache could hand specmill ``../`` or ``/etc``.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specmill.core.paths import MAX_PATH, is_clean_path, normalize_relative
from specmill.core.spec_cache import clean_column


def plain_rule(path: object) -> bool:
    """The rule as first written: one test per condition, part by part."""
    return (
        type(path) is str
        and 0 < len(path) <= MAX_PATH
        and path.isprintable()
        and path == path.strip()
        and "\\" not in path
        and not path.startswith("/")
        and not (len(path) >= 2 and path[0].isascii() and path[0].isalpha() and path[1] == ":")
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )


ALPHABET = ["a", "B", "z", "C", ":", ".", "/", "\\", " ", "\t", "\n", "\x00", "\xa0", "\u200b", "é"]
PATHS = st.text(alphabet=st.sampled_from(ALPHABET), max_size=12)
NOTABLE = [
    "",
    "a",
    "a/b.py",
    "./a",
    "a/./b",
    "a/../b",
    "..",
    "a/..",
    "/etc/passwd",
    "a//b",
    "a/",
    "C:/x",
    "c:x",
    "é:x",
    "1:x",
    " a",
    "a ",
    "a b",
    "a\\b",
    "a\u200bb",
    "a\xa0",
    "x" * MAX_PATH,
    "x" * (MAX_PATH + 1),
    ".hidden/.x",
    "...",
    "a/.../b",
]


def test_printable_white_space_is_only_the_space() -> None:
    """What ``is_clean_path`` relies on to test ``path == path.strip()`` by one character."""
    found = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() and not c.strip()]
    assert found == [" "]


@pytest.mark.parametrize("path", NOTABLE)
def test_notable_paths(path: str) -> None:
    assert is_clean_path(path) == plain_rule(path)


@pytest.mark.parametrize("value", [None, 5, b"a", ["a"]])
def test_not_a_string_is_not_a_path(value: object) -> None:
    assert not is_clean_path(value)


@settings(max_examples=800)
@given(PATHS)
def test_is_clean_path_is_the_plain_rule(path: str) -> None:
    assert is_clean_path(path) == plain_rule(path)


@settings(max_examples=300)
@given(PATHS)
def test_a_clean_path_is_one_normalize_relative_keeps(path: str) -> None:
    try:
        kept = normalize_relative(path) == path
    except ValueError:
        kept = False
    assert is_clean_path(path) == kept


def rows_rule(rows: list[list[str]], *, empty_rows: bool) -> bool:
    return all((empty_rows or row) and all(plain_rule(path) for path in row) for row in rows)


def as_column(rows: list[list[str]]) -> str:
    return "\n".join("\t".join(row) for row in rows)


ROW_PATHS = st.text(alphabet=st.sampled_from([c for c in ALPHABET if c not in "\t\n"]), max_size=8)
ROWS = st.lists(st.lists(st.one_of(ROW_PATHS, st.sampled_from(NOTABLE[:-2])), max_size=3))


@settings(max_examples=800)
@given(ROWS, st.booleans())
def test_a_column_is_clean_when_every_path_in_it_is(
    rows: list[list[str]], empty_rows: bool
) -> None:
    column = as_column(rows or [[]])
    read = [row.split("\t") if row else [] for row in column.split("\n")]  # as the cache
    assert clean_column(column, empty_rows=empty_rows) == rows_rule(read, empty_rows=empty_rows)


@pytest.mark.parametrize(
    ("rows", "empty_rows", "clean"),
    [
        ([["a.py"], ["b/c.py", "d.py"]], False, True),
        ([["a.py"], []], False, False),  # a module without outputs
        ([["a.py"], []], True, True),  # a module without context
        ([[]], True, True),
        ([[]], False, False),
        ([["a.py"], ["../x.py"]], False, False),  # one bad row among good ones
        ([["a.py", "C:/x"]], False, False),
        ([["a.py"], ["x" * MAX_PATH]], False, True),
        ([["a.py"], ["x" * (MAX_PATH + 1)]], False, False),
        ([["a.py", ""]], True, False),  # an empty path inside a row
        ([["a.py"], [" b.py"]], False, False),
        ([["a.py "], ["b.py"]], False, False),
    ],
)
def test_notable_columns(rows: list[list[str]], empty_rows: bool, clean: bool) -> None:
    assert clean_column(as_column(rows), empty_rows=empty_rows) is clean
    assert rows_rule(rows, empty_rows=empty_rows) is clean
