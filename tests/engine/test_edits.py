"""Long outputs answered as search/replace edits: applied exactly, re-asked, or rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specmill.core.header import split_header
from specmill.core.records import SearchReplace
from specmill.engine.edits import apply_edits
from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE, PASS, Factory, executor, fail, plan

INVOICE_PY = "src/billing/invoice.py"


def long_module(negatives: str = "return sum(items)") -> str:
    """A 600-line module whose `total` is the one function a spec change touches."""
    helpers = "".join(
        f'def helper_{n}(value):\n    """Helper {n}."""\n    scaled = value * {n}\n'
        f"    shifted = scaled + {n}\n    return shifted\n\n"
        for n in range(99)
    )
    text = f'"""Invoices."""\n{helpers}def total(items):\n    {negatives}\n\n\n# end\n'
    assert len(text.splitlines()) == 600 or negatives != "return sum(items)"
    return text


FIXED = 'if any(i < 0 for i in items):\n        raise ValueError("negative")\n    return sum(items)'


def edit(search: str, replace: str, path: str = INVOICE_PY) -> dict[str, str]:
    return {"path": path, "search": search, "replace": replace}


def edits(*items: dict[str, str]) -> dict[str, object]:
    return {"edits": list(items), "files": [], "notes": "edited"}


def last_run(factory: Factory) -> Path:
    """The newest run's folder (run ids of the same second sort by their random part)."""
    records = (runs_dir(factory.root)).glob("*/record.json")
    return max(records, key=lambda p: p.stat().st_mtime_ns).parent


def executor_calls(factory: Factory) -> list[dict]:
    calls = json.loads((last_run(factory) / "record.json").read_text())["calls"]
    return [c for c in calls if c["role"] == "executor"]


def generate_long_module(factory: Factory) -> None:
    """Regenerate invoice once with a 600-line whole file: the previous version."""
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, long_module())],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    factory.write("specs/billing/invoice.md", INVOICE + "- **R3** `total` of nothing is 0.\n")
    factory.commit("invoice: one more requirement")


# --- applying ----------------------------------------------------------------------


def test_edits_apply_in_order_each_to_what_the_previous_left() -> None:
    applied = apply_edits(
        {"a.py": "x = 1\ny = 2\n"},
        [
            SearchReplace(path="a.py", search="x = 1\n", replace="x = 10\n"),
            SearchReplace(path="a.py", search="x = 10\ny", replace="x = 11\ny"),
        ],
    )
    assert applied.clean and applied.applied == 2
    assert applied.texts == {"a.py": "x = 11\ny = 2\n"}


def test_a_search_text_not_found_is_reported_with_the_closest_lines() -> None:
    text = long_module()
    applied = apply_edits(
        {INVOICE_PY: text},
        [
            SearchReplace(
                path=INVOICE_PY, search="def total(items):\n  return sum(items)", replace="x"
            ),
            SearchReplace(
                path=INVOICE_PY, search="    scaled = value * 98\n", replace="    scaled = 0\n"
            ),
        ],
    )
    assert applied.applied == 1 and len(applied.problems) == 1
    problem = applied.problems[0]
    assert problem.startswith(f"edit 1 of {INVOICE_PY}: the search text is not in the file")
    closest = "def total(items):\n    return sum(items)"
    assert f"Did you mean these lines?\n```\n{closest}\n```" in problem
    assert "    scaled = 0\n" in applied.texts[INVOICE_PY]  # the edit that applied stays


def test_an_ambiguous_search_text_is_refused_with_its_lines() -> None:
    text = "a = 1\nb = 2\na = 1\n"
    applied = apply_edits(
        {"m.py": text}, [SearchReplace(path="m.py", search="a = 1", replace="a = 3")]
    )
    assert applied.texts == {"m.py": text}  # untouched: which one was meant is unknown
    assert applied.problems == [
        "edit 1 of m.py: the search text occurs 2 times (at lines 1, 3); include more lines"
        " around the change so that it occurs once"
    ]


