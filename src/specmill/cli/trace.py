"""``specmill trace FILE[:LINE]``: which requirement a generated line comes from."""

from __future__ import annotations

import re

import click

from specmill.cli.common import echo_json, open_project, relative_to_root
from specmill.engine.trace import Trace

_LOCATION = re.compile(r"^(?P<path>.+?):(?P<line>\d+)$")


def show(trace: Trace) -> None:
    where = f"{trace.path}:{trace.line}" if trace.line else trace.path
    click.secho(where, bold=True)
    click.echo(f"  module       {trace.module} (spec {trace.spec})")
    if trace.commit:
        click.echo(f"  commit       {trace.commit[:12]} {trace.subject}")
    if trace.run_id:
        click.echo(f"  run          {trace.run_id} (record from {trace.record_from or 'nowhere'})")
    if trace.inputs_hash:
        click.echo(f"  inputs       {trace.inputs_hash}")
    for r in trace.requirements:
        at = f"{trace.spec}:{r.spec_line}" if r.spec_line else trace.spec
        click.echo(f"  requirement  {r.id} at {at}: {r.text}")
    for step in trace.plan_steps:
        click.echo(f"  plan         {step}")
    if trace.verdicts:
        click.echo(
            f"  verified     {', '.join(trace.verdicts)} (after {trace.attempts} attempt(s))"
        )
    for note in trace.notes:
        click.echo(f"  note         {note}")


@click.command()
@click.argument("location", metavar="FILE[:LINE]")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as a JSON object.")
def trace(location: str, as_json: bool) -> None:
    """Trace a generated file (or one of its lines) to its spec, requirement and plan step.

    Walks git blame to the commit that wrote the line, reads its Specmill-* trailers
    and the run record (git note refs/notes/specmill, else the local run record), and maps
    the line to the requirement ids the executor reported for it.
    """
    from specmill.engine.trace import trace_line
    from specmill.repo import Repo

    match = _LOCATION.match(location)
    raw, line = (match["path"], int(match["line"])) if match else (location, None)
    project = open_project()
    (path,) = relative_to_root(project, (raw,))
    result = trace_line(Repo(project.root), project.root, path, line)
    if as_json:
        echo_json(result.as_dict())
    else:
        show(result)
