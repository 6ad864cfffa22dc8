"""``specmill init``: set up a repository (config, an example spec, hooks, .gitignore).

What it proposes comes from the repository (``specmill.core.setup_plan``): the
ecosystem's checks and an example spec in its language, and a stale hook that reports
without blocking when a workflow already regenerates with the specmill Action.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import click

from specmill.core.layout import PYPROJECT_FILE, PYPROJECT_TABLE
from specmill.core.setup_plan import (
    ECOSYSTEMS,
    Ecosystem,
    detect_ecosystem,
    regenerating_workflow,
)
from specmill.errors import SpecmillError
from specmill.files import write_atomic
from specmill.gitcli import run_git
from specmill.installed import installed_revision

GITIGNORE_LINE = ".specmill/runs/"
MAX_READ = 1 << 20  # of a manifest or a workflow: more is not a manifest init can use


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
@click.option(
    "--ecosystem",
    type=click.Choice(sorted(ECOSYSTEMS)),
    default=None,
    help="The example spec's language and the proposed checks (default: read from "
    "package.json, go.mod, Cargo.toml or pyproject.toml).",
)
def init(force: bool, target: Path | None, ecosystem: str | None) -> None:
    """Create specmill.toml, an example spec and a pre-commit config."""
    if target is None:
        target = _repository_top()
    gitignore = target / ".gitignore"
    ignored = _read_text(gitignore)  # before writing anything: it may be unreadable
    found, others = detect_ecosystem(lambda name: _read_manifest(target / name), ecosystem)
    workflow = regenerating_workflow(_workflows(target))
    example_spec = f"specs/example/{PurePosixPath(found.example).stem}.md"
    files = {
        "specmill.toml": _render("specmill.toml.j2", ecosystem=found, workflow=workflow),
        example_spec: _render(f"example/{found.name}.md.j2", ecosystem=found),
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
    hooks = _render(
        "pre-commit-config.yaml.j2",
        repo=repo,
        rev=rev,
        comment=f"  # {comment}" if comment else "",
        workflow=workflow,
    )
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
    _explain(found, others, workflow, example_spec)


def _explain(found: Ecosystem, others: list[str], workflow: str | None, spec: str) -> None:
    click.echo(
        f"\nproposed check `{found.check}` (from {found.why}), commented out in"
        " specmill.toml: enable it once it passes in a fresh checkout"
    )
    if others:
        click.echo(
            f"also found {', '.join(others)}: `specmill init --force --ecosystem NAME` "
            "writes the example for another language"
        )
    if workflow:
        click.echo(
            f"{workflow} regenerates pull requests with the specmill Action: specmill-stale "
            'reports stale modules without blocking a commit (hooks.stale = "report")'
        )
    click.echo(
        f"next: edit {spec}, check the model endpoint with `specmill doctor`, then run"
        f" `specmill regen`. Until then `specmill check` reports {found.example} as missing:"
        " only a model call generates it."
    )


def _render(name: str, **variables: Any) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("specmill.templates", "init"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # TOML, YAML, Markdown; no value from the repository but a safe name
    )
    return environment.get_template(name).render(**variables)


def _read_manifest(path: Path) -> str | None:
    """A manifest's text (at most 1 MB read), or None when there is no such file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_READ)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SpecmillError(f"cannot read {path}: {exc.strerror or exc}") from None


def _workflows(root: Path) -> dict[str, str]:
    folder = root / ".github" / "workflows"
    found = {}
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        text = _read_manifest(path) if path.is_file() and not path.is_symlink() else None
        if text is not None:
            found[path.name] = text
    return found


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
