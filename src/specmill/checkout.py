"""The problems of a checkout on disk: the core's findings plus git's view of it.

``specmill check`` and the bot both report these; git (through ``specmill.gitcli``) lists
the files to scan for orphans and gives the committed version that places a hand
edit on its first changed line.
"""

from __future__ import annotations

import os
from pathlib import Path

from specmill import gitcli
from specmill.core.paths import under
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.status import find_problems, first_changed_line, project_status


def collect_problems(project: Project, wanted: list[str] | None = None) -> list[Problem]:
    statuses = project_status(project)
    tracked = gitcli.list_files(project.root)
    candidates = tracked if tracked is not None else _walk(project.root)
    problems = find_problems(project, statuses, candidates=candidates)
    if wanted is not None:
        problems = [p for p in problems if _selected(p, wanted, project)]
    if tracked is not None:
        problems = [_locate_hand_edit(p, project) for p in problems]
    return problems


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
    """Point a hand edit at the first line that differs from the committed version."""
    if problem.kind != "hand-edited":
        return problem
    before = gitcli.show(project.root, "HEAD", problem.path)
    now = project.read(problem.path)
    if before is None or now is None:
        return problem
    line = first_changed_line(before, now, problem.path)
    if line is None:
        return problem
    return Problem(problem.path, line, problem.kind, problem.message, problem.module)
