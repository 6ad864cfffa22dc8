"""Hooks start fast: only the pure core and the stdlib on their import path.

Each hook runs in a fresh interpreter, as pre-commit runs it, which then reports the
top-level packages it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Project

NEVER = {"click", "rich", "openai", "github", "git", "jinja2", "tenacity", "unidiff", "requests"}
ONLY_TO_PARSE_SPECS = {"pydantic", "pydantic_core", "yaml"}
PROBE = """\
import json, sys
from specmill.hooks.{module} import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted({{name.partition(".")[0] for name in sys.modules}})]))
"""


def loaded(project: Project, module: str, *args: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module), *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stderr == ""
    code, modules = json.loads(done.stdout.splitlines()[-1])
    return code, set(modules)


def test_the_probe_sees_what_a_hook_loads(billing: Project) -> None:
    code, modules = loaded(billing, "lint")
    assert code == 0
    assert {"specmill", "pydantic", "yaml"} <= modules
    assert "bot" not in modules and "hooks" not in modules


@pytest.mark.parametrize(
    ("edit", "expected_code"),
    [("", 0), ("    cents = 0\n", 1)],
    ids=["clean", "hand-edited"],
)
def test_checking_generated_files_loads_neither_pydantic_nor_yaml(
    billing: Project, edit: str, expected_code: int
) -> None:
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + edit)
    billing.write("src/billing/notes.py", "NOTE = 'hand-written'\n")
    billing.git("add", "--all")
    files = ["src/billing/money.py", "src/billing/invoice.py", "src/billing/notes.py"]
    code, modules = loaded(billing, "no_hand_edits", *files)
    assert code == expected_code
    assert modules & (NEVER | ONLY_TO_PARSE_SPECS) == set()


@pytest.mark.parametrize("module", ["lint", "stale"])
def test_spec_hooks_load_no_cli_llm_or_github_code(billing: Project, module: str) -> None:
    code, modules = loaded(billing, module)
    assert code == 0
    assert modules & NEVER == set()
