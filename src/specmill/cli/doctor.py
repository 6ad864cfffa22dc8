"""``specmill doctor``: can every configured model role work? (logic: engine/doctor.py)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console

from specmill.cli.common import echo_json
from specmill.core.config_rules import config_errors
from specmill.core.problems import Problem
from specmill.core.project import find_root, load_config
from specmill.core.repo_files import read_text
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
    --no-calls. Exits 1 if a role cannot work, or the configuration is refused (as
    lint and regen refuse it), saying what to change.
    """
    root = find_root()
    config, path = load_config(root)
    refused = [
        Problem(path, error.line or 1, "invalid", error.message, None, error.hint or "")
        for error in config_errors(config, path=path, text=read_text(root, path) or "")
    ]
    warnings = _editable_warnings(root)
    if not as_json:
        for warning in warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
    if config.models.backend != "openai":
        if as_json:
            echo_json(
                {
                    "ok": not refused,
                    "backend": config.models.backend,
                    "roles": [],
                    "warnings": warnings,
                    "config": [p.as_dict() for p in refused],
                }
            )
        else:
            click.echo(f"models.backend = {config.models.backend!r}: no endpoint to check")
            _echo_refused(refused)
        ctx.exit(1 if refused else 0)
    checks, budget = diagnose(config, calls=not no_calls, environ=with_secrets(os.environ))
    failing = [check for check in checks if check.problems]
    if as_json:
        echo_json(
            {
                "ok": not failing and not refused,
                "calls": not no_calls,
                "tokens": budget.tokens,
                "cost_usd": round(budget.cost_usd, 6),
                "roles": [check.as_json() for check in checks],
                "warnings": warnings,
                "config": [p.as_dict() for p in refused],
            }
        )
    else:
        print_checks(checks, calls=not no_calls)
        click.echo(
            f"{len(checks)} roles, {len(checks) - len(failing)} ok;"
            f" {budget.tokens:,} tokens, ${budget.cost_usd:.4f}"
        )
        # the same problem for several roles (no key for any of them) is said once
        roles_by_problem: dict[str, list[str]] = {}
        for check in failing:
            for problem in check.problems:
                roles_by_problem.setdefault(problem, []).append(check.role)
        for problem, roles in roles_by_problem.items():
            click.secho(f"{', '.join(roles)}: cannot work: {problem}", fg="red", err=True)
        _echo_refused(refused)
    ctx.exit(1 if failing or refused else 0)


def _echo_refused(refused: list[Problem]) -> None:
    for problem in refused:
        click.secho(problem.format(), fg="red", err=True)
        click.echo(f"  fix: {problem.hint}", err=True)


def _editable_warnings(root: Path) -> list[str]:
    """Editable installs that would make checks test your checkout (engine/editable.py)."""
    from specmill.core.project import load_project
    from specmill.engine.editable import doctor_warnings

    try:
        project = load_project(root)
    except SpecmillError:
        return []  # `specmill lint` reports a broken project; doctor is about the models
    return doctor_warnings(project, os.environ)


# Short cells, so the table fits 80 columns; `--json` has the long forms.
STREAMING = {"yes, without usage": "yes*", "": "-"}
STATUS = {"ok": "ok", "cannot work": "fail"}


def _tokens(window: int | None) -> str:
    """A context window as people say it: 128k, 1M."""
    if window is None:
        return "-"
    if window >= 1_000_000:
        return f"{window / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    return f"{window // 1000}k" if window >= 1000 else str(window)


def print_checks(checks: list[RoleCheck], *, calls: bool, console: Console | None = None) -> None:
    """One line per endpoint (key, reachable, models listed), then a table of the roles,
    readable at 80 columns: with several endpoints, a role's is named by its number.
    What a role lacks is in its problems, printed after."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(width=max(console.width, 160), highlight=False)
    endpoints = list(dict.fromkeys((c.endpoint, c.key_env) for c in checks))
    console.print("specmill doctor", soft_wrap=True)
    several = len(endpoints) > 1
    for number, (endpoint, key_env) in enumerate(endpoints, start=1):
        first = next(c for c in checks if (c.endpoint, c.key_env) == (endpoint, key_env))
        reached = {None: "not checked", True: "reachable", False: "not reachable"}[first.reachable]
        listed = [c.listed for c in checks if (c.endpoint, c.key_env) == (endpoint, key_env)]
        served = "; serves every model" if all(listed) else ""
        label = f"[{number}] " if several else ""
        line = f"  {label}{endpoint}: key ${key_env} {first.key}; {reached}{served}"
        console.print(Text(line))  # Text: "[bold]x" is shown, not markup; wrapped at words
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column("role", no_wrap=True)
    table.add_column("model", overflow="fold")
    if several:
        table.add_column("at", no_wrap=True)  # the endpoint's number in the lines above
    for name in ("mode", "stream", "context"):
        table.add_column(name, no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("price", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for check in checks:
        latency = "-" if check.latency_s is None else f"{check.latency_s * 1000:.0f} ms"
        mode = check.mode or ("-" if calls else "(no call)")
        stream = STREAMING.get(check.streaming or "", check.streaming or "-")
        status = Text(STATUS[check.status], style="green" if check.status == "ok" else "red")
        at = endpoints.index((check.endpoint, check.key_env)) + 1
        where = [Text(f"[{at}]")] if several else []
        table.add_row(
            Text(check.role),
            Text(check.model),
            *where,
            Text(mode),
            Text(stream),
            Text(_tokens(check.context_window)),
            Text(latency),
            Text("yes" if check.priced else "none"),
            status,
        )
    console.print(table)
    if any(check.streaming == "yes, without usage" for check in checks):
        console.print("  yes*: streams, without the server's token counts (estimated then)")
