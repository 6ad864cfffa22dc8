"""``specmill plan MODULE``: ask the planner for a module's plan; nothing is written."""

from __future__ import annotations

import click

from specmill.cli.common import open_project, require_graph
from specmill.core.records import Plan


def show_plan(module: str, plan: Plan) -> None:
    click.secho(f"Plan for {module} (complexity: {plan.complexity})", bold=True)
    click.echo("\nFiles:")
    for item in plan.files:
        click.echo(f"  {item.path}: {item.purpose}")
    click.echo("\nPublic API:")
    for signature in plan.public_api:
        click.echo(f"  {signature}")
    click.echo("\nSteps:")
    for number, step in enumerate(plan.steps, start=1):
        click.echo(f"  {number}. {step.description} ({', '.join(step.requirements)})")
    if plan.approaches:
        click.echo("\nApproaches (one per candidate, with candidates > 1):")
        for approach in plan.approaches:
            click.echo(f"  - {approach}")
    if plan.ambiguities:
        click.echo("\nAmbiguities in the spec (clarify them there):")
        for a in plan.ambiguities:
            click.echo(f"  - {a.requirement + ': ' if a.requirement else ''}{a.question}")


@click.command()
@click.argument("module")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(module: str, as_json: bool) -> None:
    """Show the plan the planner makes for MODULE (files, API, steps, ambiguities)."""
    from specmill.engine.standalone import plan_module
    from specmill.llm.backend import make_backend

    project = open_project()
    require_graph(project)
    project.spec(module)
    backend = make_backend(project.config.models, project.config.budget, repo_root=project.root)
    try:
        result, record = plan_module(project, backend, module)
    finally:
        backend.close()
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        show_plan(module, result)
        click.echo(f"\n{record.tokens:,} tokens, ${record.cost_usd:.4f} (run {record.run_id})")
