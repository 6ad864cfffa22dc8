"""``specmill doctor``: can every configured model role work? (logic: engine/doctor.py)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from specmill.cli.common import echo_json
from specmill.core.project import find_root, load_config
from specmill.engine.doctor import RoleCheck, diagnose
from specmill.errors import SpecmillError
from specmill.secret_file import with_secrets


@click.command()
@click.pass_context
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--no-calls", is_flag=True, help="Check configuration and reachability only; no model call."
)
def doctor(ctx: click.Context, as_json: bool, no_calls: bool) -> None:
    """Check each model role: key, endpoint, model, context window, structured output,
    streaming, latency, price.

    Makes one tiny schema-constrained call per model (priced and counted), unless
    --no-calls. Exits 1 if a role cannot work, saying what to change.
    """
    root = find_root()
    config, _ = load_config(root)
    warnings = _editable_warnings(root)
    if not as_json:
        for warning in warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
    if config.models.backend != "openai":
        message = f"models.backend = {config.models.backend!r}: no endpoint to check"
        if as_json:
            echo_json(
                {"ok": True, "backend": config.models.backend, "roles": [], "warnings": warnings}
            )
        else:
            click.echo(message)
        return
    checks, budget = diagnose(config, calls=not no_calls, environ=with_secrets(os.environ))
    failing = [check for check in checks if check.problems]
    if as_json:
        echo_json(
            {
                "ok": not failing,
                "calls": not no_calls,
                "tokens": budget.tokens,
                "cost_usd": round(budget.cost_usd, 6),
                "roles": [check.as_json() for check in checks],
                "warnings": warnings,
            }
        )
    else:
        _print_table(checks, calls=not no_calls)
        click.echo(
            f"{len(checks)} roles, {len(checks) - len(failing)} ok;"
            f" {budget.tokens:,} tokens, ${budget.cost_usd:.4f}"
        )
        for check in failing:
            for problem in check.problems:
                click.secho(f"{check.role}: cannot work: {problem}", fg="red", err=True)
    ctx.exit(1 if failing else 0)


def _editable_warnings(root: Path) -> list[str]:
    """Editable installs that would make checks test your checkout (engine/editable.py)."""
    from specmill.core.project import load_project
    from specmill.engine.editable import doctor_warnings

    try:
        project = load_project(root)
    except SpecmillError:
        return []  # `specmill lint` reports a broken project; doctor is about the models
    return doctor_warnings(project, os.environ)


def _cell(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "-" if value is None else (yes if value else no)


def _print_table(checks: list[RoleCheck], *, calls: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="specmill doctor", title_justify="left")
    for name in ("role", "model", "endpoint", "key", "reachable", "listed", "context", "mode"):
        table.add_column(name, overflow="fold")
    table.add_column("stream", overflow="fold")
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("price", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for check in checks:
        latency = "-" if check.latency_s is None else f"{check.latency_s * 1000:.0f} ms"
        mode = check.mode or ("-" if calls else "(no call)")
        stream = check.streaming or ("-" if calls else "(no call)")
        context = "-"
        if check.context_window is not None:
            context = f"{check.context_window:,} ({check.context_source})"
        status = Text(check.status, style="green" if check.status == "ok" else "red")
        table.add_row(  # Text: a model name like "[bold]x" is shown, not interpreted
            Text(check.role),
            Text(check.model),
            Text(check.endpoint),
            Text(f"{check.key} (${check.key_env})"),
            Text(_cell(check.reachable)),
            Text(_cell(check.listed)),
            Text(context),
            Text(mode),
            Text(stream),
            Text(latency),
            Text("yes" if check.priced else "none"),
            status,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    console.print(table)
