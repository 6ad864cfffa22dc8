"""What several commands share: finding the project, printing tables and JSON."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from specmill.core.paths import under
from specmill.core.problems import Problem

if TYPE_CHECKING:
    from specmill.core.project import Project
from specmill.errors import ConfigError, SpecmillError


# specmill.core.project (and the specs it parses) loads when a command
# opens a project: `affected --base` starts git before it loads
def open_project(start: Path | None = None) -> Project:
    from specmill.core.project import find_root, load_project

    return load_project(find_root(start))


def open_project_or_problem(
    start: Path | None = None,
) -> tuple[Path, Project | None, list[Problem]]:
    """For check and lint: a malformed config is an ``invalid`` problem, like a bad spec."""
    from specmill.core.project import find_root, load_project

    root = find_root(start)
    try:
        return root, load_project(root), []
    except ConfigError as error:
        if error.path is None:
            raise
        return root, None, [Problem(error.path, error.line or 1, "invalid", error.message)]


def require_graph(project: Project) -> None:
    """Commands that walk dependencies need every spec valid."""
    first = project.errors[0] if project.errors else project.graph_error
    if first is not None:
        raise SpecmillError(
            f"{first}", hint="run `specmill lint` to see every problem in specs and config"
        )


def require_valid_config(project: Project) -> None:
    """What lint refuses in the configuration, refused here too, with the same message."""
    from specmill.core.config_rules import config_errors

    text = project.read(project.config_path) or ""
    errors = config_errors(project.config, path=project.config_path, text=text)
    if errors:
        raise errors[0]


QUIET = click.option(
    "-q", "--quiet", is_flag=True, help="No summary line on success (as when piped)."
)


def echo_summary(line: str, *, quiet: bool) -> None:
    """A one-line result for a person at a terminal; scripts reading the output (piped
    or redirected) and ``--quiet`` get only the contract's lines."""
    if not quiet and sys.stdout.isatty():
        click.echo(line)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def relative_to_root(project: Project, paths: tuple[str, ...]) -> list[str]:
    """Command-line paths (relative to the current folder) as repository paths."""
    return repo_relative(project.root, paths)


def repo_relative(root: Path, paths: Iterable[str]) -> list[str]:
    """As ``relative_to_root``; a symlink names itself, not its target."""
    out = []
    for raw in paths:
        absolute = Path(os.path.abspath(raw))
        # resolve the folders (the repository may be reached through a symlink), not the
        # file itself: `check src/link.py` is about the link
        absolute = absolute.parent.resolve() / absolute.name if absolute.name else absolute
        try:
            out.append(absolute.relative_to(root.resolve()).as_posix())
        except ValueError:
            raise SpecmillError(f"{raw} is outside the repository {root}") from None
    return out


def require_known_paths(
    root: Path, raw: tuple[str, ...], wanted: list[str], known: Iterable[str]
) -> None:
    """A path that names no file, folder, spec or output is a typo: say so (as git does)."""
    known = list(known)
    for typed, path in zip(raw, wanted, strict=True):
        if path == "." or os.path.lexists(root / path):
            continue
        if not any(under(k, [path]) for k in known):
            raise SpecmillError(
                f"{typed}: no such file or folder, and no spec declares it",
                hint="check the path; paths are relative to the current folder",
            )
