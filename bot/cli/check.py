"""``specmill check [PATH…]``: hand edits, missing headers, stale, missing, orphan outputs."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import click

from bot import gitcli
from bot.cli.common import (
    echo_json,
    open_project_or_problem,
    repo_relative,
    require_known_paths,
    under,
)
from bot.core.header import split_header
from bot.core.problems import HINTS, Problem
from bot.core.project import Project
from bot.core.status import find_problems, project_status


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


def collect_problems(project: Project, wanted: list[str] | None = None) -> list[Problem]:
    statuses = project_status(project)
    tracked = gitcli.list_files(project.root)
    candidates = tracked if tracked is not None else _walk(project.root)
    problems = find_problems(project, statuses, candidates=candidates)
    if wanted is not None:
        problems = [p for p in problems if _selected(p, wanted, project)]
    if tracked is not None:
        problems = [_locate_hand_edit(p, project) for p in problems]
    return problems


def _selected(problem: Problem, wanted: list[str], project: Project) -> bool:
    if under(problem.path, wanted):
        return True
    spec = project.by_id.get(problem.module or "")
    return spec is not None and (
        under(spec.path, wanted) or any(under(o, wanted) for o in spec.outputs)
    )


def _walk(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".specmill", "node_modules", ".venv")]
        found += [Path(folder, f).relative_to(root).as_posix() for f in files]
    return found


def _locate_hand_edit(problem: Problem, project: Project) -> Problem:
    """Point a hand edit at the first line that differs from the committed version."""
    if problem.kind != "hand-edited":
        return problem
    before = gitcli.show(project.root, "HEAD", problem.path)
    now = project.read(problem.path)
    if before is None or now is None:
        return problem
    line = first_changed_line(before, now, problem.path)
    if line is None:
        return problem
    return Problem(problem.path, line, problem.kind, problem.message, problem.module)


def first_changed_line(before: str, after: str, path: str) -> int | None:
    """1-based line of ``after`` where it first departs from ``before`` (the header stays)."""
    old = before.replace("\r\n", "\n").split("\n")
    new = after.replace("\r\n", "\n").split("\n")
    if split_header(before, path).header is None:
        return None
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, j1, _ in matcher.get_opcodes():
        if tag != "equal":
            return min(j1 + 1, len(new))
    return None
