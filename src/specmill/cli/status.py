"""``specmill status``: the state of every module's outputs, readable at 80 columns."""

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
    from rich.text import Text

    console = Console(highlight=False)
    count = f"{len(statuses)} module{'s' if len(statuses) != 1 else ''}"
    console.print(f"specmill status ({count})", soft_wrap=True)
    # One module per line, then its outputs with their state first: a fixed-width column
    # and a path, so nothing wraps but a path wider than the terminal itself. Paths are
    # whole (never cut with "…"): a pipe gets lines to grep.
    width = max(len(state) for state in STYLES)
    for module in statuses:
        console.print(Text.assemble((module.module, "bold"), "  ", module.spec), soft_wrap=True)
        for output in module.outputs:
            state = Text(output.state.ljust(width), style=STYLES[output.state])
            console.print(Text.assemble("  ", state, "  ", output.path), soft_wrap=True)
    for error in [*project.errors, *([project.graph_error] if project.graph_error else [])]:
        console.print(Text.assemble(("invalid", "red"), f": {error}"), soft_wrap=True)
