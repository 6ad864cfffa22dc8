"""``specmill calibrate`` end to end: a real repository, its tests as checks, and two
verifiers on a local OpenAI-compatible server, one strict and one rubber stamp."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, runs_dir
from tests.engine.conftest import Factory
from tests.engine.openai_server import Endpoint, Reply, serve

PY = shlex.quote(sys.executable).replace("\\", "\\\\")
CALC_SPEC = """\
---
outputs:
  - calc.py
---
# Calc
- **C1** `add(a, b)` returns the sum.
- **C2** `clamp(value, low, high)` keeps value within low..high.
- **C3** `ratio(a, b)` divides; a zero `b` raises `ZeroDivisionError`.
"""
CALC = """\
def add(a, b):
    return a + b


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value


def ratio(a, b):
    if b == 0:
        raise ZeroDivisionError("b is zero")
    return a / b
"""
TESTS = """\
from calc import add


def test_add():
    assert add(2, 3) == 5
"""
CONFIG = """\
[specmill]
checks = [{checks}]

[specmill.models]
base_url = "{url}"
api_key_env = "ENGINE_TEST_KEY"
verifiers = [{verifiers}]
timeout = 5
max_retries = 0
{budget}
[specmill.calibration]
mutants = 8
seed = 7
"""
# (this venv's pytest plugins take seconds to load: the user's tests need none of them)
PYTEST = json.dumps(
    f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {PY} -m pytest -q -p no:cacheprovider tests/test_calc.py"
)
# the same test without pytest's start-up, for the tests that are not about the checks
QUICK = json.dumps(f"{PY} -c 'from calc import add; assert add(2, 3) == 5'")
PASS = {"verdict": "pass", "summary": "looks right", "findings": []}
FAIL_ALL = {
    "verdict": "fail",
    "summary": "wrong",
    "findings": [
        {"kind": "code-defect", "severity": "major", "message": "no", "file": "x.py", "line": 1}
    ],
}


def shown_file(body: dict[str, Any], path: str) -> list[str]:
    """The numbered file as the verifier prompt shows it, without the numbers."""
    prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
    block = prompt.split(f"`{path}`:\n```\n", 1)[1].split("\n```", 1)[0]
    return [re.sub(r"^\s*\d+ \| ?", "", line) for line in block.split("\n")]


def strict(known_good: str) -> Any:
    """A verifier that fails any code that differs from the known-good outputs."""
    good = known_good.rstrip("\n").split("\n")

    def respond(body: dict[str, Any]) -> str | None:
        if body["model"] == "stamp":
            return json.dumps(PASS)
        shown = shown_file(body, "calc.py")
        if shown == good:
            return json.dumps(PASS)
        line = next(
            (n for n, (a, b) in enumerate(zip(shown, good, strict=False), 1) if a != b),
            min(len(shown), len(good)) + 1,
        )
        finding = {
            "kind": "code-defect",
            "severity": "blocker",
            "message": "this line differs from what the spec calls for",
            "requirement": "C2",
            "file": "calc.py",
            "line": line,
        }
        return json.dumps({"verdict": "fail", "summary": "defect", "findings": [finding]})

    return respond


def make_calc(
    root: Path,
    url: str,
    budget: str = "",
    checks: str = QUICK,
    verifiers: tuple[str, ...] = ("strict", "stamp"),
) -> Factory:
    root.mkdir()
    f = Factory(root)
    f.git("init", "--quiet")
    listed = ", ".join(f'{{model = "{name}"}}' for name in verifiers)
    config = CONFIG.format(checks=checks, url=url, budget=budget, verifiers=listed)
    f.write("specmill.toml", config)
    f.write("specs/calc.md", CALC_SPEC)
    f.write("calc.py", CALC)
    f.write("tests/test_calc.py", TESTS)
    f.write(".gitignore", "__pycache__/\n")
    code, _, err = f.main("adopt", "calc.py")
    assert code == 0, err
    f.commit("calc, adopted")
    return f


@pytest.fixture(params=[QUICK], ids=["quick-check"])
def calc(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Factory, Endpoint]]:
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-calibrate-secret")
    with serve() as endpoint:
        f = make_calc(tmp_path / "repo", endpoint.url, checks=request.param)
        endpoint.respond = strict(f.read("calc.py"))
        yield f, endpoint
        assert endpoint.unexpected == 0


@pytest.mark.parametrize(
    "calc", [PYTEST], indirect=True, ids=["pytest"]
)  # the module's tests as its checks
def test_calibrate_measures_a_strict_verifier_and_flags_a_rubber_stamp(
    calc: tuple[Factory, Endpoint],
) -> None:
    f, endpoint = calc
    before = f.snapshot()
    code, out, err = f.main("calibrate", "--json")
    assert code == 1, err  # one verifier is flagged
    report = json.loads(out)
    assert report["modules"] == ["calc"]
    mutants = report["mutants"]
    assert mutants["seeded"] == 8
    assert mutants["seeded"] == (
        mutants["discarded"] + mutants["killed_by_checks"] + mutants["reviewed"]
    )
    assert 0 < mutants["killed_by_checks"] < mutants["seeded"] - mutants["discarded"]
    by_name = {v["verifier"]: v for v in report["verifiers"]}
    reviewed = mutants["reviewed"]
    assert by_name["strict"] == {
        "verifier": "strict",
        "seeded": reviewed,
        "caught": reviewed,
        "located": reviewed,
        "recall": 1.0,
        "clean_runs": 1,
        "false_blocks": 0,
        "errors": 0,
        "flag": "ok",
        "first_error": None,
    }
    assert by_name["stamp"]["recall"] == 0.0 and by_name["stamp"]["flag"] == "rubber-stamp"
    assert by_name["stamp"]["false_blocks"] == 0
    # they agree on the clean run only
    agreement = report["agreement"]
    assert agreement == [
        {"a": "strict", "b": "stamp", "same_verdict": round(1 / (reviewed + 1), 4)}
    ]
    verifier_calls = [b for b in endpoint.requests if b["model"] in ("strict", "stamp")]
    assert report["calls"] == len(verifier_calls) == 2 * (reviewed + 1)
    assert report["tokens"] == 1100 * report["calls"]
    # the working tree, HEAD and git's worktree list are as they were
    assert f.snapshot() == before
    assert f.worktrees() == []
    assert "calibrate" in f.main("runs")[1]


def test_the_text_report_names_the_flag_and_what_to_do(calc: tuple[Factory, Endpoint]) -> None:
    f, _ = calc
    code, out, err = f.main("calibrate", "calc", "--mutants", "3", "--clean-runs", "2")
    assert code == 1
    # the progress display on stderr, as regen's (plain lines when not on a terminal)
    assert "calc: checks on 3 mutant(s)\n" in err and "calc: calibrated: " in err
    assert "calc: test kill rate" in out
    assert re.search(r"stamp\s+\d+\s+0\s+0%\s+0\s+0/2\s+0\s+rubber-stamp", out), out
    assert "stamp is flagged rubber-stamp: recall 0% is below min_recall 50%" in out
    assert "  what to do: change its model" in out and "raise models.quorum" in out


def test_a_module_that_is_not_fresh_is_refused_by_name(calc: tuple[Factory, Endpoint]) -> None:
    f, endpoint = calc
    f.write("specs/calc.md", CALC_SPEC + "- **C4** `add` accepts floats.\n")
    code, out, err = f.main("calibrate", "calc")
    assert code == 1 and out == ""
    assert "specmill: error: specs/calc.md: calc is not fresh (stale)" in err
    assert "specmill regen calc" in err
    code, _, err = f.main("calibrate")
    assert code == 1 and "no module is fresh" in err
    assert endpoint.requests == []


def test_same_seed_same_report_and_usage_errors(calc: tuple[Factory, Endpoint]) -> None:
    f, _ = calc
    first = json.loads(f.main("calibrate", "--json", "--mutants", "3")[1])
    second = json.loads(f.main("calibrate", "--json", "--mutants", "3")[1])
    for report in (first, second):
        del report["run_id"]
    assert first == second
    code, _, err = f.main("calibrate", "--mutants", "0")
    assert code == 2 and "--mutants" in err


def with_budget(f: Factory, max_tokens: int) -> None:
    f.write(
        "specmill.toml",
        f.read("specmill.toml") + f"\n[specmill.budget]\nmax_tokens = {max_tokens}\n",
    )


def test_a_budget_that_runs_out_scores_every_review_it_paid_for(factory: Factory) -> None:
    """billing.money: three mutants the checks cannot kill and one clean run, eight
    reviews by two verifiers in all; at 60% of what they cost, the report is partial."""
    factory.answers(verifier=[PASS] * 8)
    code, out, err = factory.main("calibrate", "billing.money", "--json")
    full = json.loads(out)
    assert full["partial"] is None and full["per_module"][0]["reviews"] == 8
    need = full["tokens"]

    factory.answers(verifier=[PASS] * 8)
    with_budget(factory, need * 6 // 10)
    before = factory.snapshot()
    code, out, err = factory.main("calibrate", "billing.money", "--json")
    report = json.loads(out)
    module = report["per_module"][0]
    made = module["reviews"]
    assert 0 < made < 8 and module["reviews_planned"] == 8 and module["skipped"] is None
    scored = sum(v["seeded"] + v["clean_runs"] + v["errors"] for v in report["verifiers"])
    assert scored == made == report["calls"]  # every verdict paid for is scored
    assert report["partial"] == f"the budget ran out after {made} of 8 reviews"
    assert report["tokens"] <= need * 6 // 10
    assert code == 1
    (error,) = [line for line in err.splitlines() if line.startswith("specmill: error:")]
    assert error == f"specmill: error: partial: the budget ran out after {made} of 8 reviews"
    assert "nothing could be calibrated" not in err and "checks that pass" not in err
    assert factory.snapshot() == before and factory.worktrees() == []
    code, out, err = factory.main("calibrate", "billing.money")  # the text report says it too
    assert "partial report: the budget ran out after" in out
    assert "flagged, partial" in factory.main("runs")[1]


def test_a_verifier_that_only_gives_junk_is_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-calibrate-secret")
    with serve() as endpoint:
        f = make_calc(tmp_path / "repo", endpoint.url, verifiers=("oracle", "junk"))
        oracle = strict(f.read("calc.py"))
        endpoint.respond = lambda body: (
            "Looks fine to me!" if body["model"] == "junk" else oracle({**body, "model": "x"})
        )
        code, out, err = f.main("calibrate", "--mutants", "3")
    assert code == 1, err
    junk = re.search(r"^junk\s+0\s+0\s+-\s+0\s+0/0\s+(\d+)\s+unusable$", out, re.M)
    assert junk is not None, out
    errors = int(junk.group(1))
    assert errors >= 2  # every review it was asked for: the surviving mutants and a clean run
    assert re.search(r"^oracle\s+\d+\s+\d+\s+100%\s+\d+\s+0/1\s+0\s+ok$", out, re.M), out
    assert f"junk is flagged unusable: {errors} of its {errors} reviews were errors" in out
    assert "(the first: verifier call for calc (junk): no valid VerifierReport" in out
    assert "what to do: run `specmill doctor`" in out


def test_without_a_key_calibrate_says_so_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGINE_TEST_KEY", raising=False)
    f = make_calc(tmp_path / "repo", "https://api.openai.com/v1")
    f.write("specs/calc.md", CALC_SPEC + "- **C4** `add` accepts floats.\n")  # not fresh either
    code, out, err = f.main("calibrate")
    assert (code, out) == (1, "")
    first = err.splitlines()[0]
    assert first == (
        "specmill: error: no API key for verifier strict: the environment variable"
        " ENGINE_TEST_KEY is not set, and OpenAI needs one; nothing was calibrated"
    )
    assert "not fresh" not in err
    assert not runs_dir(f.root).exists()  # no check ran, no call was tried


def test_unknown_calibration_keys_are_errors(project: Project) -> None:
    project.write("specmill.toml", "[specmill]\n\n[specmill.calibration]\nmutans = 4\n")
    code, _, err = project.main("calibrate")
    assert code == 1
    assert "specmill.toml:4: unknown key 'calibration.mutans'" in err


def test_the_scripted_backend_calibrates_and_a_verifier_that_blocks_clean_code_is_noisy(
    factory: Factory,
) -> None:
    # billing.money: `return round(amount * 100)`: three mutants that compile, so the
    # compileall check kills none of them; every answer fails, the clean run's too
    factory.answers(verifier=[FAIL_ALL] * 8)
    before = factory.snapshot()
    code, out, err = factory.main("calibrate", "billing.money", "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["mutants"] == {"seeded": 3, "discarded": 0, "killed_by_checks": 0, "reviewed": 3}
    assert report["per_module"][0]["test_kill_rate"] == 0.0
    for verifier in report["verifiers"]:
        assert (verifier["recall"], verifier["false_blocks"], verifier["flag"]) == (1.0, 1, "noisy")
        assert verifier["located"] == 0  # its finding points elsewhere
    assert report["agreement"][0]["same_verdict"] == 1.0
    assert factory.snapshot() == before and factory.worktrees() == []


def test_ctrl_c_leaves_no_worktree_no_temporary_file_and_no_change(
    factory: Factory, tmp_path: Path
) -> None:
    factory.configure(checks=["sleep 5"])
    factory.commit("slow checks")
    factory.answers(verifier=[])
    before = factory.snapshot()
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        code, _, err = factory.main("calibrate", "billing.money")
    finally:
        timer.cancel()
    assert code == 130 and "specmill: interrupted" in err, err
    assert time.monotonic() - started < 4.5  # the running check was killed, not waited for
    assert factory.snapshot() == before
    assert factory.worktrees() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_checks_failing_on_the_unmutated_outputs_calibrate_nothing(factory: Factory) -> None:
    failing = "echo why-it-failed; exit 3"
    factory.configure(checks=[failing])
    factory.answers(verifier=[])
    code, out, err = factory.main("calibrate", "billing.money")
    assert code == 1
    assert (
        f"billing.money: not calibrated: its checks fail on the unmutated outputs: {failing}" in out
    )
    assert "    | why-it-failed" in out  # their output, shown (issue 18, item 7)
    assert "specmill: error: nothing could be calibrated" in err


def test_an_endpoint_that_keeps_failing_is_reported_not_a_traceback(
    calc: tuple[Factory, Endpoint],
) -> None:
    f, endpoint = calc
    good = endpoint.respond
    assert good is not None
    endpoint.respond = lambda body: None if body["model"] == "stamp" else good(body)
    endpoint.always = Reply(status=500)
    code, out, err = f.main("calibrate", "--json", "--mutants", "2")
    report = json.loads(out)
    items = report["mutants"]["reviewed"] + 1
    strict_score, stamp = report["verifiers"]
    assert (strict_score["seeded"] + strict_score["clean_runs"], strict_score["flag"]) == (
        items, "ok",
    )  # fmt: skip  # what strict said is kept, though stamp's calls failed
    assert (stamp["errors"], stamp["flag"]) == (items, "unusable")
    assert "HTTP 500" in stamp["first_error"]
    assert report["partial"] is None
    assert code == 1 and "Traceback" not in err
    assert f.worktrees() == []


def test_without_verifiers_there_is_nothing_to_calibrate(project: Project) -> None:
    project.write("specmill.toml", "[specmill]\n\n[specmill.models]\nverifiers = []\n")
    code, out, err = project.main("calibrate")
    assert (code, out) == (1, "")
    assert "specmill: error: specmill.toml: no verifiers are configured" in err
