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
from specmill.core.gitattributes import GITATTRIBUTES
from specmill.core.paths import under
from specmill.core.problems import HINTS, Problem
from specmill.core.project import Project, find_root
from specmill.gitcli import start_list_files


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.option(
    "--fix", is_flag=True, help="Rewrite .gitattributes' specmill block when it is out of date."
)
@QUIET
@click.pass_context
def check(
    ctx: click.Context, paths: tuple[str, ...], as_json: bool, fix: bool, quiet: bool
) -> None:
    """Report generated files that are hand-edited, stale, missing or orphaned.

    With PATHs, only problems in those files or folders (specs or outputs). Prints
    `path:line: kind: message` per problem, and what to do on stderr; exits 1 when
    there is any problem. On a terminal, a last line sums it up (`ok: 12 modules, 31
    outputs fresh`). --fix repairs what needs no decision: the .gitattributes block.
    """
    root = find_root()
    listing = start_list_files(root)  # git lists the files while the specs load
    root, project, problems = open_project_or_problem(root)
    checked = ""
    if project is not None:
        wanted = repo_relative(root, paths) if paths else None
        if wanted is not None:
            require_known_paths(root, paths, wanted, [*project.owners, *project.by_path])
        problems = collect_problems(project, wanted, listing)
        project.save_cache()
        if fix:
            problems = _fix(project, problems)
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
            click.echo(f"  fix: {problem.hint or HINTS[problem.kind]}", err=True)
        if problems:
            echo_summary(f"found {plural(len(problems), 'problem')}", quiet=quiet)
        elif checked:
            echo_summary(f"ok: {checked} fresh", quiet=quiet)
    ctx.exit(1 if problems else 0)


def _fix(project: Project, problems: list[Problem]) -> list[Problem]:
    """Rewrite the .gitattributes block if it is reported; the other problems remain."""
    from specmill.files import sync_gitattributes

    stale_block = [p for p in problems if p.path == GITATTRIBUTES and p.kind == "invalid"]
    outputs = sorted(project.owners)
    if stale_block and sync_gitattributes(project.root, outputs):
        marked = plural(len(outputs), "declared output")
        click.echo(f"fixed {GITATTRIBUTES}: its specmill block now marks the {marked}", err=True)
    return [p for p in problems if p not in stale_block]
