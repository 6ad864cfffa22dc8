"""What state each generated output is in, and the problems ``specmill check`` reports.

Pure: works on a ``Project`` (config, parsed specs, and ``Project.probe`` for the files).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from specmill.core import advice
from specmill.core.gitattributes import GITATTRIBUTES, drift
from specmill.core.header import split_header, style_for
from specmill.core.lint import lint_problems
from specmill.core.probe import OutputStatus, output_status
from specmill.core.problems import Problem
from specmill.core.project import Project
from specmill.core.spec import Spec
from specmill.core.staleness import RecordReader, stale_reason
from specmill.errors import SpecmillError


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


def module_status(project: Project, spec: Spec) -> ModuleStatus:
    inputs = project.inputs_hash(spec)

    def current(recorded: str) -> bool:
        return recorded == inputs or project.inputs_match(spec, recorded)

    outputs = []
    for path in spec.outputs:
        probe = project.probe(path)
        header = None if probe is None else probe.header
        if (
            header is not None
            and probe is not None
            and probe.content_ok
            and header.inputs == inputs
        ):  # fresh: most outputs, most days (a named tuple: cheap to build)
            outputs.append(OutputStatus(path, "fresh", header, probe.header_line))
        else:
            outputs.append(output_status(path, probe, current))
    status = object.__new__(ModuleStatus)
    status.__dict__.update(module=spec.id, spec=spec.path, inputs_hash=inputs, outputs=outputs)
    return status


def project_status(project: Project) -> list[ModuleStatus]:
    specs = project.specs
    if project.graph is not None:
        by_id = project.graph.specs
        specs = [by_id[m] for m in project.graph.order()]
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
    statuses = list(statuses)
    for status in statuses:
        spec = project.by_path[status.spec]
        for output in status.outputs:
            if output.state == "fresh" and output.header and output.header.module == spec.id:
                continue  # no problem (``_output_problem`` would say None)
            problem = _output_problem(spec, output)
            if problem is not None and problem.kind == "stale" and output.header is not None:
                reason = stale_reason(project, spec, output.header, read_record)
                problem = replace(problem, message=reason)
            if problem is not None:
                problems.append(problem)
    problems += _orphans(project, candidates)
    problems += _gitattributes(project, statuses)
    return problems


def _gitattributes(project: Project, statuses: Iterable[ModuleStatus]) -> list[Problem]:
    """The managed block of .gitattributes, when it no longer marks exactly the outputs
    (a file moved and its spec edited by hand). Not judged while a spec is broken: its
    outputs are not known then."""
    if project.errors or (project.root / GITATTRIBUTES).is_symlink():
        return []
    generated = [o.path for s in statuses for o in s.outputs if o.header is not None]
    found = drift(project.read(GITATTRIBUTES) or "", project.owners, generated)
    if found is None:
        return []
    return [
        Problem(
            GITATTRIBUTES,
            found.line,
            "invalid",
            f"specmill's block of generated outputs is out of date: it {found.describe()}",
            None,
            "run `specmill check --fix` to rewrite the block (adopt, regen, mv and eject "
            "rewrite it too)",
        )
    ]


def _output_problem(spec: Spec, output: OutputStatus) -> Problem | None:
    module, path = spec.id, output.path
    if output.state == "missing":
        return advice.missing(path, spec.path, spec.line_of(path), module)
    if output.state == "header-missing":
        return advice.header_missing(path, spec.path, module, "unknown")
    assert output.header is not None
    if output.header.module != module:
        return Problem(
            path,
            output.header_line,
            "invalid",
            f"header names module {output.header.module!r} but {spec.path} "
            f"declares it for {module!r}",
            module,
            f"run `specmill regen {module}` to generate it for {module}",
        )
    if output.state == "hand-edited":
        line = output.header_line + output.header.size
        adopted = output.header.origin == "adopted"
        return advice.hand_edited(path, line, spec.path, module, adopted=adopted)
    if output.state == "stale":
        return advice.stale(
            path,
            output.header_line,
            module,
            f"generated from older inputs than {spec.path} and its dependencies now give",
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
        line, adopted = found.header_line, header.origin == "adopted"
        moved = _missing_output_of(project, header.module, path)
        if moved is not None:
            spec = project.by_id[header.module]
            problems.append(
                advice.moved_by_hand(path, line, moved, spec.path, spec.id, adopted=adopted)
            )
        else:
            problems.append(advice.orphan(path, line, header.spec, header.module, adopted=adopted))
    return problems


def _missing_output_of(project: Project, module: str, path: str) -> str | None:
    """The output of ``module`` that ``path`` most likely was: one that no longer exists,
    with the same comment syntax (a move keeps it), else None."""
    spec = project.by_id.get(module)
    if spec is None:
        return None
    style = _style(project, path)
    for output in spec.outputs:
        if style is None or _style(project, output) != style:
            continue
        try:
            if project.probe(output) is None:
                return output
        except SpecmillError:
            continue
    return None


def _style(project: Project, path: str) -> str | None:
    try:
        return style_for(path, project.config.comment_styles).name
    except SpecmillError:
        return None


def first_changed_line(before: str, after: str, path: str) -> int | None:
    """1-based line of ``after`` where it first departs from ``before`` (the header stays)."""
    old = before.replace("\r\n", "\n").split("\n")
    new = after.replace("\r\n", "\n").split("\n")
    if split_header(before, path).header is None:
        return None
    import difflib  # here: only a hand edit needs it

    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, j1, _ in matcher.get_opcodes():
        if tag != "equal":
            return min(j1 + 1, len(new))
    return None
