"""``specmill monitor``: build the pipeline monitor, one self-contained HTML page.

It reads every run record it can find (the local run records and the git notes under
``refs/notes/specmill``), the modules' current status and their dependencies, and
writes ``index.html`` into ``--out`` (default: inside the git directory, so nothing
appears in the working tree). Exit codes: 0 written; 1 a clear error; 2 usage.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from specmill.cli.common import open_project
from specmill.errors import SpecmillError

DEFAULT_FOLDER = "specmill/monitor"  # under the git directory


def _moment(value: str | None, option: str) -> datetime | None:
    from specmill.core.monitor.view import parse_moment

    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-01-31) or an ISO 8601 time", param_hint=option
        ) from None


def _spec_base(link_base: str | None, out: Path, root: Path) -> str:
    """Where spec links point: ``--link-base`` (http or https), else the working tree."""
    import os

    if link_base:
        if not link_base.startswith(("https://", "http://")):
            raise click.BadParameter(
                "must start with https:// or http://", param_hint="--link-base"
            )
        return link_base if link_base.endswith("/") else link_base + "/"
    try:
        relative = Path(os.path.relpath(root.resolve(), out.resolve())).as_posix()
    except ValueError:  # another drive: no relative path exists
        return root.resolve().as_uri() + "/"
    return "" if relative == "." else relative + "/"


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for index.html (default: .git/specmill/monitor).",
)
@click.option("--since", metavar="DATE", help="Only runs started at or after DATE (ISO 8601).")
@click.option("--until", metavar="DATE", help="Only runs started at or before DATE (ISO 8601).")
@click.option(
    "--commits",
    metavar="RANGE",
    help="Only runs whose commit (or, uncommitted, whose head) is in RANGE, as git rev-list "
    "reads it: main~20..main.",
)
@click.option(
    "--link-base",
    metavar="URL",
    help="Link specs under URL (https://github.com/OWNER/REPO/blob/SHA/) instead of the "
    "working tree.",
)
@click.option("--open", "open_page", is_flag=True, help="Open the page in a browser.")
def monitor(
    out: Path | None,
    since: str | None,
    until: str | None,
    commits: str | None,
    link_base: str | None,
    open_page: bool,
) -> None:
    """Build the pipeline monitor: runs, modules, verifiers and models over time.

    One HTML file that works without a server or network: charts, filters by outcome,
    search by module, and two runs side by side.
    """
    from specmill.engine.monitor import build_monitor
    from specmill.repo import Repo

    start, end = _moment(since, "--since"), _moment(until, "--until")
    project = open_project()
    try:
        repo: Repo | None = Repo(project.root)
    except SpecmillError:
        repo = None  # not a git repository: local records only
    if repo is None and commits:
        raise SpecmillError("--commits needs a git repository")
    folder = out or (
        repo.git_path(DEFAULT_FOLDER) if repo else project.root / ".specmill" / "monitor"
    )
    built = build_monitor(
        project,
        repo,
        folder,
        since=start,
        until=end,
        commits=commits,
        spec_base=_spec_base(link_base, folder, project.root),
    )
    for note in built.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{built.page}  ({built.summary})")
    if open_page:
        click.launch(built.page.resolve().as_uri())
