"""A realistic history, made once per session through the real CLI on the demo repository.

The demo's three billing modules (money <- invoice <- receipt), scripted models with
prices, and four runs: the demo's spec change (invoice fails its first attempt and
passes after a tier escalation; receipt passes), a receipt change that every verifier
rejects (its findings and the planner's ambiguity carry hostile HTML), the same change
again with two candidates (one breaks the checks, the other wins), and a calibration of
money. Then money's spec changes (stale) and a hand edit is committed to receipt.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import GIT_ENV

HOSTILE_MODULE = '<img src=x onerror="window.pwned=1">evil'
HOSTILE = (
    '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'
    ' [click](javascript:window.pwned=1) <a href="javascript:window.pwned=1">here</a>'
)
PRICES = (
    'prices = {"demo-planner" = {input = 2.0, output = 8.0},'
    ' "demo-fast" = {input = 0.4, output = 1.6}, "demo-standard" = {input = 2.0, output = 8.0},'
    ' "demo-reviewer-a" = {input = 1.0, output = 4.0},'
    ' "demo-reviewer-b" = {input = 0.5, output = 2.0}}\n'
)
RECEIPT_CHANGE = "- **P3** A receipt of an empty invoice still ends with its `Total:` line.\n"
RECEIPT = '''"""Plain-text receipts for invoices."""

from __future__ import annotations

from billing.invoice import Invoice


def render(invoice: Invoice) -> str:
    lines = [
        f"{item.description}  {item.quantity} x {item.unit_price} = {item.total()}"
        for item in invoice.items
    ]
    lines.append(f"Total: {invoice.total()}")
    return "\\n".join(lines)
'''
BROKEN = 'def render(invoice):\n    return "no receipt"\n'


@dataclass
class History:
    root: Path  # the repository, with local run records and notes
    tmp: Path

    def main(self, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        return run_cli(cwd or self.root, *args)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd or self.root, check=True, capture_output=True, text=True
        ).stdout


def run_cli(cwd: Path, *args: str) -> tuple[int, str, str]:
    from specmill.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(before)
    return code, out.getvalue(), err.getvalue()


def _demo_answers() -> dict[str, Any]:
    source = importlib.resources.files("specmill.templates").joinpath("demo", "model.yaml")
    answers: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return answers


def _receipt_files(receipt: str) -> dict[str, Any]:
    tests = importlib.resources.files("specmill.templates").joinpath(
        "demo", "repo", "tests", "test_receipt.py"
    )
    return {
        "notes": "P1-P3.",
        "files": [
            {"path": "billing/receipt.py", "content": receipt},
            {"path": "tests/test_receipt.py", "content": tests.read_text(encoding="utf-8")},
        ],
    }


def _plan(ambiguities: list[dict[str, Any]], approaches: list[str] | None = None) -> dict[str, Any]:
    return {
        "files": [
            {"path": "billing/receipt.py", "purpose": "render"},
            {"path": "tests/test_receipt.py", "purpose": "tests"},
        ],
        "public_api": ["render(invoice: Invoice) -> str"],
        "steps": [{"description": "lines and total", "requirements": ["P1", "P2", "P3"]}],
        "complexity": "low",
        "ambiguities": ambiguities,
        "approaches": approaches or [],
    }


REJECT = {
    "verdict": "fail",
    "summary": "P3 is not met " + HOSTILE,
    "findings": [
        {
            "kind": "code-defect",
            "severity": "blocker",
            "requirement": "P3",
            "file": "billing/receipt.py",
            "line": 9,
            "message": "empty invoices " + HOSTILE,
        },
        {"kind": "spec-gap", "severity": "minor", "requirement": "P3", "message": "gap " + HOSTILE},
    ],
}
ACCEPT = {"verdict": "pass", "summary": "P1-P3 hold.", "findings": []}


def _script(path: Path, modules: dict[str, Any]) -> None:
    path.write_text(json.dumps({"modules": modules}), encoding="utf-8")


def _commit(root: Path, message: str) -> None:
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", message], cwd=root, check=True)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def make_history(tmp: Path) -> History:
    from specmill.cli.demo import configure_models, copy_demo_repository, init_repository

    root = tmp / "shop"
    copy_demo_repository(root)
    configure_models(root, tmp, None, None)
    _append(root / "specmill.toml", PRICES)
    init_repository(root)
    script = tmp / "demo-model.yaml"
    outputs = sorted(str(p.relative_to(root)) for p in root.glob("*/*.py") if p.stem != "__init__")
    code, _, err = run_cli(root, "adopt", *outputs)
    assert code == 0, err
    _commit(root, "adopt")

    # 1. the demo's change: invoice escalates and passes, receipt passes; committed
    _append(
        root / "specs/billing/invoice.md", "- **R4** A blank description raises `ValueError`.\n"
    )
    _commit(root, "invoice: R4")
    code, out, err = run_cli(root, "regen")
    assert code == 0, out + err

    # 2. receipt gains P3 and every verifier rejects it, three times: failed, not committed
    _append(root / "specs/billing/receipt.md", RECEIPT_CHANGE)
    _commit(root, "receipt: P3")
    ambiguity = {"requirement": "P3", "question": "Which total? " + HOSTILE}
    _script(
        script,
        {
            "billing.receipt": {
                "planner": [_plan([ambiguity])],
                "executor": [_receipt_files(RECEIPT)] * 3,
                "verifier": [REJECT] * 6,
            }
        },
    )
    code, out, err = run_cli(root, "regen")
    assert code == 1, out + err

    # 3. again, two candidates: one breaks the checks, the other passes; committed
    config = (root / "specmill.toml").read_text(encoding="utf-8")
    config = config.replace("[specmill]\n", "[specmill]\ncandidates = 2\nearly_stop = false\n", 1)
    (root / "specmill.toml").write_text(config, encoding="utf-8")
    _commit(root, "two candidates")
    _script(
        script,
        {
            "billing.receipt": {
                "planner": [_plan([], ["one list", "a loop"])],
                "executor": [_receipt_files(BROKEN), _receipt_files(RECEIPT)],
                "verifier": [ACCEPT] * 2,
            }
        },
    )
    code, out, err = run_cli(root, "regen")
    assert code == 0, out + err

    # 4. a calibration of money: the reviewers' answers, many of them
    verdicts = [REJECT | {"findings": REJECT["findings"][:1]}, ACCEPT] * 20
    _script(script, {"billing.money": {"verifier": verdicts}})
    code, out, err = run_cli(root, "calibrate", "billing.money", "--mutants", "3")
    assert code in (0, 1), out + err
    assert "calibrated billing.money" in out, out + err

    # the state now: money stale (its spec changed), receipt hand-edited
    _append(root / "specs/billing/money.md", "- **M5** `Money.zero()` is `Money(0)`.\n")
    _append(root / "billing/receipt.py", "# edited by hand\n")
    _commit(root, "money: M5; a hand edit")
    return History(root, tmp)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    tmp = tmp_path_factory.mktemp("monitor-history")
    home = tmp / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        for key, value in GIT_ENV.items():
            patch.setenv(key, value)
        for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            patch.delenv(key, raising=False)
        yield make_history(tmp)


# --- what the records say, computed here from their JSON (not by the monitor's code) ---


def recorded_runs(root: Path, *, local: bool = True) -> dict[str, dict[str, Any]]:
    """Run id -> record, from the local run records and the git notes, as plain JSON."""
    from specmill.engine.runstore import list_runs

    runs: dict[str, dict[str, Any]] = {}
    listed = subprocess.run(
        ["git", "notes", "--ref=refs/notes/specmill", "list"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout
    for line in listed.splitlines():
        blob = line.split()[0]
        text = subprocess.run(
            ["git", "cat-file", "blob", blob], cwd=root, check=True, capture_output=True, text=True
        ).stdout
        record = json.loads(text)
        runs[record["run_id"]] = record
    if local:
        for record in list_runs(root):
            runs[record.run_id] = record.model_dump(mode="json")
    return runs


def total_cost(runs: dict[str, dict[str, Any]]) -> str:
    return f"${sum(c['cost_usd'] for r in runs.values() for c in r['calls']):,.4f}"


def verifier_numbers(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per verifier: reviews, fails and fail rate, a review being the newest verdict on
    one module's code (as ``runs --stats`` counts them: unchanged code reviewed again is
    the same review)."""
    newest: dict[tuple[str, str, str], str] = {}
    ordered = sorted(runs.values(), key=lambda r: (r["started_at"], r["run_id"]))
    for number, record in enumerate(ordered):  # oldest first: a newer verdict overwrites
        if record["calibration"] is not None:
            continue
        for module in record["modules"]:
            attempts = [(a["verdicts"], a["code"]) for a in module["history"]]
            for index, (verdicts, code) in enumerate(attempts or [(module["verdicts"], None)]):
                for v in verdicts:
                    reviewed = code or f"no digest: run {number}, attempt {index}"
                    newest[(v["verifier"], module["module"], reviewed)] = v["verdict"]
    tally: dict[str, list[int]] = {}
    for (verifier, _, _), verdict in newest.items():
        counts = tally.setdefault(verifier, [0, 0, 0])
        counts[0] += 1
        counts[1] += verdict == "fail"
        counts[2] += verdict == "error"
    return {
        name: {
            "verdicts": str(n),
            "fails": str(fails),
            "fail-rate": f"{fails / (n - errors):.0%}" if n > errors else "-",
        }
        for name, (n, fails, errors) in tally.items()
    }


