"""``specmill verify MODULE``: review a module's outputs against its spec, as they are."""

from __future__ import annotations

import click

from specmill.cli.common import open_project, require_graph
from specmill.errors import SpecmillError

TAIL_LINES = 20  # of a failing check's output (the run record keeps more)


def tail(output: str, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a check's output, as a terminal shows them."""
    return output.rstrip("\n").splitlines()[-lines:] if output.strip() else ["(no output)"]


@click.command()
@click.argument("module")
@click.option("--no-checks", is_flag=True, help="Skip the configured check commands.")
def verify(module: str, no_checks: bool) -> None:
    """Run the checks and every verifier on MODULE's current outputs; regenerate nothing.

    The verifiers see the spec, the plan of the run that generated the files (from its
    git note, when there is one) and the code. Exit code 1 when they do not pass.
    """
    from specmill.core.status import module_status
    from specmill.engine.standalone import verify_module
    from specmill.llm.backend import make_backend
    from specmill.repo import Repo

    project = open_project()
    require_graph(project)
    spec = project.spec(module)
    states = {o.state for o in module_status(project, spec).outputs} - {"fresh"}
    if states - {"missing"}:
        click.echo(f"note: outputs are {', '.join(sorted(states))}: verifying them as they are")
    backend = make_backend(project.config.models, project.config.budget, repo_root=project.root)
    try:
        record = verify_module(project, Repo(project.root), backend, module, checks=not no_checks)
    finally:
        backend.close()
    result = record.modules[0]
    for check in result.checks:
        click.echo(f"check {check.command}: {check.outcome}")
        if check.insensitive_cause:
            click.echo(f"  likely cause: {check.insensitive_cause}")
        if not check.passed and not check.insensitive:
            for line in tail(check.output):
                click.echo(f"  | {line}")
    if not result.checks:
        click.echo("checks: skipped (--no-checks)" if no_checks else "checks: none configured")
    if not result.verdicts and result.error:
        raise SpecmillError(f"{module}: {result.error}")
    for verdict in result.verdicts:
        click.echo(f"{verdict.verifier}: {verdict.verdict}: {verdict.summary}")
    for f in result.findings:
        where = f" at {f.file}:{f.line}" if f.file and f.line else ""
        rid = f" {f.requirement}" if f.requirement else ""
        click.echo(f"  - {f.severity} {f.kind}{rid}{where}: {f.message}")
    if result.disagreement:
        click.echo("the verifiers disagree")
    if result.dissent:
        outcome = "passed" if result.status == "passed" else "failed"
        click.echo(
            f"dissent: {', '.join(result.dissent)} voted against the quorum, which {outcome};"
            " a dissenter's findings are comments, not blockers"
        )
    click.echo(f"{record.tokens:,} tokens, ${record.cost_usd:.4f} (run {record.run_id})")
    if result.status != "passed":
        raise SpecmillError(f"{module} did not pass verification: {result.error}")
