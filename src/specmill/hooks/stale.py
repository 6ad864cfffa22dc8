"""specmill-stale: every module's outputs were generated from its current inputs.

A module is stale when its inputs hash (spec, dependencies' specs, context files,
governance, prompt templates, model config) differs from the one in its outputs'
headers: something it is generated from changed and nobody ran `specmill regen`.
Missing outputs count too. Runs once per commit (or push) on the whole project;
hand edits are specmill-no-hand-edits' business, not this hook's.

A spec change committed alone, for the bot to regenerate on the pull request, is the
headline workflow: the hook's last line says how to commit it (``SKIP=``), and with
``stale = "report"`` in ``[specmill.hooks]`` it reports without blocking (``specmill
init`` chooses that when a workflow regenerates with the specmill Action).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from specmill.core.header import Header
from specmill.core.layout import PYPROJECT_FILE
from specmill.core.project import Project, find_root, load_project
from specmill.core.spec import Spec
from specmill.core.status import ModuleStatus, project_status
from specmill.errors import SpecmillError
from specmill.workflow_commands import guarded

HOOK = "specmill-stale"
NOT_REGENERATED = ("stale", "missing")


@guarded
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=HOOK, description="Fail when a module's inputs changed but it was not regenerated."
    )
    parser.add_argument("filenames", nargs="*", help="ignored: every module is checked")
    parser.parse_args(argv)
    try:
        project = load_project(find_root(Path.cwd()))
        invalid = _invalid(project)
        lines = invalid or _stale(project)
    except SpecmillError as exc:
        print(f"{HOOK}: error: {exc}")
        if exc.hint:
            print(f"  fix: {exc.hint}")
        return 1
    for line in lines:
        print(line)
    if not lines or invalid:
        return 1 if lines else 0
    if project.config.hooks.stale == "report":
        print(f"{HOOK}: reported, not blocking ({_setting(project)}): the bot regenerates them")
        return 0
    git = "git push" if "PRE_COMMIT_REMOTE_NAME" in os.environ else "git commit"
    print(
        f"{HOOK}: to leave the regeneration to the bot on the pull request, commit with "
        f"SKIP={HOOK} {git} ...; where the bot always regenerates, set {_setting(project)}"
    )
    return 1


def _setting(project: Project) -> str:
    table = "[tool.specmill.hooks]" if project.config_path == PYPROJECT_FILE else "[specmill.hooks]"
    return f'stale = "report" in {table} of {project.config_path}'


def _invalid(project: Project) -> list[str]:
    """Staleness needs every spec and the dependency graph; say so when they are broken."""
    errors = [*project.errors, *([project.graph_error] if project.graph_error else [])]
    if not errors:
        return []
    lines = [f"{e.path or project.config_path}:{e.line or 1}: invalid: {e.message}" for e in errors]
    return [*lines, "  fix: correct the spec (`specmill lint` lists every problem)"]


def _stale(project: Project) -> list[str]:
    statuses = [s for s in project_status(project) if _not_regenerated(s)]
    if not statuses:
        return []
    lines = []
    for status in statuses:
        spec = project.spec(status.module)
        stale = [o for o in status.outputs if o.state == "stale"]
        if stale:
            names = ", ".join(o.path for o in stale)
            adopted = {o.header is not None and o.header.origin == "adopted" for o in stale}
            made = " or ".join(("generated", "adopted")[a] for a in sorted(adopted))
            lines.append(
                f"{status.spec}:1: stale: {status.module}: its inputs changed since "
                f"{names} {'was' if len(stale) == 1 else 'were'} {made}"
            )
            lines.append(f"  changed: {_changed(project, spec, stale[0].header)}")
        for output in (o for o in status.outputs if o.state == "missing"):
            lines.append(
                f"{status.spec}:{spec.line_of(output.path)}: missing: {status.module}: "
                f"{output.path} is declared but does not exist"
            )
    assert project.graph is not None  # _invalid() ruled out a broken graph
    order = project.graph.with_dependents({status.module for status in statuses})
    lines.append(f"  fix: specmill regen {' '.join(order)}")
    lines.append("  (regenerates them, and what depends on them, in dependency order)")
    return lines


def _changed(project: Project, spec: Spec, header: Header | None) -> str:
    """Which input changed, from the run record named by the header (local or git note)."""
    from specmill.core.staleness import changed_inputs, local_record
    from specmill.gitcli import run_note

    if header is None:
        return "not known"
    local = local_record(project)
    phrases, unknown = changed_inputs(
        project, spec, header, lambda run: local(run) or run_note(project.root, run)
    )
    return "; ".join(phrases) if phrases else f"not known ({unknown})"


def _not_regenerated(status: ModuleStatus) -> bool:
    return any(output.state in NOT_REGENERATED for output in status.outputs)


if __name__ == "__main__":
    raise SystemExit(main())
