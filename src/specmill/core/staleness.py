"""Why a module is stale: which of its inputs changed since its outputs were generated.

Each run records one short digest per input (``ModuleResult.input_digests``). A stale
output's header names its run (``run=``); comparing that map with the current one names
the spec, dependency spec, context file, governance file, prompt template or model
configuration that changed. Where no record is at hand (an adoption, a run made on
another machine whose git note was not fetched), the message says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from specmill.core import hashing
from specmill.core.header import Header
from specmill.core.layout import RUNS_IN_GIT_DIR
from specmill.core.project import Project
from specmill.core.repo_files import RUNS
from specmill.core.spec import Spec

RecordReader = Callable[[str], "str | None"]  # run id -> the run record's JSON text


def local_record(project: Project) -> RecordReader:
    """Run records kept in the repository: ``.git/specmill/runs/<run-id>/record.json``
    (when the project's root holds the git directory), else the older ``.specmill/runs``.
    ``specmill.engine.runstore.record_text`` finds them from a linked worktree too."""

    def read(run: str) -> str | None:
        if not is_run_id(run):
            return None
        found = project.read(f".git/{RUNS_IN_GIT_DIR}/{run}/record.json")
        return found if found is not None else project.read(f"{RUNS}/{run}/record.json")

    return read


def changed_inputs(
    project: Project, spec: Spec, header: Header, read_record: RecordReader | None = None
) -> tuple[list[str], str]:
    """The inputs that changed since ``header`` was written, one phrase each
    (``"governance file STYLE.md changed"``); else no phrase and why it is not known."""
    recorded = _recorded_digests(header, read_record or local_record(project))
    if recorded is None:
        if header.origin == "adopted":
            return [], "an adoption records no inputs"
        return [], "no run record for it here (fetch refs/notes/specmill?)"
    changed = hashing.changed_inputs(recorded, project.input_digests(spec))
    return describe(changed, project), "" if changed else "its run recorded the same inputs"


def stale_reason(
    project: Project, spec: Spec, header: Header, read_record: RecordReader | None = None
) -> str:
    """``check``'s message for a stale output."""
    phrases, unknown = changed_inputs(project, spec, header, read_record)
    if phrases:
        return "generated from older inputs: " + "; ".join(phrases)
    return (
        f"generated from older inputs than {spec.path} and its dependencies now give "
        f"(which one changed is not known: {unknown})"
    )


def describe(keys: list[str], project: Project) -> list[str]:
    """Input-digest keys as a reader would name them, one phrase per input."""
    phrases: list[str] = []
    templates: dict[str, list[str]] = {}
    for key in keys:
        kind, _, rest = key.partition(":")
        if kind == "template":
            name, _, source = rest.partition(":")
            templates.setdefault(name, []).append(source)
        elif kind == "spec":
            phrases.append(f"its spec {rest} changed")
        elif kind == "depends_on":
            dep = project.by_id.get(rest)
            where = f" ({dep.path})" if dep is not None else ""
            phrases.append(f"the spec of dependency {rest}{where} changed")
        elif kind in ("context", "governance"):
            phrases.append(f"{kind} file {rest} changed")
        elif kind == "models":
            phrases.append("the model configuration ([specmill.models]) changed")
        elif kind == "templates":
            phrases.append("the prompt templates changed")
        elif kind == "format":
            phrases.append("specmill's format version changed (a specmill upgrade)")
    for name, sources in templates.items():
        overrides = [s for s in sources if not s.startswith("specmill:")]
        if overrides:
            phrases.append(f"template override {overrides[0]} was added, changed or removed")
        else:
            phrases.append(f"prompt template {name} changed (a specmill upgrade)")
    return phrases


def _recorded_digests(header: Header, read_record: RecordReader) -> dict[str, str] | None:
    if not is_run_id(header.run):
        return None  # none (an adoption, an older header), or not one specmill wrote
    text = read_record(header.run)
    if not text:
        return None
    try:
        data = json.loads(text)
        for module in data.get("modules") or []:
            if module.get("module") == header.module and module.get("inputs_hash") == header.inputs:
                digests = module.get("input_digests")
                if isinstance(digests, dict) and digests:
                    return {str(k): str(v) for k, v in digests.items()}
    except (ValueError, AttributeError, TypeError):
        return None  # a damaged record: say that the input is unknown
    return None


RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}\Z")


def is_run_id(run: str) -> bool:
    """A run id read from a file header becomes a path: letters, digits, '-' and '_' only."""
    return RUN_ID.match(run) is not None
