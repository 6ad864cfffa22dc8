"""What agents see of the files they read: interfaces for code, whole lines of text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from specmill.engine.interface import clip_lines, interface, python_interface, show

MODULE = '''\
"""Money, in cents."""

from decimal import Decimal
from ._impl import helper as exported_helper

__all__ = ["Money", "cents", "exported_helper", "_blessed"]

RATE: Decimal = Decimal("0.2")
CURRENCIES = ("EUR", "USD")
_CACHE = {}
TABLE = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10}


def cents(amount: Decimal, *, rounding: str = "half-even") -> int:
    """An amount in cents.

    DETAIL: rounding is one of decimal's modes.
    """
    SECRET_BODY_1 = amount * 100
    return int(SECRET_BODY_1)


async def fetch(url: str) -> bytes:
    SECRET_BODY_2 = url
    return SECRET_BODY_2.encode()


def _private(x):
    return x


def _blessed(x):
    return x


@dataclass(frozen=True)
class Money(Base, metaclass=Meta):
    """A sum of money.

    Amounts are whole cents.
    """

    amount: int
    currency: str = "EUR"
    _hidden: int = 0

    def __init__(self, amount: int, currency: str = "EUR") -> None:
        SECRET_BODY_3 = amount

    def __add__(self, other: "Money") -> "Money":
        return SECRET_BODY_4

    @property
    def euros(self) -> float:
        """In euros."""
        return self.amount / 100

    def _internal(self):
        return SECRET_BODY_5

    class Kind:
        SECRET = 1
'''


def test_the_interface_of_a_python_module_keeps_every_public_signature_and_drops_bodies() -> None:
    shown = python_interface(MODULE)
    assert shown is not None
    assert "SECRET_BODY" not in shown
    assert "_private" not in shown and "_internal" not in shown and "_hidden" not in shown
    assert "_CACHE" not in shown
    tree = ast.parse(shown)  # still Python: an agent reads it as such
    # every public signature, as written
    for signature in (
        "def cents(amount: Decimal, *, rounding: str='half-even') -> int:",
        "async def fetch(url: str) -> bytes:",
        "def _blessed(x):",  # private, but in __all__
        "def __init__(self, amount: int, currency: str='EUR') -> None:",
        "def __add__(self, other: 'Money') -> 'Money':",
        "def euros(self) -> float:",
        "class Money(Base, metaclass=Meta):",
        "class Kind:",
    ):
        assert signature in shown, signature
    assert "@dataclass(frozen=True)" in shown and "@property" in shown
    # docstrings, constants and __all__
    assert ast.get_docstring(tree) == "Money, in cents."
    # a function's docstring summary, a class's whole docstring
    assert '"""An amount in cents."""' in shown and '"""In euros."""' in shown
    assert "DETAIL" not in shown and "DETAIL" in python_interface(MODULE, summaries=False)
    assert '    """A sum of money.\n\n    Amounts are whole cents."""' in shown
    assert "RATE: Decimal = Decimal('0.2')" in shown
    assert "CURRENCIES = ('EUR', 'USD')" in shown
    assert "TABLE = ..." in shown  # a long value is not shown
    assert "__all__ = ['Money', 'cents', 'exported_helper', '_blessed']" in shown
    assert "from ._impl import helper as exported_helper" in shown  # a re-export
    assert "from decimal import Decimal" not in shown
    assert "amount: int" in shown and "currency: str = 'EUR'" in shown
    assert len(shown) < len(MODULE)


def test_python_that_does_not_parse_falls_back_to_its_text() -> None:
    broken = "def f(:\n" + "".join(f"x{n} = {n}\n" for n in range(3000))
    assert python_interface(broken) is None
    seen = show("src/broken.py", broken, 2_000)
    assert seen.form == "clipped"
    assert seen.text.startswith("def f(:\nx0 = 0\n")
    assert re.search(r"\n… \d+ lines omitted …\n", seen.text)


def test_other_languages_lose_their_function_bodies_with_tree_sitter() -> None:
    typescript = (
        "/** Adds two numbers. */\n"
        "export function add(a: number, b: number): number {\n  return a + b; // BODY\n}\n"
        "export class Box<T> {\n  constructor(private v: T) { this.v = v; /* BODY */ }\n"
        "  get(): T { return this.v; /* BODY */ }\n}\n"
        "export const PI = 3.14;\n"
    )
    shown = interface("web/math.ts", typescript)
    assert shown is not None and "BODY" not in shown
    assert "/** Adds two numbers. */" in shown
    assert "export function add(a: number, b: number): number { … }" in shown
    assert "get(): T { … }" in shown and "export const PI = 3.14;" in shown
    go = "package m\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b // BODY\n}\n"
    assert interface("m/add.go", go) == "package m\n\n// Add adds.\nfunc Add(a, b int) int { … }\n"
    rust = "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b // BODY\n}\n"
    assert interface("src/lib.rs", rust) == "/// Adds.\npub fn add(a: i32, b: i32) -> i32 { … }\n"


def test_prose_stays_text_and_broken_code_is_not_half_parsed() -> None:
    prose = "# Guide\n\nWrite `def f():` like this.\n"
    assert show("docs/guide.md", prose, 1_000).form == "text"
    assert show("docs/guide.md", prose, 1_000).text == prose
    assert interface("web/broken.ts", "export function (\n") is None


def test_clipping_keeps_head_and_tail_lines_and_says_how_many_are_left_out() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    clipped = clip_lines(text, 300)
    assert clipped.startswith("line 0\n") and clipped.endswith("line 999\n")
    kept = [line for line in clipped.splitlines() if not line.startswith("…")]
    (marker,) = [line for line in clipped.splitlines() if line.startswith("…")]
    assert marker == f"… {1000 - len(kept)} lines omitted …"
    assert len(clipped) <= 300 + len(marker) + 1


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\r\n…"), max_size=80), max_size=60
    ),
    st.integers(min_value=1, max_value=2_000),
)
def test_clipping_never_cuts_inside_a_line_and_always_says_so(lines: list[str], limit: int) -> None:
    text = "".join(line + "\n" for line in lines)
    clipped = clip_lines(text, limit)
    if clipped == text:
        assert len(text) <= limit
        return
    out = clipped.removesuffix("\n").split("\n")
    markers = [n for n, line in enumerate(out) if re.fullmatch(r"… \d+ lines? omitted …", line)]
    assert len(markers) == 1
    at = markers[0]
    head, tail = out[:at], out[at + 1 :]
    assert head == lines[: len(head)]  # whole lines, in order, from the start
    assert tail == (lines[len(lines) - len(tail) :] if tail else [])  # and from the end
    omitted = int(out[at].split()[1])
    assert omitted == len(lines) - len(head) - len(tail) and omitted > 0


SNIPPETS = {
    "a.js": ("function add(a, b) {\n  return a + b; // BODY\n}\n", "function add(a, b) { … }"),
    "a.java": (
        "class A {\n  int add(int a, int b) {\n    return a + b; // BODY\n  }\n}\n",
        "int add(int a, int b) { … }",
    ),
    "a.kt": ("fun add(a: Int, b: Int): Int {\n    return a + b // BODY\n}\n", "fun add("),
    "a.scala": (
        "object A {\n  def add(a: Int, b: Int): Int = {\n    a + b // BODY\n  }\n}\n",
        "def add(",
    ),
    "a.swift": ("func add(a: Int, b: Int) -> Int {\n    return a + b // BODY\n}\n", "func add("),
    "a.c": (
        "int add(int a, int b) {\n  return a + b; /* BODY */\n}\n",
        "int add(int a, int b) { … }",
    ),
    "a.cpp": (
        "int add(int a, int b) {\n  return a + b; // BODY\n}\n",
        "int add(int a, int b) { … }",
    ),
    "a.cs": (
        "class A {\n  int Add(int a, int b) {\n    return a + b; // BODY\n  }\n}\n",
        "int Add(int a, int b) { … }",
    ),
    "a.php": (
        "<?php\nfunction add($a, $b) {\n  return $a + $b; // BODY\n}\n",
        "function add($a, $b) { … }",
    ),
}


@pytest.mark.parametrize("path", sorted(SNIPPETS))
def test_every_listed_language_has_its_grammar_and_loses_its_bodies(path: str) -> None:
    source, kept = SNIPPETS[path]
    shown = interface(path, source)
    assert shown is not None, f"no interface for {path}"
    assert "BODY" not in shown and kept in shown


def test_stub_files_are_python() -> None:
    assert (
        interface("pkg/m.pyi", "def f(x: int) -> int: ...\n") == "def f(x: int) -> int:\n    ...\n"
    )


def test_hostile_python_is_shown_as_text_not_a_crash() -> None:
    deep = "x = " + "1 + " * 50_000 + "1\n"  # parses; too deep to unparse
    assert python_interface(deep) is None
    assert show("src/deep.py", deep, 1_000).form == "clipped"


# --- JavaScript and TypeScript: public names, one-line summaries -----------------------

HUMANIZE_JS = """\
/**
 * Humanize: numbers for people.
 * @module humanize
 */