def with_hostile_note(history: History, folder: Path) -> Path:
    """A copy of the history's repository with one more note: a run record whose every
    free-text field (run id, module id, spec path, verifier, model, findings) is hostile,
    as anyone who can push notes could write it."""
    from specmill.core.records import (
        Ambiguity,
        CallRecord,
        Finding,
        ModuleResult,
        Plan,
        RunRecord,
        Verdict,
    )

    shutil.copytree(history.root, folder)
    finding = Finding(kind="spec-gap", severity="blocker", message=HOSTILE, file=HOSTILE)
    verdict = Verdict(verifier=HOSTILE_MODULE, verdict="fail", summary=HOSTILE, findings=[finding])
    plan = Plan(
        files=[],
        public_api=[],
        steps=[],
        complexity="low",
        ambiguities=[Ambiguity(requirement=HOSTILE, question=HOSTILE)],
    )
    record = RunRecord(
        run_id=HOSTILE_MODULE,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:09+00:00",
        command=HOSTILE,
        commit=history.git("rev-parse", "HEAD", cwd=folder).strip(),
        modules=[
            ModuleResult(
                module=HOSTILE_MODULE,
                spec="javascript:window.pwned=1//" + HOSTILE,
                inputs_hash="sha256:0",
                status="failed",
                attempts=1,
                plan=plan,
                verdicts=[verdict],
                findings=[finding],
                error=HOSTILE,
                dissent=[HOSTILE],
            )
        ],
        calls=[
            CallRecord(
                role="verifier",
                module=HOSTILE_MODULE,
                model=HOSTILE,
                template=HOSTILE,
                template_sha256="0",
                cost_usd=0.5,
                structured_output=HOSTILE,
            )
        ],
    )
    note = folder / "hostile-note.json"
    note.write_text(record.model_dump_json(), encoding="utf-8")
    history.git("notes", "--ref=refs/notes/specmill", "add", "-F", str(note), "HEAD", cwd=folder)
    note.unlink()
    return folder
