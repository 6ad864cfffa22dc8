"""Every run record a repository knows: its local run records and the git notes under
``refs/notes/specmill`` (how committed runs travel with a clone or a fetch).

A run found both ways is shown once: the local record, unless only the note knows the
commit it made. A note that is not a run record is skipped and named, never fatal:
notes come from whoever pushed them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from specmill.core.records import RunRecord
from specmill.engine.provenance import NOTES_REF
from specmill.engine.runstore import list_runs, parse_record
from specmill.errors import SpecmillError
from specmill.repo import Repo

LOCAL, NOTE = "local", "git note"


@dataclass
class History:
    records: list[RunRecord] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # run id -> where it was found
    skipped: list[str] = field(default_factory=list)  # notes that are not run records

    def count(self, source: str) -> int:
        return sum(1 for where in self.sources.values() if source in where)


def noted_records(repo: Repo) -> tuple[list[RunRecord], list[str]]:
    records, skipped = [], []
    for commit, text in sorted(repo.notes(NOTES_REF).items()):
        try:
            records.append(parse_record(text, f"git note {NOTES_REF} on {commit[:12]}"))
        except SpecmillError as error:
            skipped.append(str(error))
    return records, skipped


def read_history(
    root: Path, repo: Repo | None, keep: Callable[[RunRecord], bool] = lambda _: True
) -> History:
    """Local records and, with ``repo``, noted ones; those ``keep`` accepts, oldest first."""
    history = History()
    found: dict[str, RunRecord] = {}
    for record in list_runs(root):
        found[record.run_id] = record
        history.sources[record.run_id] = LOCAL
    if repo is not None:
        noted, history.skipped = noted_records(repo)
        for record in noted:
            local = found.get(record.run_id)
            if local is None or (local.commit is None and record.commit is not None):
                found[record.run_id] = record
            history.sources[record.run_id] = f"{LOCAL}, {NOTE}" if local else NOTE
    history.records = sorted(
        (r for r in found.values() if keep(r)), key=lambda r: (r.started_at, r.run_id)
    )
    kept = {r.run_id for r in history.records}
    history.sources = {k: v for k, v in history.sources.items() if k in kept}
    return history
