"""``specmill graph``: the module dependency graph as a Mermaid flowchart."""

from __future__ import annotations

import click

from specmill.cli.common import open_project, require_graph
from specmill.core.affected import affected_modules
from specmill.core.graph import mermaid


@click.command()
@click.option("--highlight-affected", is_flag=True, help="Colour the modules to regenerate.")
def graph(highlight_affected: bool) -> None:
    """Print the depends_on graph as Mermaid (paste into a Markdown file or PR)."""
    project = open_project()
    require_graph(project)
    assert project.graph is not None
    marked = affected_modules(project) if highlight_affected else []
    click.echo(mermaid(project.graph, marked))
