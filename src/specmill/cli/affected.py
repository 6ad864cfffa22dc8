"""``specmill affected``: the modules to regenerate, in dependency order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from specmill import gitcli
from specmill.cli.common import QUIET, echo_json, echo_summary, require_graph
from specmill.core import layout
from specmill.errors import SpecmillError

if TYPE_CHECKING:
    pass


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
    # git answers on a thread while specmill's own modules and the configuration load;
    # its answers are used below in the same order as before, so the first error stays
    # the first one reported
    compared = _start_compare(base, head) if base else None
    from specmill.core import affected_cache
    from specmill.core.affected import affected_modules
    from specmill.core.matrix import matrix_jobs
    from specmill.core.project import find_root, load_config, load_project

    root = find_root()
    if base and (compared is None or compared[0] != root):  # no early start: now
        compared = (root, gitcli.Background(lambda: _compare(root, base, head)))
    load_config(root)  # a broken configuration is the first error
    changed = None
    merge_base = None
    if base and compared is not None:
        found = compared[1].result()
        _revision(root, base, found.base_sha)  # or why there is none
        if head and _revision(root, head, found.head_sha) != found.checked_out:
            raise SpecmillError(
                f"--head {head} is not the checked-out commit",
                hint=f"check it out first (git switch --detach {head}), then run again",
            )
        if found.merge_base is None:
            click.echo(
                f"specmill: warning: no merge base between {base} and "
                f"{head or 'HEAD'} (a shallow clone, or unrelated histories); "
                f"comparing with {base} itself",
                err=True,
            )
        merge_base = found.merge_base
        changed = found.changed
    modules = None
    if merge_base is not None and changed is not None and not head and not matrix:
        # git first: the records of a previous run answer, reading only what changed
        modules = _from_records(root, merge_base, changed)
    if modules is None:
        project = load_project(root)
        require_graph(project)
        modules = affected_modules(project, changed)
        project.save_cache()
        if merge_base is not None and changed is not None and not head:
            untracked = gitcli.run_git(
                root, "ls-files", "-z", "--others", "--", project.config.specs
            )
            listed = (untracked or b"").decode("utf-8", "surrogateescape").split("\0")
            affected_cache.save(project, merge_base, changed, set(listed))
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


def _start_compare(base: str, head: str | None) -> tuple[Path, gitcli.Background[_Compared]] | None:
    """``_compare`` started in the folder ``find_root`` will find, if there is one."""
    try:
        found = layout.find_root(str(Path.cwd().resolve()))
    except OSError:  # the current folder is gone: find_root says so
        return None
    if found is None:
        return None
    root = Path(found)
    return root, gitcli.Background(lambda: _compare(root, base, head))


def _from_records(root: Path, merge_base: str, changed: set[str]) -> list[str] | None:
    """The answer from the records, or None: then the whole project answers (and says
    what is wrong, if something is: an unreadable governance file, context or output)."""
    try:
        from specmill.core import affected_cache

        snapshot = affected_cache.load(root)
        return affected_cache.affected(root, snapshot, merge_base, changed)
    except (affected_cache.Fallback, SpecmillError, OSError):
        return None


@dataclass(frozen=True)
class _Compared:
    """What git says for ``--base``/``--head``, asked in the order ``affected`` uses it
    (nothing after the first answer that stops it)."""

    base_sha: str | None
    head_sha: str | None = None
    checked_out: str | None = None
    merge_base: str | None = None
    changed: set[str] | None = None


def _compare(root: Path, base: str, head: str | None) -> _Compared:
    base_sha = gitcli.rev_parse(root, base)
    if base_sha is None:
        return _Compared(None)
    head_sha = checked_out = None
    if head:
        head_sha = gitcli.rev_parse(root, head)
        if head_sha is None:
            return _Compared(base_sha)
        checked_out = gitcli.rev_parse(root, "HEAD")
        if head_sha != checked_out:
            return _Compared(base_sha, head_sha, checked_out)
    found = gitcli.run_git(root, "merge-base", base_sha, head_sha or "HEAD")
    merge_base = found.decode().strip() if found else None
    changed = gitcli.changed_paths(root, base_sha, head_sha, merge_base=merge_base)
    return _Compared(base_sha, head_sha, checked_out, merge_base, changed)


def _revision(root: Path, rev: str, sha: str | None) -> str:
    """``sha``, what ``git rev-parse`` said of ``rev``, or why there is none."""
    if sha is not None:
        return sha
    if gitcli.run_git(root, "rev-parse", "--git-dir") is None:
        raise SpecmillError(f"--base/--head need git, and {root} is not inside a git repository")
    if gitcli.rev_parse(root, "HEAD") is None:
        raise SpecmillError(
            f"unknown revision {rev!r}: the repository has no commits yet",
            hint="commit first, or leave out --base to list every module to regenerate",
        )
    raise SpecmillError(
        f"unknown revision {rev!r}",
        hint="fetch it first (git fetch origin), with enough history (fetch-depth: 0)",
    )
