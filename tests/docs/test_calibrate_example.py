"""The calibration report in docs/verifiers.md is the one `specmill calibrate` prints for
the module and the two verifiers of tests/engine/test_calibrate.py: a strict verifier
and a rubber stamp, on a local OpenAI-compatible server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.docs.blocks import matches
from tests.engine.openai_server import serve
from tests.engine.test_calibrate import QUICK, make_calc, strict

PAGE = Path(__file__).resolve().parents[2] / "docs" / "verifiers.md"


def shown_report() -> tuple[str, ...]:
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("```\n$ specmill calibrate\n", 1)[1].split("\n```", 1)[0]
    return tuple(block.splitlines())


def shown_json() -> dict[str, object]:
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("`--json` prints", 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    report: dict[str, object] = json.loads(block)
    return report


def test_the_calibration_report_on_the_verifiers_page_is_what_calibrate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-calibrate")
    with serve() as endpoint:
        calc = make_calc(tmp_path / "repo", endpoint.url, checks=QUICK)
        endpoint.respond = strict(calc.read("calc.py"))
        code, out, _ = calc.main("calibrate")
        json_code, json_out, _ = calc.main("calibrate", "--json")
    assert code == json_code == 1  # one verifier is flagged
    assert matches(shown_report(), out.splitlines()), out
    report, shown = json.loads(json_out), shown_json()
    assert re.fullmatch(r"\d{8}-\d{6}-\d{6}", str(report.pop("run_id")))
    assert re.fullmatch(r"\d{8}-\d{6}-\d{6}", str(shown.pop("run_id")))
    assert report == shown
