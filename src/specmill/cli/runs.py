"""``specmill runs [RUN_ID]``: list run records, or show one (calls, tokens, cost, verdicts)."""

from __future__ import annotations

import click

from specmill.cli.common import echo_json, open_project
from specmill.core.records import RunRecord
from specmill.errors import SpecmillError


def _summary(record: RunRecord) -> str:
    if record.calibration is not None:
        report = record.calibration
        flagged = len(report.flagged)
        partial = ", partial" if report.partial else ""
        return f"calibration: {len(report.verifiers)} verifier(s), {flagged} flagged{partial}"
    counts: dict[str, int] = {}
    for module in record.modules:
        counts[module.status] = counts.get(module.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "no modules"


def list_records(records: list[RunRecord]) -> None:
    if not records:
        click.echo("no runs yet (specmill regen makes one)")
        return
    for r in records:
        commit = r.commit[:12] if r.commit else "not committed"
        click.echo(
            f"{r.run_id}  {r.started_at}  {r.command or 'regen':7} {_summary(r):28}"
            f" {len(r.calls):3} calls {r.tokens:>9,} tokens ${r.cost_usd:.4f}  {commit}"
        )


def show_record(record: RunRecord) -> None:
    click.secho(f"run {record.run_id} ({record.command or 'regen'})", bold=True)
    click.echo(f"  started {record.started_at}, finished {record.finished_at or '-'}")
    if record.commit:
        click.echo(f"  commit {record.commit}")
    click.echo(
        f"  {len(record.calls)} model calls, {record.tokens:,} tokens, ${record.cost_usd:.4f};"
        f" models: {', '.join(record.models) or 'none'}"
    )
    if record.calibration is not None:
        from specmill.cli.calibrate import print_report

        click.echo()
        print_report(record.calibration, record.run_id)
    for m in record.modules:
        click.echo()
        extra = f", {m.attempts} attempt(s), {m.tier} tier" if m.attempts else ""
        click.secho(f"  {m.module}: {m.status}{extra}", bold=True)
        if m.error:
            click.echo(f"    {m.error}")
        for check in m.checks:
            click.echo(f"    check {check.command}: {check.outcome}")
        for v in m.verdicts:
            click.echo(f"    {v.verifier}: {v.verdict} {v.summary}")
        for f in m.findings:
            where = f" {f.file}:{f.line}" if f.file and f.line else f" {f.file}" if f.file else ""
            rid = f" {f.requirement}" if f.requirement else ""
            click.echo(f"    - {f.severity} {f.kind}{rid}{where}: {f.message}")
        if m.dissent:
            click.echo(f"    dissent (shown, not blocking): {', '.join(m.dissent)}")
        elif m.disagreement:
            click.echo("    the verifiers disagree")
    click.echo()
    click.echo(
        "  calls (role, module, attempt, model, template, tokens in/out, cost, seconds,"
        " requests, outcome):"
    )
    for c in record.calls:
        estimated = " (tokens and cost as reserved: no answer before the run ended)"
        click.echo(
            f"    {c.role:9} {c.module:20} {c.attempt} {c.model:16} {c.template}"
            f" sha256:{c.template_sha256[:12]} {c.prompt_tokens}/{c.completion_tokens}"
            f" ${c.cost_usd:.4f} {c.latency_s:.2f}s {c.requests or '-'} {c.outcome}"
            + (estimated if c.estimated else "")
        )


def find_record(run_id: str) -> RunRecord:
    from specmill.engine.provenance import NOTES_REF
    from specmill.engine.runstore import load_run, parse_record
    from specmill.repo import Repo

    project = open_project()
    record = load_run(project.root, run_id)
    if record is not None:
        return record
    repo = Repo(project.root)
    for commit in repo.annotated(NOTES_REF):  # records that came with a clone or fetch
        text = repo.note(commit, NOTES_REF)
        if text and f'"{run_id}"' in text:
            return parse_record(text, f"git note on {commit[:12]}")
    raise SpecmillError(
        f"no run {run_id!r} among the local run records or in git notes ({NOTES_REF})",
        hint="`specmill runs` lists the runs; fetch notes with"
        " `git fetch origin refs/notes/specmill:refs/notes/specmill`",
    )


def show_stats(records: list[RunRecord], as_json: bool) -> None:
    from specmill.core.verifier_stats import verifier_stats

    stats = verifier_stats(records)
    if as_json:
        echo_json([s.as_dict() for s in stats])
        return
    if not stats:
        click.echo("no verdicts recorded yet (specmill regen records some)")
        return

    def percent(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    click.echo(
        f"{'verifier':24} {'reviews':>7} {'errors':>6} {'fail rate':>9} {'blocking/run':>12}"
        f" {'with final':>10} {'runs':>5}  flag"
    )
    for s in stats:
        per_run = "-" if s.blocking_per_run is None else f"{s.blocking_per_run:.2f}"
        click.echo(
            f"{s.verifier:24} {s.verdicts:>7} {s.errors:>6} {percent(s.fail_rate):>9}"
            f" {per_run:>12} {percent(s.agreement):>10} {s.runs:>5}  {s.flag}"
        )
    for s in stats:
        if s.flag != "ok":
            click.echo(f"{s.verifier} is flagged {s.flag}: {s.why_flagged}")
            click.echo(f"  what to do: {s.advice}")


@click.command()
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the record(s) as JSON.")
@click.option("--stats", is_flag=True, help="Each verifier over the recorded runs.")
def runs(run_id: str | None, as_json: bool, stats: bool) -> None:
    """List run records (newest first), or show RUN_ID: calls, tokens, cost, verdicts."""
    if stats and run_id:
        raise click.UsageError("--stats covers every run: give no RUN_ID")
    if stats:
        from specmill.engine.runstore import list_runs

        show_stats(list_runs(open_project().root), as_json)
        return
    if run_id:
        record = find_record(run_id)
        if as_json:
            click.echo(record.model_dump_json(indent=2))
        else:
            show_record(record)
        return
    from specmill.engine.runstore import list_runs

    records = list_runs(open_project().root)
    if as_json:
        click.echo("[" + ",\n".join(r.model_dump_json(indent=2) for r in records) + "]")
    else:
        list_records(records)
