"""What state each generated output is in, and the problems ``specmill check`` reports.

Pure: works on a ``Project`` (config, parsed specs, and ``Project.probe`` for the files).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from specmill.core.header import Header, split_header
from specmill.core.lint import lint_problems
from specmill.core.probe import Probe
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.spec import Spec
from specmill.core.staleness import RecordReader, stale_reason
from specmill.errors import SpecmillError

OutputState = Literal["fresh", "stale", "hand-edited", "header-missing", "missing"]


@dataclass(frozen=True)
class OutputStatus:
    path: str
    state: OutputState
    header: Header | None = None
    header_line: int = 1


@dataclass(frozen=True)
class ModuleStatus:
    module: str
    spec: str
    inputs_hash: str
    outputs: list[OutputStatus] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return all(o.state == "fresh" for o in self.outputs)

    def as_dict(self) -> dict[str, object]:
        return {
            "module": self.module,
            "spec": self.spec,
            "outputs": [{"path": o.path, "state": o.state} for o in self.outputs],
        }


def output_status(
    path: str, probe: Probe | None, inputs_match: Callable[[str], bool]
) -> OutputStatus:
    """The state of one output; ``inputs_match`` tells whether a header's inputs are current."""
    if probe is None:
        return OutputStatus(path, "missing")
    header, line = probe.header, probe.header_line
    if header is None:
        return OutputStatus(path, "header-missing")
    if not probe.content_ok:
        return OutputStatus(path, "hand-edited", header, line)
    if not inputs_match(header.inputs):
        return OutputStatus(path, "stale", header, line)
    return OutputStatus(path, "fresh", header, line)


def module_status(project: Project, spec: Spec) -> ModuleStatus:
    inputs = project.inputs_hash(spec)

    def current(recorded: str) -> bool:
        return recorded == inputs or project.inputs_match(spec, recorded)

    outputs = [output_status(path, project.probe(path), current) for path in spec.outputs]
    return ModuleStatus(spec.id, spec.path, inputs, outputs)


def project_status(project: Project) -> list[ModuleStatus]:
    specs = project.specs
    if project.graph is not None:
        specs = [project.graph[m] for m in project.graph.order()]
    return [module_status(project, spec) for spec in specs]


def find_problems(
    project: Project,
    statuses: Iterable[ModuleStatus],
    *,
    candidates: Iterable[str] = (),
    read_record: RecordReader | None = None,
) -> list[Problem]:
    """Every problem in the project; ``candidates`` are other files to scan for orphans,
    ``read_record`` finds run records (to name the input that made a module stale)."""
    problems = lint_problems(project)
    for status in statuses:
        spec = project.by_path[status.spec]
        for output in status.outputs:
            problem = _output_problem(spec, output)
            if problem is not None and problem.kind == "stale" and output.header is not None:
                reason = stale_reason(project, spec, output.header, read_record)
                problem = replace(problem, message=reason)
            if problem is not None:
                problems.append(problem)
    problems += _orphans(project, candidates)
    return problems


def _output_problem(spec: Spec, output: OutputStatus) -> Problem | None:
    module, path = spec.id, output.path
    if output.state == "missing":
        return Problem(
            spec.path,
            spec.line_of(path),
            "missing",
            f"{path} is declared but does not exist",
            module,
        )
    if output.state == "header-missing":
        return Problem(
            path,
            1,
            "header-missing",
            f"declared by {spec.path} but has no specmill header (removed by hand?)",
            module,
        )
    assert output.header is not None
    if output.header.module != module:
        return Problem(
            path,
            output.header_line,
            "invalid",
            f"header names module {output.header.module!r} but {spec.path} "
            f"declares it for {module!r}",
            module,
        )
    if output.state == "hand-edited":
        return Problem(
            path,
            output.header_line + output.header.size,
            "hand-edited",
            f"edited by hand since specmill generated it from {spec.path}",
            module,
        )
    if output.state == "stale":
        return Problem(
            path,
            output.header_line,
            "stale",
            f"generated from older inputs than {spec.path} and its dependencies now give",
            module,
        )
    return None


def _orphans(project: Project, candidates: Iterable[str]) -> list[Problem]:
    problems = []
    skip = set(project.owners) | set(project.by_path)
    for path in sorted(set(candidates) - skip):
        try:
            found = project.probe(path)
        except SpecmillError:
            continue  # unreadable: git and the hooks will say so; it cannot be judged here
        if found is None or found.header is None:
            continue
        header = found.header
        problems.append(
            Problem(
                path,
                found.header_line,
                "orphan",
                f"generated from {header.spec} (module {header.module}), but no spec declares it",
                header.module,
            )
        )
    return problems


def first_changed_line(before: str, after: str, path: str) -> int | None:
    """1-based line of ``after`` where it first departs from ``before`` (the header stays)."""
    old = before.replace("\r\n", "\n").split("\n")
    new = after.replace("\r\n", "\n").split("\n")
    if split_header(before, path).header is None:
        return None
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, j1, _ in matcher.get_opcodes():
        if tag != "equal":
            return min(j1 + 1, len(new))
    return None
