"""``specmill status``: the state of every module's outputs."""

from __future__ import annotations

import click

from specmill.cli.common import echo_json, open_project
from specmill.core.status import project_status

STYLES = {
    "fresh": "green",
    "stale": "yellow",
    "hand-edited": "red",
    "header-missing": "red",
    "missing": "magenta",
}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(as_json: bool) -> None:
    """Show each module, its spec and the state of its outputs."""
    project = open_project()
    statuses = project_status(project)
    project.save_cache()
    if as_json:
        echo_json([s.as_dict() for s in statuses])
        return
    from rich.console import Console
    from rich.table import Table

    count = f"{len(statuses)} module{'s' if len(statuses) != 1 else ''}"
    table = Table(title=f"specmill status ({count})", title_justify="left")
    # paths are never cut short with "…": folded in a terminal, whole lines in a pipe
    table.add_column("module", style="bold", overflow="fold")
    table.add_column("spec", overflow="fold")
    table.add_column("output", overflow="fold")
    table.add_column("state", no_wrap=True)
    for module in statuses:
        for index, output in enumerate(module.outputs):
            table.add_row(
                module.module if index == 0 else "",
                module.spec if index == 0 else "",
                output.path,
                f"[{STYLES[output.state]}]{output.state}[/]",
            )
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 1000))
    console.print(table)
    for error in [*project.errors, *([project.graph_error] if project.graph_error else [])]:
        console.print(f"[red]invalid[/]: {error}", highlight=False)
