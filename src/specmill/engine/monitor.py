"""``specmill monitor``'s pipeline: history, current status, view, page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from specmill.core.monitor.charts import usd
from specmill.core.monitor.view import build_view, in_window
from specmill.core.project import Project
from specmill.core.status import project_status
from specmill.engine.history import LOCAL, NOTE, read_history
from specmill.engine.monitor_site import render_page, write_site
from specmill.engine.provenance import NOTES_REF, utc_now
from specmill.repo import Repo


@dataclass(frozen=True)
class Built:
    page: Path
    summary: str  # one line: runs, cost, where they came from
    notes: list[str]  # what the reader should know (unreadable notes)


def build_monitor(
    project: Project,
    repo: Repo | None,
    folder: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    commits: str | None = None,
    spec_base: str = "",
) -> Built:
    wanted = repo.commits_in(commits) if repo is not None and commits else None
    history = read_history(
        project.root, repo, lambda record: in_window(record, since, until, wanted)
    )
    notes = [f"skipped {problem}" for problem in history.skipped]
    found = (
        f"{history.count(LOCAL)} from local run records,"
        f" {history.count(NOTE)} from git notes ({NOTES_REF})"
    )
    view = build_view(
        history.records,
        project_status(project),
        {spec.id: spec.depends_on for spec in project.specs},
        title=f"specmill pipeline monitor: {project.root.name}",
        built_at=utc_now(),
        spec_base=spec_base,
        sources=history.sources,
        notes=[found, *notes],
    )
    page = write_site(folder, render_page(view))
    summary = f"{view.totals.runs} run(s), {usd(view.totals.cost_usd)}; {found}"
    return Built(page, summary, notes)
