"""``specmill check [PATH…]``: hand edits, missing headers, stale, missing, orphan outputs."""

from __future__ import annotations

import click

from specmill.checkout import collect_problems
from specmill.cli.common import (
    echo_json,
    open_project_or_problem,
    repo_relative,
    require_known_paths,
)
from specmill.core.problems import HINTS


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Report generated files that are hand-edited, stale, missing or orphaned.

    With PATHs, only problems in those files or folders (specs or outputs). Prints
    `path:line: kind: message` per problem and exits 1 when there is any.
    """
    root, project, problems = open_project_or_problem()
    if project is not None:
        wanted = repo_relative(root, paths) if paths else None
        if wanted is not None:
            require_known_paths(root, paths, wanted, [*project.owners, *project.by_path])
        problems = collect_problems(project, wanted)
        project.save_cache()
    if as_json:
        echo_json([p.as_dict() for p in problems])
    else:
        for problem in problems:
            click.echo(problem.format())
        for kind in dict.fromkeys(p.kind for p in problems):
            click.echo(f"hint: {kind}: {HINTS[kind]}", err=True)
    ctx.exit(1 if problems else 0)