'use strict';
const fs = require('fs');

/**
 * Formats a number with commas.
 *
 * DETAIL: grouping follows the locale.
 * @param {number} n the number
 * @returns {string}
 */
function intcomma(n) {
  return _pad(String(n)); // BODY
}

// A private helper,
// on two lines.
function _pad(s) { return s; /* BODY */ }

/** A box. DETAIL stays out only after a blank line. */
class Box {
  #count = 0
  _cache = null

  // HANDLERS (a banner, no doc)

  /**
   * Makes a box.
   *
   * DETAIL: any value.
   */
  constructor(v) { this.v = v; /* BODY */ }
  get() { return this.v; /* BODY */ }
  #secret() { return 1; }
  /** private by convention */
  _hidden() { return 2; }
}

const naturalsize = (n) => { return n; /* BODY */ };
const unexported = 1;

module.exports = { intcomma, Box, size: naturalsize };
exports.ordinal = function (n) { return n + 'th'; /* BODY */ };
"""


def test_a_commonjs_module_shows_its_exports_with_one_line_summaries() -> None:
    assert interface("lib/humanize.js", HUMANIZE_JS) == (
        "/** Humanize: numbers for people. */\n\n"
        "/** Formats a number with commas. */\nfunction intcomma(n) { … }\n\n"
        "/** A box. DETAIL stays out only after a blank line. */\nclass Box {\n"
        "  /** Makes a box. */\n  constructor(v) { … }\n  get() { … }\n}\n\n"
        "const naturalsize = (n) => { … };\n\n"
        "module.exports = { intcomma, Box, size: naturalsize };\n\n"
        "exports.ordinal = function (n) { … };\n"
    )


def test_an_es_module_and_typescript_keep_exports_and_public_members_only() -> None:
    typescript = """\
