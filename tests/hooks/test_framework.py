"""The hooks through the real pre-commit framework, in throwaway git repositories.

pre-commit needs the hooks repository to be a git repository with the manifest
committed. The checkout under test may hold uncommitted work, so a session fixture
copies it (tracked files and untracked, not ignored ones) into a temporary repository
and commits there.

- ``pre-commit try-repo COPY HOOK``: a failing and a passing case for every hook.
  try-repo builds its hook environment (a virtualenv with specmill pip-installed) in
  a store of its own every time, whatever PRE_COMMIT_HOME says, so it is kept to those.
- ``pre-commit run`` with a config naming the copy (``repo:`` and ``rev:``, as users
  write it): every other case. Its environment is built once, in a PRE_COMMIT_HOME
  that these tests share for the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project, git

pytestmark = pytest.mark.framework

CHECKOUT = Path(__file__).resolve().parents[2]
NOT_SOURCE = {"__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
# before the tests' own HOME is swapped in: pip keeps downloads across sessions there
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the checkout, as a user's ``repo:`` would point to."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    copy = tmp_path_factory.mktemp("specmill-hooks-repo")
    for relative in filter(None, listed.split("\0")):
        parts = Path(relative).parts
        source = CHECKOUT / relative
        if NOT_SOURCE & set(parts) or any(p.endswith(".egg-info") for p in parts):
            continue
        if source.is_file():
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / relative)
    assert (copy / ".pre-commit-hooks.yaml").is_file()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(copy.parent)}
    for args in (["init", "--quiet"], ["add", "--all"]):
        subprocess.run(["git", *args], cwd=copy, check=True, env=env)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "-m",
            "hooks under test",
        ],
        cwd=copy,
        check=True,
        env=env,
    )
    return copy


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def hooks_rev(hooks_repo: Path) -> str:
    return git(hooks_repo, "rev-parse", "HEAD").strip()


def _pre_commit(project: Project, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color=never"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PIP_CACHE_DIR": PIP_CACHE, **env},
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    return done.returncode, output


@pytest.fixture
def try_repo(hooks_repo: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``pre-commit try-repo COPY HOOK [ARGS]`` in the project."""

    def run(project: Project, hook: str, *args: str) -> tuple[int, str]:
        home = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}  # unused by try-repo
        return _pre_commit(project, ["try-repo", str(hooks_repo), hook, *args], home)

    return run


