"""``specmill init``: set up a repository (config, an example spec, hooks, .gitignore)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.errors import SpecmillError
from bot.files import write_atomic

REPO_URL = "https://github.com/specmill/specmill"
REV = "v0.1.0"

CONFIG = """\
# specmill configuration: https://github.com/specmill/specmill#configuration
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

PRE_COMMIT = f"""\
repos:
  - repo: {REPO_URL}
    rev: {REV}
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
    default=Path("."),
    help="Repository root (default: the current folder).",
)
def init(force: bool, target: Path) -> None:
    """Create specmill.toml, an example spec and a pre-commit config."""
    files = {
        "specmill.toml": CONFIG,
        "specs/example/greeting.md": EXAMPLE_SPEC,
    }
    existing = [name for name in files if (target / name).exists()]
    if existing and not force:
        raise SpecmillError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}",
            hint="nothing was written; use --force to overwrite",
        )
    for name, text in files.items():
        write_atomic(target / name, text)
        click.echo(f"wrote {name}")
    pre_commit = target / ".pre-commit-config.yaml"
    if pre_commit.exists() and not force:
        click.echo("\n.pre-commit-config.yaml exists; add these hooks to it:\n")
        click.echo(PRE_COMMIT)
    else:
        write_atomic(pre_commit, PRE_COMMIT)
        click.echo("wrote .pre-commit-config.yaml (run `pre-commit install` to enable it)")
    gitignore = target / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if GITIGNORE_LINE not in lines:
        write_atomic(gitignore, "\n".join([*lines, GITIGNORE_LINE]) + "\n")
        click.echo(f"added {GITIGNORE_LINE} to .gitignore")
    click.echo("\nnext: edit specs/example/greeting.md, then run `specmill regen`")
