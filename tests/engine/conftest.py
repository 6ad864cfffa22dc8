"""Engine fixtures: a two-module project in a real git repository, driven by a script.

``factory`` has ``billing.money`` and ``billing.invoice`` (which depends on money), both
adopted and committed, then the invoice spec edited so that invoice is stale. The
scripted backend reads ``factory.script`` (written by ``factory.answers(...)``).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.engine.openai_server import Endpoint, serve

PY = shlex.quote(sys.executable)
MONEY = """\
---
outputs:
  - src/billing/money.py
---
# Money
- **M1** `cents(amount)` returns an amount in cents.
"""
INVOICE = """\
---
outputs:
  - src/billing/invoice.py
depends_on: [billing.money]
---
# Invoice
- **R1** `total(items)` returns the sum of the items.
- **R2** `total` rejects negative items with `ValueError`.
"""
CONFIG = """\
[specmill]
checks = ["{py} -m compileall -q src"]
max_attempts = 2
governance = ["STYLE.md"]
{extra}
[specmill.models]
{models}
"""
SCRIPTED = """\
backend = "scripted"
script = "{script}"
verifiers = [{{model = "rev-a"}}, {{model = "rev-b"}}]
"""
SERVED = """\
base_url = "{url}"
api_key_env = "ENGINE_TEST_KEY"
planner = "m-planner"
fast = "m-fast"
standard = "m-standard"
strong = "m-strong"
verifiers = [{{model = "m-rev-a"}}, {{model = "m-rev-b"}}]
timeout = 0.5
max_retries = 1
prices = {{"m-planner" = {{input = 1.0, output = 2.0}}}}
"""
INVOICE_CODE = """\
def total(items):
    if any(i < 0 for i in items):
        raise ValueError("negative")
    return sum(items)
"""


def plan(
    *files: str, complexity: str = "low", requirements: tuple[str, ...] = ("R1",)
) -> dict[str, Any]:
    return {
        "files": [{"path": f, "purpose": "the module"} for f in files],
        "public_api": ["total(items: list[int]) -> int"],
        "steps": [{"description": "implement it", "requirements": list(requirements)}],
        "complexity": complexity,
        "ambiguities": [],
    }


def executor(path: str, content: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"path": path, "content": content}
    if lines is not None:
        item["requirement_lines"] = lines
    return {"files": [item], "notes": "done"}


PASS = {"verdict": "pass", "summary": "looks right", "findings": []}


def fail(
    requirement: str = "R2", line: int = 5, message: str = "negatives accepted"
) -> dict[str, Any]:
    return {
        "verdict": "fail",
        "summary": f"{requirement} is not met",
        "findings": [
            {
                "kind": "code-defect",
                "severity": "blocker",
                "message": message,
                "requirement": requirement,
                "file": "src/billing/invoice.py",
                "line": line,
            }
        ],
    }


class Factory(Project):
    script: Path

    def answers(self, **roles: Any) -> None:
        """Write the model script: planner=[...], executor=[...], verifier=[...], modules={...}."""
        self.script.write_text(json.dumps(roles), encoding="utf-8")

    def configure(self, **settings: Any) -> None:
        """Set keys of [specmill] (not models: they are part of every inputs hash)."""
        head, models = self.read("specmill.toml").split("[specmill.models]", 1)
        kept = [line for line in head.splitlines() if line.split(" =")[0] not in settings]
        kept += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        self.write("specmill.toml", "\n".join(kept) + "\n[specmill.models]" + models)

    def worktrees(self) -> list[str]:
        """Worktrees besides the main one, and specmill temp folders left behind."""
        out = self.git("worktree", "list", "--porcelain")
        listed = [line for line in out.splitlines() if line.startswith("worktree ")][1:]
        temp = self.root.parent / "tmp"
        return listed + [p.name for p in temp.glob("specmill-wt-*")]

    def snapshot(self) -> dict[str, str]:
        """HEAD and every file's text outside .git and .specmill (to prove nothing changed)."""
        files = {
            p.relative_to(self.root).as_posix(): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and not {".git", ".specmill", "__pycache__"} & set(p.parts)
        }
        return {"HEAD": self.git("rev-parse", "HEAD"), **files}


def make_factory(tmp_path: Path, models: str, extra: str = "") -> Factory:
    """The two-module project: adopted, committed, then the invoice spec changed."""
    root = tmp_path / "repo"
    root.mkdir()
    f = Factory(root)
    f.script = tmp_path / "script.json"
    f.git("init", "--quiet")
    python = PY.replace("\\", "\\\\")
    f.write("specmill.toml", CONFIG.format(py=python, extra=extra, models=models))
    f.write("STYLE.md", "# Style\n- Keep it simple.\n")
    f.write("specs/billing/money.md", MONEY)
    f.write("specs/billing/invoice.md", INVOICE)
    f.write("src/billing/money.py", "def cents(amount):\n    return round(amount * 100)\n")
    f.write("src/billing/invoice.py", "def total(items):\n    return sum(items)\n")
    f.write(".gitignore", "__pycache__/\n")
    code, _, err = f.main("adopt", "src/billing/money.py", "src/billing/invoice.py")
    assert code == 0, err
    f.commit("adopt")
    changed = INVOICE.replace("the sum of the items", "the sum of the items, an int")
    f.write("specs/billing/invoice.md", changed)
    f.commit("invoice: say what total returns")
    return f


@pytest.fixture(autouse=True)
def _private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worktrees go to a temp folder of the test's own, so leftovers are visible."""
    import tempfile

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


@pytest.fixture
def factory(tmp_path: Path) -> Factory:
    """The project with the scripted backend reading ``factory.script``."""
    return make_factory(tmp_path, SCRIPTED.format(script=(tmp_path / "script.json").as_posix()))


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Factory, Endpoint]]:
    """The project with the real openai backend against a local server."""
    monkeypatch.setenv("ENGINE_TEST_KEY", "sk-engine-test-secret")
    with serve() as endpoint:
        yield make_factory(tmp_path, SERVED.format(url=endpoint.url)), endpoint
        assert endpoint.unexpected == 0, "requests beyond the queued answers"
