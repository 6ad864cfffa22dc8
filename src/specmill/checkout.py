"""The problems of a checkout on disk: the core's findings plus git's view of it.

``specmill check`` and the bot both report these; git (through ``specmill.gitcli``) lists
the files to scan for orphans and gives the committed version that places a hand
edit on its first changed line.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from specmill import gitcli
from specmill.core import advice
from specmill.core.advice import HeaderHistory
from specmill.core.header import is_hand_edited, split_header
from specmill.core.layout import HEADER_MARK
from specmill.core.paths import under
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.staleness import RecordReader, is_run_id, local_record
from specmill.core.status import find_problems, first_changed_line, project_status


def record_reader(project: Project) -> RecordReader:
    """Run records: the local store, else the git note of the run's commit."""
    local = local_record(project)

    def read(run: str) -> str | None:
        found = local(run)
        if found is None and is_run_id(run):  # a linked worktree: its git dir is elsewhere
            from specmill.engine.runstore import record_text

            found = record_text(project.root, run)
        return found or gitcli.run_note(project.root, run)

    return read


def collect_problems(
    project: Project,
    wanted: list[str] | None = None,
    listing: gitcli.Background[bytes | None] | None = None,
) -> list[Problem]:
    """``listing``: ``gitcli.start_list_files(project.root)``, if the caller began it."""
    statuses = project_status(project)
    tracked = gitcli.listed(listing.result()) if listing else gitcli.list_files(project.root)
    candidates = tracked if tracked is not None else _walk(project.root)
    problems = find_problems(
        project, statuses, candidates=candidates, read_record=record_reader(project)
    )
    if wanted is not None:
        problems = [p for p in problems if _selected(p, wanted, project)]
    if tracked is not None:
        problems = _with_history([_locate_hand_edit(p, project) for p in problems], project)
    return problems


def _with_history(problems: list[Problem], project: Project) -> list[Problem]:
    """Say whether each headerless output lost its header or never had one: one git call
    for them all (a new project may declare hundreds of outputs not adopted yet)."""
    headerless = [p.path for p in problems if p.kind == "header-missing" and p.module]
    if not headerless:
        return problems
    had = gitcli.paths_whose_history_changed(project.root, HEADER_MARK, headerless)
    told = []
    for problem in problems:
        spec = project.by_id.get(problem.module or "")
        if problem.kind == "header-missing" and spec is not None:
            history: HeaderHistory = "removed" if problem.path in had else "never"
            problem = advice.header_missing(problem.path, spec.path, spec.id, history)
        told.append(problem)
    return told


def _selected(problem: Problem, wanted: list[str], project: Project) -> bool:
    if under(problem.path, wanted):
        return True
    spec = project.by_id.get(problem.module or "")
    return spec is not None and (
        under(spec.path, wanted) or any(under(o, wanted) for o in spec.outputs)
    )


def _walk(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".specmill", "node_modules", ".venv")]
        found += [Path(folder, f).relative_to(root).as_posix() for f in files]
    return found


def _locate_hand_edit(problem: Problem, project: Project) -> Problem:
    """Point a hand edit at its first edited line, as the hook does: the first line that
    differs from the version specmill wrote (the newest committed one with the same
    header and an unedited body; HEAD itself, unless the edit was committed with SKIP=)."""
    if problem.kind != "hand-edited":
        return problem
    now = project.read(problem.path)
    if now is None:
        return problem
    before = _as_generated(project, problem.path, now)
    if before is None:
        return problem
    line = first_changed_line(before, now, problem.path)
    if line is None:
        return problem
    return dataclasses.replace(problem, line=line)


def _as_generated(project: Project, path: str, now: str) -> str | None:
    header = split_header(now, path).header
    if header is None:
        return None
    for rev in ["HEAD", *gitcli.file_history(project.root, path)]:
        text = gitcli.show(project.root, rev, path)
        split = split_header(text, path) if text is not None else None
        if split is None or split.header is None or split.header.content != header.content:
            continue
        if not is_hand_edited(split):
            return text
    return None
