"""``specmill check [PATH…]``: hand edits, missing headers, stale, missing, orphan outputs."""

from __future__ import annotations

import click

from specmill.checkout import collect_problems
from specmill.cli.common import (
    QUIET,
    echo_json,
    echo_summary,
    open_project_or_problem,
    plural,
    repo_relative,
    require_known_paths,
)
from specmill.core.paths import under
from specmill.core.problems import HINTS


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@QUIET
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Report generated files that are hand-edited, stale, missing or orphaned.

    With PATHs, only problems in those files or folders (specs or outputs). Prints
    `path:line: kind: message` per problem and exits 1 when there is any; on a
    terminal, a last line sums it up (`ok: 12 modules, 31 outputs fresh`).
    """
    root, project, problems = open_project_or_problem()
    checked = ""
    if project is not None:
        wanted = repo_relative(root, paths) if paths else None
        if wanted is not None:
            require_known_paths(root, paths, wanted, [*project.owners, *project.by_path])
        problems = collect_problems(project, wanted)
        project.save_cache()
        specs = [
            spec
            for spec in project.specs
            if wanted is None
            or under(spec.path, wanted)
            or any(under(o, wanted) for o in spec.outputs)
        ]
        outputs = sum(
            1 for spec in specs for o in spec.outputs if wanted is None or under(o, wanted)
        )
        checked = f"{plural(len(specs), 'module')}, {plural(outputs, 'output')}"
    if as_json:
        echo_json([p.as_dict() for p in problems])
    else:
        for problem in problems:
            click.echo(problem.format())
        for kind in dict.fromkeys(p.kind for p in problems):
            click.echo(f"hint: {kind}: {HINTS[kind]}", err=True)
        if problems:
            echo_summary(f"found {plural(len(problems), 'problem')}", quiet=quiet)
        elif checked:
            echo_summary(f"ok: {checked} fresh", quiet=quiet)
    ctx.exit(1 if problems else 0)
