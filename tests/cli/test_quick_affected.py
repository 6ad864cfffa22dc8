"""``specmill affected --base`` answered from the records before click loads.

Each case runs the console script's entry (``specmill.cli.quick.main``) in a fresh
interpreter on a real repository, which then reports what it printed and every module
it loaded: the records must give the answer the full command gives with
``SPECMILL_NO_CACHE=1``, and when they cannot answer (or must not), the full command
answers, which loads click.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cache_equivalence import age
from tests.conftest import Project

ENTRY = """\
import io, json, sys
from contextlib import redirect_stdout
from specmill.cli.quick import main
out = io.StringIO()
with redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps([code, out.getvalue(), sorted(sys.modules)]))
"""
# what answering from the records needs none of
HEAVY = ("click", "pydantic", "yaml", "specmill.core.config", "specmill.core.project")


def run(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, list[str]]:
    environ = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS",)}
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
        env=environ,
    )
    assert "Traceback" not in done.stderr, done.stderr
    code, out, modules = json.loads(done.stdout.splitlines()[-1])
    return code, out, modules


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(f"{h}.") for h in HEAVY)]


def without_cache(project: Project, *args: str) -> tuple[int, str]:
    code, out, _ = run(project, *args, env={"SPECMILL_NO_CACHE": "1"})
    return code, out


@pytest.fixture
def branch(billing: Project) -> Project:
    """A feature branch whose last commit changed money's spec; its records written."""
    billing.git("switch", "--quiet", "-c", "feature")
    money = billing.read("specs/billing/money.md")
    billing.write("specs/billing/money.md", money + "- **M9** Money rounds half to even.\n")
    billing.commit("M9")
    age(billing.root)
    code, _, err = billing.main("affected", "--base", "main")  # writes the records
    assert code == 0, err
    assert (billing.root / ".git/specmill/affected-cache.json").is_file()
    return billing


@pytest.mark.parametrize(
    "args",
    [
        ["affected", "--base", "main"],
        ["affected", "--base=main", "--json"],
        ["affected", "--json", "-q", "--base", "main"],
    ],
    ids=" ".join,
)
def test_the_records_answer_without_click_as_the_full_command_does(
    branch: Project, args: list[str]
) -> None:
    code, out, modules = run(branch, *args)
    assert (code, out) == without_cache(branch, *args)
    assert "billing.money" in out and "billing.invoice" in out  # and its dependent
    assert heavy(modules) == []


@pytest.mark.parametrize(
    "args",
    [
        ["affected", "--base", "nope"],  # unknown revision: click's command says so
        ["affected", "--base", "main", "--head", "HEAD"],
        ["affected", "--base", "main", "--matrix"],
        ["affected", "--base", "main", "--base", "main"],
        ["affected", "--base", "--json"],
        ["affected", "--base", "-main"],
        ["affected", "--base", "main", "--unknown"],
        ["affected"],
    ],
    ids=" ".join,
)
def test_other_forms_go_to_the_full_command(branch: Project, args: list[str]) -> None:
    code, out, modules = run(branch, *args)
    assert (code, out) == without_cache(branch, *args)
    assert "click" in modules


def test_in_actions_the_full_command_guards_the_output(branch: Project) -> None:
    code, out, modules = run(branch, "affected", "--base", "main", env={"GITHUB_ACTIONS": "true"})
    assert code == 0 and "billing.money" in out
    assert "click" in modules and "specmill.workflow_commands" in modules


def test_a_secrets_file_is_taken_and_deleted_as_always(branch: Project, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.write_text("OPENAI_API_KEY=sk-test\n")
    secrets.chmod(0o600)
    code, out, modules = run(
        branch, "affected", "--base", "main", env={"SPECMILL_SECRETS_FILE": str(secrets)}
    )
    assert code == 0 and "billing.money" in out
    assert not secrets.exists()
    assert "click" in modules


def test_an_ignored_governance_file_changed_is_noticed(branch: Project) -> None:
    """git does not report it: only reading it again shows that the records are stale
    (compared with HEAD, where the configuration naming it was committed)."""
    branch.write(".gitignore", "notes/\n")
    branch.write("notes/STYLE.md", "Be terse.\n")
    branch.write("specmill.toml", '[specmill]\ngovernance = ["notes/STYLE.md"]\n')
    branch.commit("governance")
    age(branch.root)
    branch.main("affected", "--base", "HEAD")  # records made with this governance
    code, out, modules = run(branch, "affected", "--base", "HEAD")
    assert (code, out) == without_cache(branch, "affected", "--base", "HEAD")
    assert heavy(modules) == []  # the records answered

    branch.write("notes/STYLE.md", "Be verbose.\n")  # the specs' folders keep their stat
    code, out, modules = run(branch, "affected", "--base", "HEAD")
    assert (code, out) == without_cache(branch, "affected", "--base", "HEAD")
    assert "click" in modules  # they could not


SHARED_DAMAGE: dict[str, Any] = {
    "another configuration": lambda s: s.update(config="sha256:" + "0" * 64),
    "another specmill": lambda s: s.update(version="0.0.0 1"),
    "another governance file": lambda s: s.update(governance={"docs/x.md": "sha256:" + "0" * 64}),
    "templates of another text": lambda s: s.update(templates="0" * 64),
    "protected patterns not a list": lambda s: s.update(protected="**"),
    "a specs folder outside": lambda s: s.update(specs="../elsewhere"),
    "a config path of its own": lambda s: s.update(config_path="../../etc/passwd"),
    "not a table": lambda s: s.clear(),
}


@pytest.mark.parametrize("damage", SHARED_DAMAGE.values(), ids=SHARED_DAMAGE.keys())
def test_records_made_with_other_shared_inputs_are_not_believed(
    branch: Project, damage: Any
) -> None:
    records = branch.root / ".git/specmill/affected-cache.json"
    data = json.loads(records.read_text())
    damage(data["shared"])
    records.write_text(json.dumps(data))
    code, out, modules = run(branch, "affected", "--base", "main")
    assert (code, out) == without_cache(branch, "affected", "--base", "main")
    assert "click" in modules


def test_a_file_named_as_the_base_is_not_read_as_a_path(branch: Project) -> None:
    branch.write("main", "a file, not the branch\n")
    code, out, modules = run(branch, "affected", "--base", "main")
    assert (code, out) == without_cache(branch, "affected", "--base", "main")
    assert "billing.money" in out and heavy(modules) == []
