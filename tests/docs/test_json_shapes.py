"""The JSON the manual describes is the JSON the commands print: the same fields, run
in the scratch repositories of the examples (tests/docs/scratch.py)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.docs.scratch import Scratch

DOCS = Path(__file__).resolve().parents[2] / "docs"


def printed(scratch: Scratch, recipe: str, *command: str) -> Any:
    repo, env = scratch.repo("json shapes", recipe)
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    return json.loads(done.stdout)


def page(name: str) -> str:
    return " ".join((DOCS / name).read_text(encoding="utf-8").split())  # lines joined


def named(text: str) -> set[str]:
    """The quoted field names of a prose description: `{"path", "line", …}`."""
    return set(re.findall(r'"(\w+)"', text))


def test_status_json_has_the_fields_of_the_example(scratch: Scratch) -> None:
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    example = json.loads(text.split("`specmill status --json`:\n\n```json\n", 1)[1].split("```")[0])
    shown = printed(scratch, "billing", "specmill", "status", "--json")
    assert [set(m) for m in shown] == [set(example[0])] * len(shown)
    outputs = [o for m in shown for o in m["outputs"]]
    assert {frozenset(o) for o in outputs} == {frozenset(example[0]["outputs"][0])}


def test_check_json_has_the_fields_the_page_names(scratch: Scratch) -> None:
    claim = page("commands.md").split("`specmill check --json` prints", 1)[1].split("objects")[0]
    problems = printed(scratch, "tax", "specmill", "check", "--json")
    assert problems, "the tax recipe has a file to adopt: check reports it"
    assert [set(p) for p in problems] == [named(claim)] * len(problems)


def test_doctor_json_has_the_fields_the_page_names(scratch: Scratch) -> None:
    claim = page("models.md").split("`--json` prints `", 1)[1].split("`, `streaming`")[0]
    before, after = claim.split('"roles": [', 1)
    in_roles, after = after.split("]", 1)
    roles, top = named(in_roles), named(before) | {"roles"} | named(after)
    report = printed(scratch, "unpriced", "specmill", "doctor", "--json", "--no-calls")
    assert set(report) == top
    assert report["roles"] and all(set(role) == roles for role in report["roles"])


def test_runs_stats_json_has_the_fields_of_the_example(scratch: Scratch) -> None:
    text = (DOCS / "verifiers.md").read_text(encoding="utf-8")
    after = text.split("## Verifiers over time", 1)[1]
    example = json.loads(after.split("```json\n", 1)[1].split("```")[0])
    stats = printed(scratch, "billing", "specmill", "runs", "--stats", "--json")
    assert stats, "the billing recipe's regen recorded two verifiers' verdicts"
    assert [set(v) for v in stats] == [set(example[0])] * len(stats)