@pytest.fixture
def pre_commit(hooks_repo: Path, hooks_rev: str, pre_commit_home: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``pre-commit run HOOK [ARGS]`` with all three hooks configured from the copy."""
    config = tmp_path / "pre-commit-config.yaml"
    ids = ["specmill-no-hand-edits", "specmill-lint", "specmill-stale"]
    config.write_text(
        f"repos:\n- repo: {hooks_repo}\n  rev: {hooks_rev}\n  hooks:\n"
        + "".join(f"  - id: {hook}\n" for hook in ids),
        encoding="utf-8",
    )

    def run(project: Project, hook: str, *args: str, **env: str) -> tuple[int, str]:
        command = ["run", "--config", str(config), hook, *args]
        return _pre_commit(project, command, {"PRE_COMMIT_HOME": str(pre_commit_home), **env})

    return run


INVOICE_EDIT = (  # the billing fixture's outputs are adopted
    "src/billing/invoice.py:7: hand-edited: edited since `specmill adopt` recorded it for "
    "specs/billing/invoice.md (module billing.invoice)"
)


def hand_edit(project: Project, path: str = "src/billing/invoice.py") -> None:
    project.write(path, project.read(path).replace("return 0", "return 42"))


def add_requirement(project: Project) -> None:
    text = project.read("specs/billing/money.md")
    project.write("specs/billing/money.md", text + "- **M2** `Money` adds.\n")


def test_try_repo_no_hand_edits_blocks_a_hand_edit_naming_file_and_line(
    billing: Project,
    try_repo,  # type: ignore[no-untyped-def]
) -> None:
    hand_edit(billing)
    billing.git("add", "--all")
    code, output = try_repo(billing, "specmill-no-hand-edits")
    assert code == 1, output
    assert "- hook id: specmill-no-hand-edits" in output
    assert INVOICE_EDIT in output.splitlines()
    assert "SKIP=specmill-no-hand-edits" in output


def test_try_repo_no_hand_edits_passes_a_clean_tree(billing: Project, try_repo) -> None:  # type: ignore[no-untyped-def]
    code, output = try_repo(billing, "specmill-no-hand-edits", "--all-files")
    assert code == 0, output
    assert "Passed" in output


def test_try_repo_lint_rejects_a_malformed_spec_without_a_traceback(
    billing: Project,
    try_repo,  # type: ignore[no-untyped-def]
) -> None:
    billing.write("specs/billing/money.md", "---\noutputs: src/billing/money.py\n---\n# Money\n")
    billing.git("add", "--all")
    code, output = try_repo(billing, "specmill-lint")
    assert code == 1, output
    assert "- hook id: specmill-lint" in output
    assert "specs/billing/money.md:2: invalid: outputs: Input should be a valid list" in output


def test_try_repo_lint_passes_valid_specs(billing: Project, try_repo) -> None:  # type: ignore[no-untyped-def]
    add_requirement(billing)
    billing.git("add", "--all")
    code, output = try_repo(billing, "specmill-lint")
    assert code == 0, output
    assert "Passed" in output


def test_try_repo_stale_fails_when_a_spec_changed_without_regen(
    billing: Project,
    try_repo,  # type: ignore[no-untyped-def]
) -> None:
    add_requirement(billing)
    billing.git("add", "--all")
    code, output = try_repo(billing, "specmill-stale")
    assert code == 1, output
    assert "- hook id: specmill-stale" in output
    assert (
        "specs/billing/money.md:1: stale: billing.money: its inputs changed since "
        "src/billing/money.py was adopted"
    ) in output.splitlines()
    assert "  fix: specmill regen billing.money billing.invoice" in output.splitlines()


def test_try_repo_stale_passes_regenerated_modules(billing: Project, try_repo) -> None:  # type: ignore[no-untyped-def]
    add_requirement(billing)
    paths = ["src/billing/money.py", "src/billing/invoice.py", "tests/billing/test_invoice.py"]
    code, _, err = billing.main("adopt", "--force", *paths)  # stands in for `specmill regen`
    assert code == 0, err
    billing.git("add", "--all")
    code, output = try_repo(billing, "specmill-stale")
    assert code == 0, output
    assert "Passed" in output


def test_the_staged_content_of_partly_staged_files_is_checked(billing: Project, pre_commit) -> None:  # type: ignore[no-untyped-def]
    clean = billing.read("src/billing/invoice.py")
    hand_edit(billing)
    billing.git("add", "--all")
    billing.write("src/billing/invoice.py", clean)  # the fix, not staged
    code, output = pre_commit(billing, "specmill-no-hand-edits")
    assert code == 1, output
    assert INVOICE_EDIT in output.splitlines()
    assert billing.read("src/billing/invoice.py") == clean  # pre-commit restored it

    billing.git("add", "--all")
    hand_edit(billing)  # now the hand edit is the unstaged part
    code, output = pre_commit(billing, "specmill-no-hand-edits")
    assert code == 0, output


def test_a_commit_that_only_deletes_is_checked(billing: Project, pre_commit) -> None:  # type: ignore[no-untyped-def]
    billing.git("rm", "--quiet", "src/billing/money.py")
    code, output = pre_commit(billing, "specmill-no-hand-edits")
    assert code == 1, output
    assert (
        "specs/billing/money.md:3: missing: src/billing/money.py was deleted, but "
        "specs/billing/money.md (module billing.money) still declares it"
    ) in output.splitlines()


def test_many_files_in_several_processes_report_each_problem_once(
    billing: Project,
    pre_commit,  # type: ignore[no-untyped-def]
) -> None:
    hand_edit(billing)
    billing.git("rm", "--quiet", "src/billing/money.py")
    for i in range(40):
        billing.write(f"docs/page{i:02}.md", f"# page {i}\n")
    billing.git("add", "--all")
    code, output = pre_commit(billing, "specmill-no-hand-edits")
    assert code == 1, output
    lines = output.splitlines()
    assert lines.count(INVOICE_EDIT) == 1
    assert sum(line.startswith("specs/billing/money.md:3: missing: ") for line in lines) == 1


def test_a_git_mv_of_a_generated_file_is_told_to_use_specmill_mv(
    billing: Project, pre_commit
) -> None:  # type: ignore[no-untyped-def]
    billing.git("mv", "src/billing/money.py", "src/billing/cash.py")
    code, output = pre_commit(billing, "specmill-no-hand-edits")
    assert code == 1, output
    assert (
        "  fix: `git mv src/billing/cash.py src/billing/money.py && specmill mv "
        "src/billing/money.py src/billing/cash.py` moves it and updates specs/billing/money.md "
        "and .gitattributes (no model call); or name src/billing/cash.py instead of "
        "src/billing/money.py in the outputs of specs/billing/money.md in the same commit"
    ) in output.splitlines()
    assert "orphan" not in output  # one rename, one problem


def test_skip_bypasses_no_hand_edits(billing: Project, pre_commit) -> None:  # type: ignore[no-untyped-def]
    hand_edit(billing)
    billing.git("add", "--all")
    code, output = pre_commit(billing, "specmill-no-hand-edits", SKIP="specmill-no-hand-edits")
    assert code == 0, output
    assert "Skipped" in output


def test_stale_runs_at_pre_push(billing: Project, pre_commit) -> None:  # type: ignore[no-untyped-def]
    billing.write("specs/billing/tax.md", "---\noutputs:\n  - src/billing/tax.py\n---\n# Tax\n")
    billing.commit("declare tax")
    refs = ["--from-ref", "HEAD~1", "--to-ref", "HEAD"]
    code, output = pre_commit(billing, "specmill-stale", "--hook-stage", "pre-push", *refs)
    assert code == 1, output
    assert "specs/billing/tax.md:3: missing: billing.tax: src/billing/tax.py is declared" in output


def test_every_hook_passes_a_clean_tree(billing: Project, pre_commit) -> None:  # type: ignore[no-untyped-def]
    for hook in ("specmill-no-hand-edits", "specmill-lint", "specmill-stale"):
        code, output = pre_commit(billing, hook, "--all-files")
        assert code == 0, output


def readme_local_hooks() -> str:
    """The hooks page's ``repo: local`` recipe (docs/hooks.md), exactly as users copy it."""
    page = (CHECKOUT / "docs" / "hooks.md").read_text(encoding="utf-8")
    blocks = page.split("```yaml\n")[1:]
    (recipe,) = [b.split("```")[0] for b in blocks if "- repo: local" in b]
    return recipe


def test_the_readme_local_recipe_runs_the_installed_hooks_offline(
    billing: Project, tmp_path: Path
) -> None:
    """`language: system` runs the console scripts of the specmill installed here: no
    clone, no virtualenv, no network."""
    billing.write(".pre-commit-config.yaml", readme_local_hooks())
    billing.git("add", "--all")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    code, output = _pre_commit(billing, ["run", "--all-files"], env)
    assert code == 0, output
    assert output.count("Passed") == 3
    hand_edit(billing)
    add_requirement(billing)
    billing.git("add", "--all")
    code, output = _pre_commit(billing, ["run"], env)
    assert code == 1, output
    assert INVOICE_EDIT in output.splitlines()
    assert "specs/billing/money.md:1: stale: billing.money" in output


@pytest.fixture
def commit_with_hooks(hooks_repo: Path, hooks_rev: str, pre_commit_home: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``git commit`` in the project with all three hooks installed by ``pre-commit install``."""
    config = tmp_path / "pre-commit-config.yaml"
    ids = ["specmill-no-hand-edits", "specmill-lint", "specmill-stale"]
    config.write_text(
        f"repos:\n- repo: {hooks_repo}\n  rev: {hooks_rev}\n  hooks:\n"
        + "".join(f"  - id: {hook}\n" for hook in ids),
        encoding="utf-8",
    )
    env = {**os.environ, "PIP_CACHE_DIR": PIP_CACHE, "PRE_COMMIT_HOME": str(pre_commit_home)}

    def run(project: Project, *args: str) -> tuple[int, str]:
        subprocess.run(
            [sys.executable, "-m", "pre_commit", "install", "--config", str(config)],
            cwd=project.root,
            check=True,
            capture_output=True,
            env=env,
        )
        done = subprocess.run(
            ["git", "commit", *args],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=1800,
            env={**env, "PRE_COMMIT_COLOR": "never"},
        )
        return done.returncode, done.stdout + done.stderr

    return run


def test_readme_eject_flow_passes_every_hook(billing: Project, commit_with_hooks) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = billing.main("eject", "tests/billing/test_invoice.py")
    assert code == 0, err
    code, output = commit_with_hooks(billing, "-am", "Maintain the invoice tests by hand")
    assert code == 0, output
    for hook in ("generated files are not edited by hand", "generated files are regenerated"):
        assert any(
            line.startswith(hook) and line.endswith("Passed") for line in output.splitlines()
        )
    assert billing.main("check")[0] == 0


def test_readme_rename_flow_passes_every_hook(billing: Project, commit_with_hooks) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = billing.main("mv", "src/billing/invoice.py", "src/billing/invoices.py")
    assert code == 0, err
    billing.git("add", "--all")
    code, output = commit_with_hooks(billing, "-m", "Rename the invoice module")
    assert code == 0, output
    assert "Failed" not in output
    assert billing.git("status", "--porcelain") == ""
    assert billing.main("check")[0] == 0


def _git_commit_with_init_hooks(
    project: Project, hooks_repo: Path, hooks_rev: str, home: Path, *args: str, **env: str
) -> tuple[int, str]:
    """``git commit`` with the hooks exactly as ``specmill init`` configured them (only
    ``repo:`` and ``rev:`` point at the copy under test)."""
    import re

    config = project.read(".pre-commit-config.yaml")
    config = re.sub(r"repo: \S+", f"repo: {hooks_repo}", config)
    project.write(".pre-commit-config.yaml", re.sub(r"rev: \S+", f"rev: {hooks_rev}", config))
    full = {**os.environ, "PIP_CACHE_DIR": PIP_CACHE, "PRE_COMMIT_HOME": str(home), **env}
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=project.root,
        check=True,
        capture_output=True,
        env=full,
    )
    project.git("add", "--all")
    done = subprocess.run(
        ["git", "commit", *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**full, "PRE_COMMIT_COLOR": "never"},
    )
    return done.returncode, done.stdout + done.stderr


SKIP_STALE = "SKIP=specmill-stale git commit ..."


def test_a_spec_only_commit_after_init_takes_the_step_the_stale_hook_prints(
    project: Project, hooks_repo: Path, hooks_rev: str, pre_commit_home: Path
) -> None:
    (project.root / "specmill.toml").unlink()
    code, _, err = project.main("init")
    assert code == 0, err
    commit = lambda *args, **env: _git_commit_with_init_hooks(  # noqa: E731
        project, hooks_repo, hooks_rev, pre_commit_home, *args, **env
    )
    code, output = commit("-m", "Set up specmill")  # the example's output is not generated
    assert code == 1, output
    assert "specs/example/greeting.md:3: missing: example.greeting:" in output
    assert SKIP_STALE in output
    code, output = commit("-m", "Set up specmill", SKIP="specmill-stale")
    assert code == 0, output

    spec = project.read("specs/example/greeting.md")
    project.write("specs/example/greeting.md", spec + "- **R3** `greet` trims the name.\n")
    code, output = commit("-m", "Greeting trims")
    assert code == 1 and SKIP_STALE in output, output
    code, output = commit("-m", "Greeting trims", SKIP="specmill-stale")
    assert code == 0, output
    assert project.git("status", "--porcelain") == ""


def test_with_the_action_set_up_a_spec_only_commit_passes_and_shows_the_report(
    project: Project, hooks_repo: Path, hooks_rev: str, pre_commit_home: Path
) -> None:
    (project.root / "specmill.toml").unlink()
    (project.root / ".github/workflows").mkdir(parents=True)
    shutil.copy(CHECKOUT / "examples/workflows/specmill.yml", project.root / ".github/workflows")
    code, _, err = project.main("init")
    assert code == 0, err
    code, output = _git_commit_with_init_hooks(
        project, hooks_repo, hooks_rev, pre_commit_home, "-m", "Set up specmill"
    )
    assert code == 0, output
    assert "specs/example/greeting.md:3: missing: example.greeting:" in output  # verbose: shown
    assert "specmill-stale: reported, not blocking" in output
