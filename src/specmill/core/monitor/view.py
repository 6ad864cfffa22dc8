"""``build_view``: everything the monitor page shows, from the records, status and graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from specmill.core.monitor.agents import ModelRow, VerifierRow, model_rows, verifier_rows
from specmill.core.monitor.charts import (
    Chart,
    Series,
    bar_chart,
    count,
    line_chart,
    percent,
    seconds,
    usd,
)
from specmill.core.monitor.graph import GraphPicture, layout
from specmill.core.monitor.modules import GONE, ModuleRow, OpenQuestion, module_rows, open_questions
from specmill.core.monitor.runs import RunRow, attempt_verdicts, module_cost, run_rows
from specmill.core.records import RunRecord
from specmill.core.status import ModuleStatus


@dataclass(frozen=True)
class Totals:
    runs: int
    calls: int
    tokens: int
    cost_usd: float
    passed: int
    failed: int
    first: str | None
    last: str | None


@dataclass
class MonitorView:
    title: str
    built_at: str
    totals: Totals
    runs: list[RunRow]  # oldest first
    run_charts: list[Chart]
    modules: list[ModuleRow]
    spec_links: dict[str, str]  # module -> href of its spec
    verifiers: list[VerifierRow]
    verifier_charts: list[Chart]
    models: list[ModelRow]
    questions: list[OpenQuestion]
    graph: GraphPicture
    compare: list[dict[str, Any]]  # per run, for the side-by-side view (JSON in the page)
    notes: list[str] = field(default_factory=list)  # what the reader should know (skips)

    @property
    def runs_newest_first(self) -> list[RunRow]:
        return self.runs[::-1]

    @property
    def anchors(self) -> dict[str, str]:
        """Module -> its element id on the page (ids from records never become ids)."""
        return {m.module: f"module-{n}" for n, m in enumerate(self.modules, start=1)}


def parse_moment(text: str) -> datetime:
    """A date or an ISO 8601 time; without a zone, UTC. Raises ValueError."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def in_window(
    record: RunRecord,
    since: datetime | None = None,
    until: datetime | None = None,
    commits: frozenset[str] | None = None,
) -> bool:
    """Whether a run belongs to the chosen dates and commits (its commit, else its head)."""
    if since or until:
        try:
            started = parse_moment(record.started_at)
        except ValueError:
            return False
        if (since and started < since) or (until and started > until):
            return False
    if commits is not None:
        return (record.commit or record.head) in commits
    return True


def spec_href(base: str, spec: str) -> str:
    """The link to a spec: ``base`` (ends in ``/``) and the path, every unsafe character
    percent-encoded, so that no path can become a ``javascript:`` or other scheme."""
    return base + quote(spec, safe="/")


def _label(started_at: str, run_id: str) -> str:
    return f"{started_at[:16].replace('T', ' ')} · {run_id}"


def _dated(chart: Chart) -> Chart:
    """Only the dates under the chart; the tooltips keep the run ids."""
    return replace(chart, first=chart.first[:10], last=chart.last[:10])


def _run_charts(runs: Sequence[RunRow]) -> list[Chart]:
    labels = [_label(r.started_at, r.run_id) for r in runs]
    charts = [
        bar_chart(
            "Cost per run, and cumulated",
            labels,
            [Series("cost", [r.cost_usd for r in runs])],
            usd,
            Series("cumulated cost", [r.cumulative_cost for r in runs]),
        ),
        bar_chart(
            "Tokens per run, and cumulated",
            labels,
            [Series("tokens", [r.tokens for r in runs])],
            count,
            Series("cumulated tokens", [r.cumulative_tokens for r in runs]),
        ),
        bar_chart(
            "Duration per run",
            labels,
            [Series("duration", [r.duration_s for r in runs])],
            lambda v: seconds(v),
        ),
        bar_chart(
            "Modules passed and failed per run",
            labels,
            [
                Series("passed", [r.passed for r in runs]),
                Series("failed", [r.failed for r in runs]),
            ],
            count,
            palette="outcome",
        ),
    ]
    return [_dated(c) for c in charts]


def _verifier_charts(runs: Sequence[RunRow], verifiers: Sequence[VerifierRow]) -> list[Chart]:
    regens = [r for r in runs if not r.calibration]
    charts = [
        line_chart(
            "Blocking findings per run, by verifier",
            [_label(r.started_at, r.run_id) for r in regens],
            [Series(v.name, v.blocking_by_run) for v in verifiers],
            count,
        )
    ]
    calibrations = sorted({(p.started_at, p.run_id) for v in verifiers for p in v.calibrations})
    if calibrations:
        labels = [_label(started, run_id) for started, run_id in calibrations]
        recall = []
        for v in verifiers:
            by_run = {p.run_id: p.recall for p in v.calibrations}
            recall.append(Series(v.name, [by_run.get(run_id) for _, run_id in calibrations]))
        charts.append(line_chart("Calibration recall over time", labels, recall, percent, 1.0))
    return [_dated(c) for c in charts]


def _compare(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    out = []
    for record in sorted(records, key=lambda r: (r.started_at, r.run_id)):
        verdicts: dict[str, dict[str, int]] = {}
        for module in record.modules:
            for votes in attempt_verdicts(module):
                for v in votes:
                    tally = verdicts.setdefault(v.verifier, {"pass": 0, "fail": 0, "error": 0})
                    tally[v.verdict] += 1
        out.append(
            {
                "id": record.run_id,
                "started": record.started_at,
                "command": record.command or "regen",
                "cost": usd(record.cost_usd),
                "tokens": count(record.tokens),
                "calls": len(record.calls),
                "modules": {
                    m.module: {
                        "status": m.status,
                        "attempts": m.attempts,
                        "tier": m.tier or "-",
                        "cost": usd(module_cost(record, m.module)),
                    }
                    for m in record.modules
                },
                "verdicts": verdicts,
            }
        )
    return out


def build_view(
    records: Sequence[RunRecord],
    statuses: Sequence[ModuleStatus],
    depends_on: Mapping[str, Sequence[str]],
    *,
    title: str,
    built_at: str,
    spec_base: str,
    sources: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> MonitorView:
    runs = run_rows(records, sources or {})
    modules = module_rows(records, statuses)
    verifiers = verifier_rows(records)
    states = {m.module: m.state for m in modules}
    in_project = [s.module for s in statuses]
    return MonitorView(
        title=title,
        built_at=built_at,
        totals=Totals(
            runs=len(runs),
            calls=sum(r.calls for r in runs),
            tokens=sum(r.tokens for r in runs),
            cost_usd=sum(r.cost_usd for r in runs),
            passed=sum(r.passed for r in runs),
            failed=sum(r.failed for r in runs),
            first=runs[0].started_at if runs else None,
            last=runs[-1].started_at if runs else None,
        ),
        runs=runs,
        run_charts=_run_charts(runs),
        modules=modules,
        spec_links={
            m.module: spec_href(spec_base, m.spec) for m in modules if m.spec and m.state != GONE
        },
        verifiers=verifiers,
        verifier_charts=_verifier_charts(runs, verifiers),
        models=model_rows(records),
        questions=open_questions(modules),
        graph=layout(in_project, depends_on, states),
        compare=_compare(records),
        notes=list(notes),
    )
