"""The local review of a run, rendered from ``templates/report/*.md.j2``.

A repository may override a report template in ``.specmill/templates/report/``.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path

import jinja2

from specmill.core.project import Project
from specmill.core.records import AttemptRecord, ModuleResult, RunRecord
from specmill.core.repo_files import OVERRIDES
from specmill.engine.guard import escapes
from specmill.engine.prompts import TEMPLATE_NAME, sandboxed_environment
from specmill.errors import SpecmillError

REPORT = "report"
ICONS = {
    "passed": "✅",
    "failed": "❌",
    "error": "⚠️",
    "budget-exceeded": "💸",
    "unchanged": "➖",
}


def _environment(root: Path | None) -> jinja2.Environment:
    def load(name: str) -> tuple[str, str, Callable[[], bool]]:
        if not TEMPLATE_NAME.match(name):  # `{% include "/etc/passwd" %}`, `../../x`
            raise SpecmillError(f"report template name {name!r}: a file name, e.g. review.md.j2")
        if root is not None:
            relative = f"{OVERRIDES}/{REPORT}/{name}"
            if escapes(root, relative):  # a link's target would be copied into the review
                raise SpecmillError(
                    "a report override must be a file, not a symbolic link", path=relative
                )
            override = root / relative
            if override.is_file():
                return override.read_text(encoding="utf-8"), str(override), lambda: True
        shipped = importlib.resources.files("specmill.templates") / REPORT / name
        return shipped.read_text(encoding="utf-8"), name, lambda: True

    environment = sandboxed_environment(load)
    environment.filters["icon"] = lambda status: ICONS.get(status, "•")
    environment.filters["attempt_outcome"] = attempt_outcome
    environment.filters["cell"] = cell
    environment.filters["checks_cell"] = checks_cell
    environment.filters["verifiers_cell"] = verifiers_cell
    return environment


def attempt_outcome(attempt: AttemptRecord) -> str:
    """What became of one candidate, and why, on one line (safe in a table cell)."""
    if attempt.passed:
        text = "passed"
    elif attempt.reason:
        text = attempt.reason
    elif attempt.checks_passed is None:
        text = "its files were refused"
    elif not attempt.checks_passed:
        text = "checks failed"
    else:
        text = "rejected by the verifiers"
    return cell(text)


def cell(value: object) -> str:
    """Text on one line, its pipes escaped: safe in a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def checks_cell(attempt: AttemptRecord) -> str:
    if attempt.checks_passed is None:
        return "–"
    return "passed" if attempt.checks_passed else "failed"


def verifiers_cell(attempt: AttemptRecord) -> str:
    if not attempt.verdicts:
        return "–"
    passes = sum(1 for v in attempt.verdicts if v.verdict == "pass")
    return f"{passes}/{len(attempt.verdicts)} passed"


def requirement_texts(project: Project | None, module: ModuleResult) -> dict[str, str]:
    if project is None or module.module not in project.by_id:
        return {}
    return {r.id: r.text for r in project.by_id[module.module].requirements}


def render_review(record: RunRecord, project: Project | None = None) -> str:
    try:
        template = _environment(project.root if project else None).get_template("review.md.j2")
        return template.render(
            record=record,
            requirements={m.module: requirement_texts(project, m) for m in record.modules},
            passed=[m for m in record.modules if m.status == "passed"],
            problems=[m for m in record.modules if m.status not in ("passed", "unchanged")],
        )
    except jinja2.TemplateError as exc:  # an override's syntax, or the sandbox refusing it
        raise SpecmillError(f"report template review.md.j2: {exc}") from None
