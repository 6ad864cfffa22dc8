"""The commands that run on every commit and in every pull request load only what they use.

Each runs in a fresh interpreter on a real repository, as a user or CI runs it, which
then reports every module it loaded: `check`, `status`, `affected` and `lint` never
need the engine, the model or GitHub layers, their SDKs (openai, PyGithub, GitPython),
the templates (jinja2) or rich (status writes to a pipe here: no colours). Nor pydantic,
once the specs they read are cached: the configuration is plain dataclasses, validated
by pydantic only when it holds an error (or a value to convert).
"""

from __future__ import annotations

import json
import os
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
VALIDATION = ("pydantic", "pydantic_core", "annotated_types")
CLI = """\
import json, sys
from specmill.cli.main import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(sys.modules)]))
"""
HOOK = """\
import json, sys
from specmill.hooks.no_hand_edits import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(sys.modules)]))
"""


def loaded(project: Project, probe: str, *args: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    code, modules = json.loads(done.stdout.splitlines()[-1])
    return code, modules


def forbidden(modules: list[str], names: tuple[str, ...] = FORBIDDEN) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f"{f}.") for f in names)]


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


SECTIONS = """\
[specmill]
specs = "./specs/"
checks = ["pytest -q"]
check_timeout = 300
protected = ["vendor/**"]
secret_env = ["DEPLOY_TOKEN"]
comment_styles = { ".tpl" = "hash" }

[specmill.models]
timeout = 30
planner = "gpt-4.1"
max_retries = 2
verifiers = [{ model = "gpt-4.1" }, { model = "o4-mini", api_key_env = "OTHER_KEY" }]

[specmill.models.prices.my-model]
input = 1
output = 4.5

[specmill.models.max_output_tokens]
executor = 32000

[specmill.budget]
max_tokens = 2000000
max_usd = 5

[specmill.bot]
delivery = "pull-request"
allowed_associations = ["OWNER", "MEMBER"]
max_jobs = 40

[specmill.hooks]
stale = "report"

[specmill.calibration]
mutants = 4
min_recall = 0.75
"""


def test_importing_the_configuration_imports_no_pydantic(billing: Project) -> None:
    probe = (
        "import json, sys\nimport specmill.core.config\nprint(json.dumps([0, sorted(sys.modules)]))"
    )
    _, modules = loaded(billing, probe)
    assert "specmill.core.config" in modules
    assert forbidden(modules, VALIDATION) == []


def test_a_valid_config_loads_no_pydantic(billing: Project) -> None:
    """The light reader reads a config that sets every section: check, status, affected
    and lint import no pydantic once the specs they read are cached; an invalid config
    is pydantic's to report (then it is imported)."""
    billing.write("specmill.toml", SECTIONS)
    billing.commit("a config that sets every section")
    for path in billing.root.glob("*/billing/*"):  # older than the caches' racy window
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60 * 10**9))
    commands = (["check"], ["status"], ["affected"], ["affected", "--base", "HEAD~1"], ["lint"])
    for args in commands:  # the first run of each parses the specs (YAML, pydantic)
        assert loaded(billing, CLI, *args)[0] == 0
    for args in commands:
        code, modules = loaded(billing, CLI, *args)
        assert (args, code) == (args, 0)
        assert "specmill.core.config" in modules
        assert (args, forbidden(modules, VALIDATION)) == (args, [])
    billing.write("specmill.toml", SECTIONS.replace("max_jobs = 40", "max_jobs = 0"))
    code, modules = loaded(billing, CLI, "lint")
    assert code == 1 and "pydantic" in modules