import { x } from './x';
export { helper } from './helper';

/** Options. */
export interface Opts { sep?: string }

/**
 * Boxes a value.
 * @typeParam T the type
 */
export class Box<T> {
  private secret: number = 1;
  protected p(): void { BODY(); }
  public readonly v: T;
  #h = 2;
  constructor(private x: T) { this.v = x; }
  get(): T { return this.v; }
}
function internal(a: number): number { return a; }
const local = 2;
export { local as exportedLocal };
export default function greet(n: string): string { return internal(1) + n; }
"""
    assert interface("web/box.ts", typescript) == (
        "export { helper } from './helper';\n\n"
        "/** Options. */\nexport interface Opts { sep?: string }\n\n"
        "/** Boxes a value. */\nexport class Box<T> {\n  public readonly v: T;\n"
        "  constructor(private x: T) { … }\n  get(): T { … }\n}\n\n"
        "const local = 2;\n\n"
        "export { local as exportedLocal };\n\n"
        "export default function greet(n: string): string { … }\n"
    )


def test_a_script_that_exports_nothing_shows_its_declarations() -> None:
    script = "// Page glue.\n\nfunction init() { document.title = 'x'; }\ninit();\n"
    assert interface("web/page.js", script) == "// Page glue.\n\nfunction init() { … }\n"


def test_a_dependency_s_test_file_is_not_shown_as_its_interface(tmp_path: Path) -> None:
    from specmill.core.project import load_project
    from specmill.engine.inputs import gather

    (tmp_path / "specmill.toml").write_text("[specmill]\n")
    specs = {
        "humanize.md": "outputs: [lib/humanize.js, test/humanize.test.js]",
        "report.md": "outputs: [lib/report.js]\ndepends_on: [humanize]",
    }
    for name, front in specs.items():
        (tmp_path / "specs").mkdir(exist_ok=True)
        (tmp_path / "specs" / name).write_text(f"---\n{front}\n---\n# X\n- **R1** x.\n")
    files = {
        "lib/humanize.js": "exports.intcomma = (n) => { return String(n); };\n",
        "test/humanize.test.js": "const test = require('node:test');\ntest('x', () => {});\n",
    }
    project = load_project(tmp_path)
    brief = gather(project, project.by_id["report"], files.get)
    (dependency,) = brief.dependencies
    assert dependency.files == {"lib/humanize.js": "exports.intcomma = (n) => { … };\n"}


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("tests/test_calc.py", True),
        ("pkg/calc_test.go", True),
        ("test/humanize.test.js", True),
        ("web/Button.spec.tsx", True),
        ("src/__tests__/x.js", True),
        ("src/test/java/AppTest.java", True),
        ("spec/a_spec.rb", True),
        ("src/calc.py", False),
        ("lib/latest.js", False),
        ("src/contest.py", False),
        ("lib/testing.js", False),
    ],
)
def test_test_files_are_told_by_the_runners_conventions(path: str, test: bool) -> None:
    from specmill.core.paths import is_test_file

    assert is_test_file(path) is test
