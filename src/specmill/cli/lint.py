"""``specmill lint [PATH…]``: specs and configuration are valid."""

from __future__ import annotations

import click

from specmill.cli.common import (
    QUIET,
    echo_json,
    echo_summary,
    open_project_or_problem,
    plural,
    repo_relative,
    require_known_paths,
)
from specmill.core.lint import lint_problems
from specmill.core.paths import under
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.repo_files import OVERRIDES, PROMPTS


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@QUIET
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Check specs (front matter, requirement ids, outputs, dependencies), config and
    prompt overrides: every error of every file, and what regen would refuse later.

    With PATHs (files or folders), report only problems in those files.
    """
    root, project, problems = open_project_or_problem()
    if project is not None:
        problems = lint_problems(project) + _override_problems(project)
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
            summary = f"ok: {plural(len(project.specs), 'spec')} and {project.config_path}"
            echo_summary(summary, quiet=quiet)
        elif problems:
            echo_summary(f"found {plural(len(problems), 'problem')}", quiet=quiet)
    ctx.exit(1 if problems else 0)


def _override_problems(project: Project) -> list[Problem]:
    folder = project.root / OVERRIDES / PROMPTS
    if not folder.is_dir() or folder.is_symlink():
        return []  # no prompt overrides: the engine and jinja2 need not load
    from specmill.engine.prompts import PromptLibrary

    return [
        Problem(error.path or OVERRIDES, error.line or 1, "invalid", error.message)
        for error in PromptLibrary(project.root).check_overrides()
    ]