@pytest.mark.parametrize(
    ("edit_", "said"),
    [
        (SearchReplace(path="other.py", search="a", replace="b"), "not an output to edit"),
        (SearchReplace(path="m.py", search="", replace="b"), "the search text is empty"),
        (SearchReplace(path="m.py", search="b = 2", replace="a = 1"), "already there"),
        (SearchReplace(path="../../etc/passwd", search="a", replace="b"), "not an output"),
    ],
)
def test_edits_that_cannot_apply_say_why(edit_: SearchReplace, said: str) -> None:
    applied = apply_edits({"m.py": "a = 1\n"}, [edit_])
    assert applied.texts == {"m.py": "a = 1\n"}
    assert said in applied.problems[0]


# --- end to end --------------------------------------------------------------------


def test_an_edit_answer_regenerates_a_600_line_module(factory: Factory) -> None:
    generate_long_module(factory)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[
            edits(
                edit("def total(items):\n    return sum(items)", "def total(items):\n    " + FIXED)
            )
        ],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    written = factory.read(INVOICE_PY)
    body = split_header(written, INVOICE_PY).outside  # without specmill's header
    assert body == long_module(FIXED)
    assert factory.main("check")[0] == 0
    (call,) = executor_calls(factory)
    assert call["answer_form"] == "edits" and call["edit_problems"] == []
    assert call["completion_tokens"] < len(long_module()) // 4 // 10  # a tenth of a rewrite
    (prompt,) = last_run(factory).glob("calls/*-executor*.md")
    assert f"## Answer with edits of `{INVOICE_PY}`" in prompt.read_text()


def test_a_broken_edit_is_re_asked_once_then_a_whole_file_is_requested(factory: Factory) -> None:
    generate_long_module(factory)
    wrong = edit("def total(items):\n  return sum(items)", "def total(items):\n  " + FIXED)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[edits(wrong), edits(wrong), executor(INVOICE_PY, long_module(FIXED))],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    assert split_header(factory.read(INVOICE_PY), INVOICE_PY).outside == long_module(FIXED)
    first, retry, whole = executor_calls(factory)
    assert [first["answer_form"], retry["answer_form"], whole["answer_form"]] == [
        "edits",
        "edits",
        "whole",
    ]
    assert first["edit_problems"] == []
    assert "the search text is not in the file" in retry["edit_problems"][0]
    assert "the search text is not in the file" in whole["edit_problems"][0]


def test_a_re_asked_edit_that_applies_completes_the_answer(factory: Factory) -> None:
    generate_long_module(factory)
    good = edit("    scaled = value * 98\n", "    scaled = value * 980\n")
    wrong = edit("def total(items):\n  return sum(items)", "x")
    fixed = edit("def total(items):\n    return sum(items)", "def total(items):\n    " + FIXED)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[edits(good, wrong), edits(fixed)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    expected = long_module(FIXED).replace("value * 98\n", "value * 980\n")
    assert split_header(factory.read(INVOICE_PY), INVOICE_PY).outside == expected
    assert [c["answer_form"] for c in executor_calls(factory)] == ["edits", "edits"]


def test_a_short_output_is_still_written_whole(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    (call,) = executor_calls(factory)
    assert call["answer_form"] == "whole"


def test_after_a_rejected_attempt_the_executor_writes_whole_files(factory: Factory) -> None:
    generate_long_module(factory)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[
            edits(edit("    scaled = value * 98\n", "    scaled = value * 980\n")),
            executor(INVOICE_PY, long_module(FIXED)),
        ],
        verifier=[fail(), fail(), PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    assert split_header(factory.read(INVOICE_PY), INVOICE_PY).outside == long_module(FIXED)
    assert [c["answer_form"] for c in executor_calls(factory)] == ["edits", "whole"]
