"""The loop detector, pure: real answers pass, loops are caught within a few hundred tokens."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import specmill
from specmill.llm.repetition import MIN_LOOP_CHARS, NEAR_MIN_CHARS, RepetitionWatch, find_loop

SOURCE = Path(specmill.__file__).parent


def _streamed(text: str, piece: int = 4) -> Iterator[tuple[int, object]]:
    watch = RepetitionWatch()
    for start in range(0, len(text), piece):
        yield start + piece, watch.feed(text[start : start + piece])


def _flagged(text: str) -> str | None:
    for _, loop in _streamed(text):
        if loop is not None:
            return loop.describe()  # type: ignore[attr-defined]
    return None


def _corpus() -> Iterator[tuple[str, str]]:
    """Real answers and real code: the demo model's answers (as a server sends them,
    compact and indented), the demo repository, and specmill's own source."""
    script = importlib.resources.files("specmill.templates").joinpath("demo", "model.yaml")
    for module, roles in yaml.safe_load(script.read_text(encoding="utf-8"))["modules"].items():
        for role, answers in roles.items():
            for number, answer in enumerate(answers):
                name = f"demo answer {module} {role} {number}"
                yield name, json.dumps(answer)
                yield name + " indented", json.dumps(answer, indent=2)
    for path in sorted(SOURCE.rglob("*")):
        if path.suffix in (".py", ".md", ".j2", ".yaml", ".toml") and path.is_file():
            text = path.read_text(encoding="utf-8")
            yield str(path.relative_to(SOURCE)), text
            if "demo" in path.parts and path.suffix == ".py":  # as an executor's answer
                files = [{"path": path.name, "content": text}]
                yield f"{path.name} as an answer", json.dumps({"files": files, "notes": ""})


def test_real_answers_and_code_are_never_taken_for_a_loop():
    checked = 0
    for name, text in _corpus():
        assert _flagged(text) is None, name
        checked += len(text)
    assert checked > 500_000  # the corpus is really there


@pytest.mark.parametrize(
    "unit",
    [
        "x",
        "R1, ",
        '{"description": "Implement R1", "requirements": ["R1"]}, ',
        "    def test_total(self):\n        self.assertEqual(total([]), 0)\n\n",
        "The invoice total is the sum of the line totals. " * 10,  # a 500-character span
    ],
    ids=["one-char", "short", "json-item", "code", "long-span"],
)
def test_a_loop_is_caught_soon_after_it_starts_and_where(unit):
    prefix = '{"files": [{"path": "a.py", "purpose": "x"}],\n"steps": [\n'
    text = prefix + unit * max(20, 3000 // len(unit))
    caught_at, loop = next((end, loop) for end, loop in _streamed(text) if loop is not None)

    assert caught_at - len(prefix) <= max(MIN_LOOP_CHARS, 4 * len(unit)) + 300
    # where the repeating began (a character or two earlier when the text before it
    # happens to end as a copy does)
    assert len(prefix) - len(unit) <= loop.start <= len(prefix)  # type: ignore[attr-defined]
    described = loop.describe()  # type: ignore[attr-defined]
    assert described.startswith(
        f"the answer repeated itself from line {2 + (loop.start >= len(prefix))}"
    )  # type: ignore[attr-defined]
    assert "over and over, so it was stopped" in described


def test_a_few_repeats_or_a_short_run_are_not_a_loop():
    rows = "".join(f"    assert total([{n}]) == {n}\n" for n in range(40))  # differ in values
    assert find_loop(rows) is None
    endless = "".join(f"    assert total([{n}]) == {n}\n" for n in range(200))
    assert find_loop(endless) is not None  # but 200 of them is counting on, not testing
    assert find_loop("a" * (MIN_LOOP_CHARS - 1)) is None
    assert find_loop("x = 1\n" + "-" * 79 + "\n") is None
    block = "def f():\n    return compute(a, b, c) + other(d, e)\n" * 3  # three copies
    assert find_loop("header\n" + block * 1) is None


def test_a_loop_that_only_counts_on_is_caught_too():
    """test_line_1, test_line_2, …: the same lines but for their numbers, endlessly."""
    prefix = '{"files": [{"path": "tests/test_invoice.py", "content": "import unittest\\n'
    rows = "".join(
        f"    def test_line_{n}(self):\\n        self.assertEqual(total([{n}]), {n})\\n"
        for n in range(1, 500)
    )
    caught_at, loop = next((e, loop) for e, loop in _streamed(prefix + rows) if loop is not None)

    assert caught_at - len(prefix) <= NEAR_MIN_CHARS + 600
    assert loop.start == len(prefix) - 2  # type: ignore[attr-defined]  # its "\n" before
    assert "span but for its numbers ('\\\\n def test_line_1(self)" in loop.describe()  # type: ignore[attr-defined]


def test_a_table_of_cases_that_differ_in_their_numbers_is_not_a_loop():
    rows = "".join(
        f"        (Decimal('{n}.{n % 100:02d}'), {n % 7}, Decimal('{n * 3}.00')),\n"
        for n in range(1, 41)
    )  # 40 rows, over 2,000 characters: a real parametrized test
    table = "CASES = [\n" + rows + "]\n\n\ndef test_totals():\n    for case in CASES:\n"
    assert _flagged(table) is None
