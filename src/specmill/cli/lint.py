"""``specmill lint [PATH…]``: specs and configuration are valid."""

from __future__ import annotations

import click

from specmill.cli.common import (
    echo_json,
    open_project_or_problem,
    repo_relative,
    require_known_paths,
)
from specmill.core.lint import lint_problems
from specmill.core.paths import under


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Check specs (front matter, requirement ids, outputs, dependencies) and config.

    With PATHs (files or folders), report only problems in those files.
    """
    root, project, problems = open_project_or_problem()
    if project is not None:
        problems = lint_problems(project)
        if paths:
            wanted = repo_relative(root, paths)
            require_known_paths(root, paths, wanted, [])
            problems = [p for p in problems if under(p.path, wanted)]
    if as_json:
        echo_json([p.as_dict() for p in problems])
    else:
        for problem in problems:
            click.echo(problem.format())
        if not problems and project is not None:
            count = len(project.specs)
            click.echo(f"{count} spec{'s' if count != 1 else ''} and {project.config_path}: ok")
    ctx.exit(1 if problems else 0)
