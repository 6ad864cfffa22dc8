"""Shared fixtures: real git repositories in tmp_path with specmill projects in them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _isolated_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n", encoding="utf-8"
    )


def runs_dir(root: Path) -> Path:
    """Where a run's records are: inside the git directory (specmill.engine.runstore)."""
    return root / ".git" / "specmill" / "runs"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


SPEC_MONEY = """\
---
outputs:
  - src/billing/money.py
---
# Money
- **M1** `Money(cents)` is a value.
"""

SPEC_INVOICE = """\
---
outputs:
  - src/billing/invoice.py
  - tests/billing/test_invoice.py
depends_on: [billing.money]
---
# Invoice
- **R1** `Invoice.total()` returns the sum of line totals.
- **R2** A negative quantity raises `ValueError`.
"""


class Project:
    """A git repository with a specmill project, driven through the real CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def commit(self, message: str = "change") -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)

    def run(self, *args: str) -> Result:
        from specmill.cli.main import cli

        old = Path.cwd()
        os.chdir(self.root)
        try:
            return CliRunner().invoke(cli, list(args), catch_exceptions=False)
        finally:
            os.chdir(old)

    def main(self, *args: str) -> tuple[int, str, str]:
        """Run as the console script runs (``specmill.cli.quick.main``: ``affected
        --base`` from the records when they answer, else ``specmill.cli.main.main``, with
        the real error handling and exit codes)."""
        import contextlib
        import io

        from specmill.cli.quick import main

        out, err = io.StringIO(), io.StringIO()
        old = Path.cwd()
        os.chdir(self.root)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        finally:
            os.chdir(old)
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """An empty specmill project (config only) in a fresh git repository."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet")
    p = Project(root)
    p.write("specmill.toml", "[specmill]\n")
    yield p


@pytest.fixture
def billing(project: Project) -> Project:
    """Two modules (invoice depends on money) with adopted, committed outputs."""
    project.write("specs/billing/money.md", SPEC_MONEY)
    project.write("specs/billing/invoice.md", SPEC_INVOICE)
    project.write("src/billing/money.py", "class Money:\n    pass\n")
    project.write("src/billing/invoice.py", "def total():\n    return 0\n")
    project.write("tests/billing/test_invoice.py", "def test_total():\n    assert True\n")
    code, _, err = project.main(
        "adopt", "src/billing/money.py", "src/billing/invoice.py", "tests/billing/test_invoice.py"
    )
    assert code == 0, err
    project.commit("adopt billing")
    return project


MakeProject = Callable[..., Project]

DOCS = Path(__file__).resolve().parents[1] / "docs"


def docs_example(page: str, after: str) -> str:
    """The first plain code block (a command's output, shown as users see it) in the docs
    page ``page`` after the text ``after``: tests compare what specmill prints with it."""
    following = (DOCS / page).read_text(encoding="utf-8").split(after, 1)[1]
    return following.split("\n```\n", 2)[1] + "\n"
