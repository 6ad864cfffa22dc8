"""What several commands share: finding the project, printing tables and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.core.project import Project, find_root, load_project
from bot.errors import SpecmillError


def open_project(start: Path | None = None) -> Project:
    return load_project(find_root(start))


def require_graph(project: Project) -> None:
    """Commands that walk dependencies need every spec valid."""
    first = project.errors[0] if project.errors else project.graph_error
    if first is not None:
        raise SpecmillError(
            f"{first}", hint="run `specmill lint` to see every problem in specs and config"
        )


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def relative_to_root(project: Project, paths: tuple[str, ...]) -> list[str]:
    """Command-line paths (relative to the current folder) as repository paths."""
    out = []
    for raw in paths:
        absolute = Path(raw).resolve()
        try:
            out.append(absolute.relative_to(project.root.resolve()).as_posix())
        except ValueError:
            raise SpecmillError(f"{raw} is outside the repository {project.root}") from None
    return out
