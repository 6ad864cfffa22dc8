"""``specmill regen [MODULE…]``: regenerate modules from their specs, verify, commit."""

from __future__ import annotations

import shlex

import click

from specmill.cli.common import open_project, require_graph, require_valid_config
from specmill.core.project import Project, find_root
from specmill.core.status import project_status
from specmill.engine.lock import git_dir_of, repository_lock
from specmill.engine.run import RunOutcome
from specmill.engine.selection import Selection, select_modules
from specmill.errors import SpecmillError


def selection(project: Project, modules: tuple[str, ...], base: str | None) -> Selection:
    changed = None
    if base:
        from specmill.repo import Repo

        changed = Repo(project.root).changed_paths(base)
    return select_modules(project, project_status(project), modules, changed)


def describe_backend(project: Project) -> str:
    models = project.config.models
    if models.backend == "scripted":
        return f"model: scripted answers from {models.script} (no model is called)"
    from specmill.core.printable import printable
    from specmill.llm.endpoints import host_of, resolve_base_url

    try:  # host:port only, as `specmill doctor` shows it: a URL may hold a user and a key
        where = printable(host_of(resolve_base_url(models)))
    except ValueError:  # urlsplit's "Invalid IPv6 URL", a port that is not a number
        where = "a base URL that is not a valid URL"
    tiers = f"{models.fast}/{models.standard}/{models.strong}"
    verifiers = ", ".join(v.model for v in models.verifiers)
    return f"models at {where}: planner {models.planner}, executor {tiers}, verifiers {verifiers}"


@click.command()
@click.argument("modules", nargs=-1)
@click.option("--affected", is_flag=True, help="The modules whose inputs changed (and dependents).")
@click.option("--base", metavar="REV", help="With --affected: only inputs changed since REV.")
@click.option("--dry-run", is_flag=True, help="Say what would be regenerated; call no model.")
@click.option("--no-commit", is_flag=True, help="Write the files but do not commit them.")
@click.option("--force", is_flag=True, help="Overwrite outputs that have uncommitted changes.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once if another run in this repository holds the lock (default: wait).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress (stages, live model calls); the result and errors still print.",
)
def regen(
    modules: tuple[str, ...],
    affected: bool,
    base: str | None,
    dry_run: bool,
    no_commit: bool,
    force: bool,
    no_wait: bool,
    quiet: bool,
) -> None:
    """Regenerate MODULEs (default: every stale module) and their stale dependents.

    Each module is planned, written, checked and verified in a throwaway git worktree;
    the files of the modules that pass are written and committed as one commit with
    Specmill-* trailers. Fresh modules cost nothing: no model is called for them.
    """
    if base and not affected:
        raise click.UsageError("--base needs --affected")
    if affected and modules:
        raise click.UsageError("name modules or use --affected, not both")
    if dry_run:
        _regen(modules, base, dry_run=True, commit=False, force=force)
        return
    # Before reading the project: after waiting, what the other run committed is seen.
    options = [*(["--affected"] if affected else []), *(["--base", base] if base else [])]
    command = shlex.join(["specmill", "regen", *options, *modules])
    with repository_lock(git_dir_of(find_root()), command, wait=not no_wait):
        _regen(modules, base, dry_run=False, commit=not no_commit, force=force, quiet=quiet)


def _regen(
    modules: tuple[str, ...],
    base: str | None,
    *,
    dry_run: bool,
    commit: bool,
    force: bool,
    quiet: bool = False,
) -> None:
    project = open_project()
    require_graph(project)
    require_valid_config(project)
    chosen = selection(project, modules, base)
    for module in chosen.unchanged:
        click.echo(f"{module}: fresh, nothing to do (no model call)")
    if not chosen.targets:
        click.echo("nothing to regenerate: every selected module is fresh")
        return
    if dry_run:
        for module in chosen.targets:
            click.echo(f"would regenerate {module} ({chosen.reasons[module]})")
        return
    if not quiet:
        click.echo(describe_backend(project), err=True)
    outcome = run_regen(project, chosen, commit=commit, force=force, quiet=quiet)
    report(outcome)


def run_regen(
    project: Project, chosen: Selection, *, commit: bool, force: bool, quiet: bool = False
) -> RunOutcome:
    from specmill.engine.progress import progress_for
    from specmill.engine.run import regenerate
    from specmill.llm.backend import make_backend
    from specmill.repo import Repo

    repo = Repo(project.root)
    backend = make_backend(project.config.models, project.config.budget, repo_root=project.root)
    try:
        with progress_for(chosen.targets, quiet=quiet) as progress:
            return regenerate(
                project,
                repo,
                backend,
                chosen.targets,
                unchanged=chosen.unchanged,
                progress=progress,
                commit=commit,
                force=force,
            )
    finally:
        backend.close()


def report(outcome: RunOutcome) -> None:
    record = outcome.record
    where = outcome.folder.as_posix() if outcome.folder else ""
    for path in outcome.written:
        click.echo(f"wrote {path}")
    if record.commit:
        click.echo(
            f"committed {record.commit[:12]} (run {record.run_id}; git notes --ref=specmill)"
        )
    elif outcome.written:
        click.echo("not committed (--no-commit): review and commit the files yourself")
    click.echo(
        f"{len(record.calls)} model call(s), {record.tokens:,} tokens, ${record.cost_usd:.4f};"
        f" review: {where}/review.md"
    )
    for m in record.modules:
        for c in m.checks:
            if c.insensitive and c.passed:
                click.echo(
                    f"warning: {m.module}: check {c.command} is {c.outcome};"
                    f" likely cause: {c.insensitive_cause}",
                    err=True,
                )
    failed = [m for m in record.modules if m.status not in ("passed", "unchanged")]
    if failed:
        lines = [f"  {m.module}: {m.status}: {m.error or ''}" for m in failed]
        raise SpecmillError(
            f"{len(failed)} module(s) did not pass; none of their files were written\n"
            + "\n".join(lines),
            hint=f"read the review in {where}/review.md (`specmill runs {record.run_id}`)",
        )
