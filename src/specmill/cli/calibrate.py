"""``specmill calibrate [MODULE…]``: can the verifiers be trusted? Seeded defects say.

Exit codes: 0 when every verifier is ``ok``; 1 when one is flagged (the rules are
``core.verifier_flags``'s), when the budget ran out before every review was made
(partial), or when nothing could be calibrated; 2 on a usage error; 130 on Ctrl-C.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

import click

from specmill.cli.common import echo_json, open_project, require_graph
from specmill.cli.verify import tail
from specmill.core.calibration import CalibrationReport, ModuleCalibration
from specmill.core.project import find_root
from specmill.errors import SpecmillError


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def report_json(report: CalibrationReport, run_id: str) -> dict[str, object]:
    data = report.model_dump(mode="json")
    data["run_id"] = run_id
    return data


def _module_line(module: ModuleCalibration) -> str:
    if module.skipped:
        return f"  {module.module}: not calibrated: {module.skipped}"
    if module.test_kill_rate is None and module.insensitive_checks:
        line = f"  {module.module}: no test kill rate: its checks are insensitive"
    else:
        line = f"  {module.module}: test kill rate {_percent(module.test_kill_rate)}"
    if module.reviews < module.reviews_planned:
        line += f", {module.reviews} of {module.reviews_planned} reviews made"
    return line


def print_report(report: CalibrationReport, run_id: str) -> None:
    m = report.mutants
    click.echo(f"calibrated {', '.join(report.modules) or 'no module'} (seed {report.seed})")
    click.echo(
        f"mutants: {m.seeded} seeded, {m.discarded} discarded, {m.killed_by_checks} killed"
        f" by the checks, {m.reviewed} reviewed by the verifiers"
    )
    for module in report.per_module:
        click.echo(_module_line(module))
        if module.skipped and module.failed_check_output is not None:
            for line in tail(module.failed_check_output):
                click.echo(f"    | {line}")
        for command, cause in module.insensitive_checks.items():
            click.echo(f"    insensitive check {command}: passes with the outputs sabotaged")
            click.echo(f"      likely cause: {cause}")
    click.echo(
        f"{'verifier':24} {'reviewed':>8} {'caught':>6} {'recall':>6} {'located':>7}"
        f" {'false blocks':>12} {'errors':>6}  flag"
    )
    for v in report.verifiers:
        blocks = f"{v.false_blocks}/{v.clean_runs}"
        click.echo(
            f"{v.verifier:24} {v.seeded:>8} {v.caught:>6} {_percent(v.recall):>6}"
            f" {v.located:>7} {blocks:>12} {v.errors:>6}  {v.flag}"
        )
    for pair in report.agreement:
        click.echo(f"agreement {pair.a} / {pair.b}: same verdict {_percent(pair.same_verdict)}")
    click.echo(
        f"{report.calls} model call(s), {report.tokens:,} tokens, ${report.cost_usd:.4f}"
        f" (run {run_id})"
    )
    if report.partial:
        click.echo(f"partial report: {report.partial}")
    for v in report.flagged:
        click.echo(f"{v.verifier} is flagged {v.flag}: {v.why_flagged(report.min_recall)}")
        click.echo(f"  what to do: {v.advice}")


@click.command()
@click.argument("modules", nargs=-1)
@click.option("--mutants", type=click.IntRange(1, 1000), help="Mutants per module.")
@click.option("--seed", type=int, help="The same seed gives the same mutants.")
@click.option("--clean-runs", type=click.IntRange(0, 100), help="Reviews of the unmutated outputs.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once if another run in this repository holds the lock (default: wait).",
)
def calibrate(
    modules: tuple[str, ...],
    mutants: int | None,
    seed: int | None,
    clean_runs: int | None,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Measure the verifiers on seeded defects of fresh MODULEs (default: every fresh one).

    Mutants of each module's outputs run its checks in throwaway worktrees; every
    verifier reviews those that survive, and the unmutated outputs. The working tree
    is never touched. Exit code 1 when a verifier is flagged or the budget ran out.
    """
    from specmill.core.status import project_status
    from specmill.engine.calibrate import calibrate as run_calibration
    from specmill.engine.calibrate import calibration_targets, require_keys, require_verifiers
    from specmill.engine.lock import git_dir_of, repository_lock
    from specmill.engine.progress import progress_for
    from specmill.llm.backend import make_backend
    from specmill.repo import Repo

    command = shlex.join(["specmill", "calibrate", *modules])
    with repository_lock(git_dir_of(find_root()), command, wait=not no_wait):
        project = open_project()
        require_verifiers(project)
        require_keys(project)  # before anything else: without it, nothing can be measured
        require_graph(project)
        targets = calibration_targets(project, project_status(project), modules)
        overrides = {"mutants": mutants, "seed": seed, "clean_runs": clean_runs}
        settings = replace(
            project.config.calibration, **{k: v for k, v in overrides.items() if v is not None}
        )
        models, budget = project.config.models, project.config.budget
        backend = make_backend(models, budget, repo_root=project.root)
        try:
            with progress_for(targets) as progress:
                outcome = run_calibration(
                    project, Repo(project.root), backend, targets, settings, progress=progress
                )
        finally:
            backend.close()
    report, run_id = outcome.report, outcome.record.run_id
    if as_json:
        echo_json(report_json(report, run_id))
    else:
        print_report(report, run_id)
    if report.partial:
        raise SpecmillError(
            f"partial: {report.partial}",
            hint=f"raise [specmill.budget] (this calibration used {report.tokens:,} tokens,"
            f" ${report.cost_usd:.4f}, for {report.reviews} review(s)), or calibrate fewer"
            " modules or mutants (--mutants)",
        )
    if not report.calibrated:
        reasons = "; ".join(f"{m.module}: {m.skipped}" for m in report.per_module if m.skipped)
        raise SpecmillError(
            "nothing could be calibrated" + (f" ({reasons})" if reasons else ""),
            hint="give the module checks that pass, or more mutants (--mutants)",
        )
    if report.flagged:
        raise click.exceptions.Exit(1)
