"""``specmill affected``: the modules to regenerate, in dependency order."""

from __future__ import annotations

import json

import click

from specmill import gitcli
from specmill.cli.common import QUIET, echo_json, echo_summary, open_project, require_graph
from specmill.core.affected import affected_modules
from specmill.core.matrix import matrix_jobs
from specmill.core.project import Project
from specmill.errors import SpecmillError


@click.command()
@click.option("--base", metavar="REV", help="Only modules whose inputs changed since REV.")
@click.option(
    "--head", metavar="REV", help="Compare with REV instead of the working tree (with --base)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of module ids.")
@click.option(
    "--matrix",
    is_flag=True,
    help="Print a GitHub Actions matrix: independent groups packed into at most bot.max_jobs jobs.",
)
@QUIET
def affected(base: str | None, head: str | None, as_json: bool, matrix: bool, quiet: bool) -> None:
    """List the modules to regenerate (stale by inputs hash, then their dependents)."""
    if as_json and matrix:
        raise click.UsageError("--json and --matrix are exclusive")
    if head and not base:
        raise click.UsageError("--head needs --base")
    project = open_project()
    changed = None
    if base:
        base_sha = _revision(project, base)
        head_sha = None
        if head:
            head_sha = _revision(project, head)
            if head_sha != gitcli.rev_parse(project.root, "HEAD"):
                raise SpecmillError(
                    f"--head {head} is not the checked-out commit",
                    hint=f"check it out first (git switch --detach {head}), then run again",
                )
        if gitcli.run_git(project.root, "merge-base", base_sha, head_sha or "HEAD") is None:
            click.echo(
                f"specmill: warning: no merge base between {base} and "
                f"{head or 'HEAD'} (a shallow clone, or unrelated histories); "
                f"comparing with {base} itself",
                err=True,
            )
        changed = gitcli.changed_paths(project.root, base_sha, head_sha)
    require_graph(project)
    modules = affected_modules(project, changed)
    project.save_cache()
    if as_json:
        echo_json(modules)
    elif matrix:
        assert project.graph is not None
        jobs = matrix_jobs(project.graph, modules, project.config.bot.max_jobs)
        include = [job.entry() for job in jobs]
        click.echo(json.dumps({"include": include}, separators=(",", ":")))
    else:
        for module in modules:
            click.echo(module)
        if not modules:
            echo_summary("nothing affected", quiet=quiet)


def _revision(project: Project, rev: str) -> str:
    sha = gitcli.rev_parse(project.root, rev)
    if sha is not None:
        return sha
    if gitcli.run_git(project.root, "rev-parse", "--git-dir") is None:
        raise SpecmillError(
            f"--base/--head need git, and {project.root} is not inside a git repository"
        )
    if gitcli.rev_parse(project.root, "HEAD") is None:
        raise SpecmillError(
            f"unknown revision {rev!r}: the repository has no commits yet",
            hint="commit first, or leave out --base to list every module to regenerate",
        )
    raise SpecmillError(
        f"unknown revision {rev!r}",
        hint="fetch it first (git fetch origin), with enough history (fetch-depth: 0)",
    )
