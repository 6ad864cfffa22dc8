"""The commands that run on every commit and in every pull request load only what they use.

Each runs in a fresh interpreter on a real repository, as a user or CI runs it, which
then reports every module it loaded: `check`, `status`, `affected` and `lint` never
need the engine, the model or GitHub layers, their SDKs (openai, PyGithub, GitPython),
the templates (jinja2) or rich (status writes to a pipe here: no colours).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Project

FORBIDDEN = (
    "specmill.engine",
    "specmill.llm",
    "specmill.github",
    "openai",
    "github",
    "git",
    "jinja2",
    "rich",
)
CLI = """\
import json, sys
from specmill.cli.main import main
code = main(sys.argv[1:])
from specmill.core import config
built = [name for name, model in vars(config).items()
         if isinstance(model, type) and issubclass(model, config.BaseModel)
         and model.__module__ == config.__name__ and model.__pydantic_complete__]
print(json.dumps([code, sorted(sys.modules), built]))
"""
HOOK = """\
import json, sys
from specmill.hooks.no_hand_edits import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(sys.modules)]))
"""


def loaded(project: Project, probe: str, *args: str) -> tuple[int, list[str]]:
    code, modules, _ = run(project, probe, *args)
    return code, modules


def run(project: Project, probe: str, *args: str) -> tuple[int, list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    code, modules, *built = json.loads(done.stdout.splitlines()[-1])
    return code, modules, built[0] if built else []


def forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f"{f}.") for f in FORBIDDEN)]


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--json", "src/billing"],
        ["status"],
        ["status", "--json"],
        ["affected"],
        ["affected", "--base", "HEAD~1", "--matrix"],
        ["lint"],
    ],
    ids=" ".join,
)
def test_hot_commands_load_no_engine_model_github_templates_or_rich(
    billing: Project, args: list[str]
) -> None:
    billing.write("specs/billing/money.md", billing.read("specs/billing/money.md") + "More.\n")
    billing.commit("a spec change for affected --base")
    code, modules = loaded(billing, CLI, *args)
    assert code == (1 if args[0] == "check" else 0)  # the changed spec: money is stale
    assert "specmill.cli.main" in modules  # the probe sees the command's own imports
    assert forbidden(modules) == []


def test_hot_commands_stay_lean_when_they_find_problems(billing: Project) -> None:
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "x = 1\n")
    billing.write("specs/billing/broken.md", "---\noutptus: [a.py]\n---\n")
    for args in (["check"], ["status"], ["lint"]):
        code, modules = loaded(billing, CLI, *args)
        assert (args, code) == (args, 0 if args == ["status"] else 1)
        assert forbidden(modules) == []


def test_the_hand_edit_hook_loads_none_of_them(billing: Project) -> None:
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "x = 1\n")
    billing.git("add", "--all")
    for files, expected_code in [(["src/billing/invoice.py"], 0), (["src/billing/money.py"], 1)]:
        code, modules = loaded(billing, HOOK, *files)
        assert code == expected_code
        assert "specmill.hooks.no_hand_edits" in modules
        assert forbidden(modules) == []


def test_lint_loads_the_engine_only_for_prompt_overrides(billing: Project) -> None:
    """The probe tells a command that needs a layer from one that does not."""
    billing.write(".specmill/templates/prompts/part.j2", "{% if %}\n")
    code, modules = loaded(billing, CLI, "lint")
    assert code == 1
    assert {"specmill.engine.prompts", "jinja2"} <= set(modules)


def test_a_valid_config_builds_no_validation_model(billing: Project) -> None:
    """The light reader reads it: pydantic builds no validator for check, status, affected
    or lint; an invalid config is pydantic's to report (then it builds them)."""
    billing.write(
        "specmill.toml", '[specmill]\nchecks = ["pytest -q"]\n[specmill.models]\ntimeout = 30\n'
    )
    for args in (["check"], ["status"], ["affected"], ["lint"]):
        code, _, built = run(billing, CLI, *args)
        assert (args, code, built) == (args, 0, [])
    billing.write("specmill.toml", "[specmill]\nmax_attempts = 0\n")
    code, _, built = run(billing, CLI, "lint")
    assert code == 1 and "Config" in built
