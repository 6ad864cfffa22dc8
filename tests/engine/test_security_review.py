"""Security review of the engine: the write guard, the check runner's environment and
the lifetime of what checks start. Model answers and specs are hostile here."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from specmill.core.config import Config
from specmill.core.records import FileContent, RunRecord
from specmill.engine.checks import run_check, scrubbed_environment
from specmill.engine.guard import escapes, guard, refusal
from specmill.engine.prompts import PromptLibrary
from specmill.engine.report import render_review
from specmill.errors import SpecmillError
from specmill.files import sync_gitattributes
from tests.engine.conftest import PASS, Factory, executor, plan

PROTECTED = Config().protected_patterns


def test_an_output_behind_a_symlink_to_a_protected_folder_is_refused(tmp_path: Path) -> None:
    """A folder symlinked *inside* the repository (gen -> .github/workflows) stays in the
    repository, but writing gen/ci.yml would rewrite a workflow (or a spec, or config)."""
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / "gen").symlink_to(".github/workflows")
    assert refusal("gen/ci.yml", ["gen/ci.yml"], PROTECTED) is None  # by its name, fine
    assert escapes(tmp_path, "gen/ci.yml")
    result = guard([FileContent(path="gen/ci.yml", content="on: push\n")], ["gen/ci.yml"],
                   PROTECTED, tmp_path)  # fmt: skip
    assert not result.accepted
    assert "symlink" in result.findings[0].message


def test_regen_never_writes_through_a_symlinked_folder(factory: Factory) -> None:
    workflow = "on: pull_request\njobs: {}\n"
    factory.write(".github/workflows/ci.yml", workflow)
    (factory.root / "gen").symlink_to(".github/workflows")
    factory.write("specs/ci.md", "---\noutputs: [gen/ci.yml]\n---\n# CI\n- **C1** a workflow.\n")
    factory.commit("a spec whose output is behind a symlink")
    factory.answers(
        planner=[plan("gen/ci.yml")],
        executor=[executor("gen/ci.yml", "on: push\njobs: {steal: {}}\n")] * 2,
        verifier=[PASS, PASS] * 2,
    )
    code, _, err = factory.main("regen", "ci")
    assert code == 1, err
    assert "gen/ci.yml is under the symbolic link gen" in err  # before any model call
    assert factory.read(".github/workflows/ci.yml") == workflow
    assert factory.git("status", "--porcelain") == ""


@pytest.mark.parametrize("path", [".GIT/config", "src/.Git/hooks/x.py", "sub/.git"])
def test_dot_git_is_refused_in_any_case_and_as_a_last_component(path: str) -> None:
    # On a case-insensitive file system (macOS, Windows) .GIT/config *is* .git/config.
    assert "inside .git/" in (refusal(path, [path], ()) or "")


@pytest.mark.parametrize("path", ["src/a\x00.py", "src/a\n.py", "src/a\r.py", "src/\u200ba.py"])
def test_paths_with_control_or_invisible_characters_are_refused(path: str) -> None:
    # A declared output with a NUL crashed every os call (a traceback); a newline forged
    # `path:line: kind:` lines, .gitattributes lines and log lines.
    assert "control or invisible character" in (refusal(path, [path], ()) or "")


def _running(pid: int) -> bool:
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


def test_a_background_job_does_not_outlive_a_passing_check(tmp_path: Path) -> None:
    """`server &` (output detached, so the check ends at once) kept running after the
    check: in the bot it would still be there when delivery runs git with the token."""
    pidfile = tmp_path / "pid"
    result = run_check(
        f"(sleep 30) >/dev/null 2>&1 & echo $! > {pidfile}",
        tmp_path,
        env=dict(os.environ),
        timeout=10,
    )
    assert result.passed
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):  # do not leave it behind when the assertion fails
        os.kill(pid, 9)
        pytest.fail("the check's background job outlived the check")


def test_secret_variables_are_recognised_by_their_last_word() -> None:
    environ = {
        "PATH": "/bin",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AZURE_OPENAI_KEY": "x",
        "TOKEN": "x",
        "API_KEY": "x",
        "DB_PASSWORD": "x",
        "GOOGLE_CREDENTIALS": "x",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x",
        "TOKENIZERS_PARALLELISM": "false",
        "DEPLOY_PASSWORD_HINT": "kept",
    }
    assert scrubbed_environment(environ, Config()) == {
        "PATH": "/bin",
        "TOKENIZERS_PARALLELISM": "false",
        "DEPLOY_PASSWORD_HINT": "kept",
    }


def test_a_symlinked_gitattributes_is_never_read_into_a_commit(factory: Factory) -> None:
    """The managed block is merged into the existing .gitattributes: a pull request that
    made it a symlink (to ~/.aws/credentials, /proc/self/environ) had specmill copy the
    target into a regular file, commit it, and the bot push it."""
    secret = factory.root.parent / "credentials"
    secret.write_text("aws_secret_access_key = s3cr3t\n")
    (factory.root / ".gitattributes").unlink()
    (factory.root / ".gitattributes").symlink_to(secret)
    factory.commit("gitattributes as a link")
    factory.answers(
        planner=[plan("src/billing/invoice.py")],
        executor=[executor("src/billing/invoice.py", "def total(items):\n    return 0\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 1, err
    assert ".gitattributes" in err and "symlink" in err
    assert "s3cr3t" not in factory.git("show", "HEAD")
    assert (factory.root / ".gitattributes").is_symlink()
    assert factory.git("status", "--porcelain") == ""


def test_adopt_and_eject_refuse_a_symlinked_gitattributes_too(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("token = s3cr3t\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".gitattributes").symlink_to(secret)
    with pytest.raises(SpecmillError, match="symbolic link"):
        sync_gitattributes(root, ["src/a.py"])
    assert (root / ".gitattributes").is_symlink()
    assert secret.read_text() == "token = s3cr3t\n"


def _override(root: Path, name: str, text: str) -> Path:
    folder = root / ".specmill/templates/prompts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


BLOCKS = "{{% block system %}}{system}{{% endblock %}}{{% block user %}}{user}{{% endblock %}}"


def test_a_prompt_override_cannot_run_python(tmp_path: Path) -> None:
    """Overrides are repository content: in a plain jinja2 Environment, `specmill plan`
    on a cloned repository ran its code in-process (next to the model key and the token),
    no check involved."""
    marker = tmp_path / "pwned"
    payload = "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    _override(tmp_path, "planner.j2", BLOCKS.format(system=payload, user="u"))
    with pytest.raises(SpecmillError, match="prompt template"):
        PromptLibrary(tmp_path).render("planner.j2")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../../../../../../secret.txt", "/etc/hostname", "sub/x.j2"])
def test_a_prompt_override_cannot_include_files_outside_its_folder(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "secret.txt").write_text("s3cr3t")
    root = tmp_path / "a/b/repo"
    root.mkdir(parents=True)
    _override(root, "planner.j2", BLOCKS.format(system="{% include '" + name + "' %}", user="u"))
    with pytest.raises(SpecmillError, match="prompt template"):
        PromptLibrary(root).render("planner.j2")


def test_a_symlinked_prompt_override_is_refused(tmp_path: Path) -> None:
    """A link to ~/.aws/credentials (or /proc/self/environ) would go into the prompt."""
    secret = tmp_path / "credentials"
    secret.write_text(BLOCKS.format(system="s3cr3t", user="u"))
    (tmp_path / ".specmill/templates/prompts").mkdir(parents=True)
    (tmp_path / ".specmill/templates/prompts/planner.j2").symlink_to(secret)
    with pytest.raises(SpecmillError, match="symbolic link"):
        PromptLibrary(tmp_path).render("planner.j2")


def test_a_report_override_cannot_run_python(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / ".specmill/templates/report"
    folder.mkdir(parents=True)
    (folder / "review.md.j2").write_text(
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    )
    project = SimpleNamespace(root=tmp_path, by_id={})
    record = RunRecord(run_id="r", started_at="2026-01-01T00:00:00Z")
    with pytest.raises(SpecmillError, match="report template"):
        render_review(record, project)  # type: ignore[arg-type]
    assert not marker.exists()
