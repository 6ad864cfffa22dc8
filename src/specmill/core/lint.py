"""``specmill lint``: specs and configuration are valid and consistent."""

from __future__ import annotations

import contextlib

from specmill.core import advice
from specmill.core.config import PYPROJECT_FILE, find_toml_line
from specmill.core.config_rules import config_errors
from specmill.core.header import style_for
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.spec import spec_errors
from specmill.errors import SpecError, SpecmillError, UnsupportedFormatError


def lint_problems(project: Project) -> list[Problem]:
    problems = [problem for error in project.errors for problem in _every_error(project, error)]
    if project.graph_error is not None:
        problems.append(_invalid(project.graph_error))
    problems += _conflicts(project)
    for spec in project.specs:
        for output in spec.outputs:
            try:
                style_for(output, project.config.comment_styles)
            except UnsupportedFormatError as exc:
                problems.append(
                    Problem(spec.path, spec.line_of(output), "invalid", exc.message, spec.id)
                )
        for path in spec.context:
            line = spec.line_of(path)
            problem = _input_problem(project, spec.path, line, "context", path, spec.id)
            if problem is not None:
                problems.append(problem)
    config = project.config
    if config.sets("specs") and not (project.root / config.specs).is_dir():
        problems.append(
            Problem(
                project.config_path,
                _config_line(project, ("specs",)),
                "invalid",
                f"specs: no folder {config.specs!r} in the repository, so there are no specs",
            )
        )
    config_text = project.read(project.config_path) or ""
    for error in config_errors(config, path=project.config_path, text=config_text):
        problems.append(
            Problem(
                project.config_path,
                error.line or 1,
                "invalid",
                error.message,
                None,
                error.hint or "",
            )
        )
    if config.governance:
        for path in config.governance:
            line = _line_with(config_text, path)
            problem = _input_problem(project, project.config_path, line, "governance", path)
            if problem is not None:
                problems.append(problem)
    return problems


def _input_problem(
    project: Project, where: str, line: int, field: str, path: str, module: str | None = None
) -> Problem | None:
    """A context or governance file that may not be read, or does not exist."""
    try:
        text = project.read_input(path)
    except SpecmillError as exc:
        return Problem(where, line, "invalid", f"{field}: {exc.message}")
    if text is None:
        return Problem(where, line, "invalid", f"{field}: {path} does not exist", module)
    return None


def _config_line(project: Project, key: tuple[str, ...]) -> int:
    text = project.read(project.config_path) or ""
    prefix = ("tool", "specmill") if project.config_path == PYPROJECT_FILE else ("specmill",)
    return find_toml_line(text, prefix, key)


def _every_error(project: Project, error: SpecmillError) -> list[Problem]:
    """A spec that failed to load stopped at its first error: lint reports them all."""
    if not isinstance(error, SpecError) or error.path is None:
        return [_invalid(error)]
    full = project.root / error.path
    text = None
    if full.is_file() and not full.is_symlink():  # never open a FIFO: it would block
        with contextlib.suppress(SpecmillError):  # the load error says why it is unreadable
            text = project.read(error.path)
    if text is None:
        return [_invalid(error)]
    config = project.config
    found = spec_errors(
        text, error.path, specs_root=config.specs, protected=config.protected_patterns
    )
    return [_invalid(e) for e in found] or [_invalid(error)]


def _invalid(error: SpecmillError) -> Problem:
    return Problem(error.path or "specmill.toml", error.line or 1, "invalid", error.message)


def _conflicts(project: Project) -> list[Problem]:
    problems = []
    for path, owners in sorted(project.owners.items()):
        for spec in owners[1:]:
            others = [o.path for o in owners if o is not spec]
            problems.append(advice.conflict(path, spec.path, spec.line_of(path), spec.id, others))
    return problems


def _line_with(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1
