"""``specmill status``: the state of every module's outputs, readable at 80 columns.

One module per line, then its outputs with their state first: a fixed-width column and
a path, so nothing wraps but a path wider than the terminal itself. Paths are whole
(never cut with "…"): a pipe gets lines to grep. On a terminal the states are coloured
by rich; where rich would print no colour (a pipe, a file) and every name is plain
printable text, the same lines are written without importing rich
(tests/cli/test_status_plain.py compares the two).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from specmill.cli.common import echo_json, open_project
from specmill.core.status import ModuleStatus, project_status

STYLES = {
    "fresh": "green",
    "stale": "yellow",
    "hand-edited": "red",
    "header-missing": "red",
    "missing": "magenta",
}
WIDTH = max(len(state) for state in STYLES)


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
    errors = [str(e) for e in (*project.errors, project.graph_error) if e is not None]
    lines = None if _may_colour() else plain_lines(statuses, errors)
    if lines is None:
        _print_rich(statuses, errors)
    else:
        for line in lines:
            click.echo(line)


def _may_colour() -> bool:
    """Whether rich could write escape codes (or HTML) here: then rich writes."""
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ or "IPython" in sys.modules:
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream: rich says "no terminal" too
        return False


def plain_lines(statuses: Sequence[ModuleStatus], errors: Sequence[str]) -> list[str] | None:
    """What rich prints without colour, or None when a name holds anything rich changes
    (control characters, which it drops; tabs, which it expands; line breaks)."""
    count = f"{len(statuses)} module{'s' if len(statuses) != 1 else ''}"
    lines = [f"specmill status ({count})"]
    for module in statuses:
        lines.append(f"{module.module}  {module.spec}")
        for output in module.outputs:
            lines.append(f"  {output.state.ljust(WIDTH)}  {output.path}")
    lines += [f"invalid: {error}" for error in errors]
    return lines if all(line.isprintable() for line in lines) else None


def _print_rich(statuses: Sequence[ModuleStatus], errors: Sequence[str]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    count = f"{len(statuses)} module{'s' if len(statuses) != 1 else ''}"
    console.print(f"specmill status ({count})", soft_wrap=True)
    for module in statuses:
        console.print(Text.assemble((module.module, "bold"), "  ", module.spec), soft_wrap=True)
        for output in module.outputs:
            state = Text(output.state.ljust(WIDTH), style=STYLES[output.state])
            console.print(Text.assemble("  ", state, "  ", output.path), soft_wrap=True)
    for error in errors:
        console.print(Text.assemble(("invalid", "red"), f": {error}"), soft_wrap=True)
