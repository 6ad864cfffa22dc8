"""``specmill init``: set up a repository (config, an example spec, hooks, .gitignore)."""

from __future__ import annotations

from pathlib import Path

import click

from specmill.core.layout import PYPROJECT_FILE, PYPROJECT_TABLE
from specmill.errors import SpecmillError
from specmill.files import write_atomic
from specmill.gitcli import run_git
from specmill.installed import installed_revision

CONFIG = """\
# specmill configuration: https://github.com/specmill/specmill/blob/main/docs/configuration.md
[specmill]
specs = "specs"              # where specs live; every *.md below it (but README.md) is a spec
# checks = ["pytest -q"]     # commands every generated module must pass (per spec: `checks:`)
# governance = ["docs/STYLE.md"]  # your style rules, given to every agent

[specmill.models]
# Any OpenAI-compatible endpoint; OPENAI_API_KEY and OPENAI_BASE_URL are honoured.
planner = "gpt-4.1"
fast = "gpt-4.1-mini"
standard = "gpt-4.1"
strong = "o3"
"""

EXAMPLE_SPEC = """\
---
outputs:
  - src/example/greeting.py
tier: auto
---
# Greeting

- **R1** `greet(name: str) -> str` returns `"Hello, <name>!"`.
- **R2** `greet("")` raises `ValueError` with the message `"name must not be empty"`.
"""

PRE_COMMIT = """\
repos:
  - repo: {repo}
    rev: {rev}{comment}
    hooks:
      - id: specmill-no-hand-edits
      - id: specmill-lint
      - id: specmill-stale
"""

GITIGNORE_LINE = ".specmill/runs/"


@click.command()
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--path",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to set up (default: the top of the current git repository, else the current "
    "folder).",
)
def init(force: bool, target: Path | None) -> None:
    """Create specmill.toml, an example spec and a pre-commit config."""
    if target is None:
        target = _repository_top()
    gitignore = target / ".gitignore"
    ignored = _read_text(gitignore)  # before writing anything: it may be unreadable
    files = {
        "specmill.toml": CONFIG,
        "specs/example/greeting.md": EXAMPLE_SPEC,
    }
    existing = [name for name in files if (target / name).exists()]
    if _has_tool_table(target / PYPROJECT_FILE):  # a specmill.toml would shadow it
        existing.insert(0, f"[tool.specmill] in {PYPROJECT_FILE}")
    if existing and not force:
        raise SpecmillError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}",
            hint="nothing was written; use --force to overwrite",
        )
    for name, text in files.items():
        write_atomic(target / name, text)
        click.echo(f"wrote {name}")
    pre_commit = target / ".pre-commit-config.yaml"
    repo, rev, comment = installed_revision()
    hooks = PRE_COMMIT.format(repo=repo, rev=rev, comment=f"  # {comment}" if comment else "")
    if pre_commit.exists() and not force:
        click.echo("\n.pre-commit-config.yaml exists; add these hooks to it:\n")
        click.echo(hooks)
    else:
        write_atomic(pre_commit, hooks)
        click.echo("wrote .pre-commit-config.yaml (run `pre-commit install` to enable it)")
    if GITIGNORE_LINE not in ignored.splitlines():
        newline = "\r\n" if "\r\n" in ignored else "\n"
        if ignored and not ignored.endswith("\n"):
            ignored += newline
        write_atomic(gitignore, ignored + GITIGNORE_LINE + newline)
        click.echo(f"added {GITIGNORE_LINE} to .gitignore")
    click.echo(
        "\nnext: edit specs/example/greeting.md, check the model endpoint with `specmill"
        " doctor`, then run `specmill regen`. Until then `specmill check` reports"
        " src/example/greeting.py as missing: only a model call generates it."
    )


def _repository_top() -> Path:
    """The top of the git repository around the current folder (pre-commit and the hooks
    look there), else the current folder."""
    try:
        here = Path.cwd()
    except FileNotFoundError:
        raise SpecmillError("the current folder no longer exists") from None
    top = run_git(here, "rev-parse", "--show-toplevel")
    if top is None:
        return Path(".")
    root = Path(top.decode("utf-8", "surrogateescape").strip())
    if root.resolve() != here.resolve():
        click.echo(f"setting up the repository root, {root}")
    return root


def _read_text(path: Path) -> str:
    """A text file as it is (other encodings and CRLF kept), or "" when absent."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise SpecmillError(
            f"cannot read {path}: {exc.strerror or exc}", hint="nothing was written"
        ) from None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        return PYPROJECT_TABLE in pyproject.read_bytes()
    except OSError:
        return False
