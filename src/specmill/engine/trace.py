"""``trace``: from a generated line back to the requirement and plan step behind it.

blame -> commit -> trailers and run record (git note, else the local run record of
``engine.runstore``) -> the module's line ranges -> requirement ids -> the spec's lines
and the plan's steps.

Files committed by hand (``regen --no-commit``, then ``git commit``) have no trailers:
their header's ``run=`` field (or, for older headers, the inputs hash) leads to the
local run record, and the file the run recorded there places the line.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from specmill.core.hashing import content_matches
from specmill.core.header import Header, split_header
from specmill.core.records import ModuleResult, RunRecord
from specmill.core.spec import parse_requirements
from specmill.core.staleness import is_run_id
from specmill.engine.provenance import NOTES_REF, parse_trailers
from specmill.engine.runstore import (
    generated_file,
    load_run,
    parse_record,
    run_folder,
    run_ids,
    shown,
)
from specmill.errors import SpecmillError
from specmill.repo import Repo

UNCOMMITTED = "0" * 40


@dataclass
class TracedRequirement:
    id: str
    spec_line: int | None
    text: str


@dataclass
class Trace:
    path: str
    line: int | None
    module: str
    spec: str
    commit: str | None = None
    subject: str = ""
    run_id: str | None = None
    inputs_hash: str | None = None
    record_from: str | None = None  # "git note" or the run folder
    requirements: list[TracedRequirement] = field(default_factory=list)
    plan_steps: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    attempts: int | None = None
    notes: list[str] = field(default_factory=list)  # what could not be traced, and why

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _record(
    repo: Repo, root: Path, commit: str, run_id: str | None
) -> tuple[RunRecord | None, str]:
    text = repo.note(commit, NOTES_REF)
    if text:
        return parse_record(text, f"git note {NOTES_REF} on {commit[:12]}"), "git note"
    if run_id:
        record = load_run(root, run_id)
        folder = run_folder(root, run_id)
        if record is not None and folder is not None:
            return record, shown(root, folder)
    return None, ""


def _requirements(spec_texts: list[str], spec: str, ids: list[str]) -> list[TracedRequirement]:
    """Each id with its line and text: from the spec as it is now, else as it was."""
    found: dict[str, TracedRequirement] = {}
    for text in spec_texts:
        try:
            requirements = parse_requirements(text, spec)
        except SpecmillError:
            continue
        for r in requirements:
            if r.id in ids and r.id not in found:
                found[r.id] = TracedRequirement(r.id, r.line, r.text)
    return [found.get(i, TracedRequirement(i, None, "(no longer in the spec)")) for i in ids]


def _covering(module: ModuleResult, path: str, line: int | None) -> list[str]:
    ids: list[str] = []
    for r in module.line_requirements.get(path, []):
        if line is None or r.start <= line <= r.end:
            ids += [i for i in r.requirements if i not in ids]
    return ids


def _no_claim(module: ModuleResult, path: str, line: int | None) -> str:
    """Why no requirement is shown, in the record's own terms."""
    ranges = module.line_requirements.get(path)
    if not ranges:
        return f"the run recorded no line-to-requirement map for {path}"
    if line is None:
        return "the executor claimed no requirement for any line of this file"
    covered = ", ".join(f"{r.start}-{r.end}" if r.start != r.end else f"{r.start}" for r in ranges)
    return (
        f"no requirement claims this line: the executor mapped lines {covered} of the "
        "generated file, not this one"
    )


@dataclass
class Generation:
    """The specmill commit that last wrote a line, and its run record."""

    commit: str | None = None
    subject: str = ""
    line: int = 0  # the line's number in that commit
    path: str = ""  # the file's name in that commit
    run_id: str | None = None
    inputs_hash: str | None = None
    record: RunRecord | None = None
    record_from: str = ""
    module: ModuleResult | None = None
    notes: list[str] = field(default_factory=list)


def line_in(before: str, after: str, line: int) -> int | None:
    """Where line ``line`` of ``after`` was in ``before``, if it is unchanged since. Pure."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for i, j, size in matcher.get_matching_blocks():
        if j <= line - 1 < j + size:
            return i + line - j
    return None


def find_generation(
    repo: Repo, root: Path, path: str, text: str, header_line: int, line: int, module: str
) -> Generation:
    """The generation that wrote the file (its header), and ``line``'s place in it.

    Every line of a generated file comes from the generation that wrote its header,
    unless it changed afterwards; blame alone would credit unchanged lines to older
    commits.
    """
    found = Generation()
    if not repo.has_commits():
        found.notes.append("the repository has no commits yet")
        return found
    sha, _, found.path = repo.blame_line(path, header_line)
    if sha == UNCOMMITTED:
        found.notes.append(
            "the header is not committed yet: the file was regenerated after the last commit"
            " (regen --no-commit?) or edited"
        )
        return found
    found.commit = sha
    message = repo.message(sha)
    found.subject = message.splitlines()[0] if message else ""
    trailers = parse_trailers(message)
    if not trailers.is_specmill:
        found.notes.append(
            f"the header was written by commit {sha[:12]}, which is not a specmill commit"
            " (no Specmill-Run trailer): committed by hand, an adoption, or a hand edit"
        )
        return found
    found.line = line_in(repo.show(sha, found.path) or "", text, line) or 0
    if not found.line:
        changed, _, _ = repo.blame_line(path, line)
        by = "in the working tree" if changed == UNCOMMITTED else f"by commit {changed[:12]}"
        found.notes.append(f"line {line} was changed {by} after specmill generated the file")
    found.run_id = trailers.run
    found.inputs_hash = trailers.modules.get(module)
    found.record, found.record_from = _record(repo, root, sha, trailers.run)
    if found.record is not None:
        found.module = next((m for m in found.record.modules if m.module == module), None)
    if found.module is None:
        found.notes.append(f"no run record for {module} in a git note or the local run records")
    return found


def _run_record_for(root: Path, header: Header) -> tuple[RunRecord, ModuleResult] | None:
    """The local run record that generated ``header``'s file: by its ``run=`` field, else
    (older headers) the newest run that generated the module from the same inputs."""
    if header.run:
        record = _quiet_load(root, header.run) if is_run_id(header.run) else None
        candidates = [record] if record is not None else []
    else:
        candidates = [r for name in run_ids(root) if (r := _quiet_load(root, name)) is not None]
    for record in candidates:
        for module in record.modules:
            if module.module == header.module and module.inputs_hash == header.inputs:
                return record, module
    return None


def _quiet_load(root: Path, run_id: str) -> RunRecord | None:
    try:
        return load_run(root, run_id)
    except SpecmillError:
        return None  # one damaged record must not hide the others


def from_run_store(root: Path, path: str, text: str, header: Header, line: int) -> Generation:
    """The generation of a file whose header no specmill commit wrote (``--no-commit``)."""
    found = Generation(path=path)
    record_and_module = _run_record_for(root, header)
    if record_and_module is None:
        where = f"run {header.run}" if header.run else f"inputs {header.inputs}"
        found.notes.append(
            f"no run record for {header.module} ({where}) among the local run records: it"
            " was generated on another machine, or the record was deleted"
        )
        return found
    found.record, found.module = record_and_module
    found.run_id = found.record.run_id
    found.inputs_hash = header.inputs
    folder = run_folder(root, found.run_id)
    found.record_from = shown(root, folder) if folder else found.run_id
    generated = generated_file(root, found.run_id, path)
    if generated is not None:
        found.line = line_in(generated, text, line) or 0
    elif content_matches(header.content, split_header(text, path).outside):
        found.line = line  # the body is as generated
    if not found.line:
        found.notes.append(f"line {line} was changed after specmill generated the file")
    return found


def read_generated(root: Path, path: str) -> tuple[str, Header, int]:
    """A generated file's text, header, and the 1-based line of the header line that
    every generation changes: the one with ``run=`` (else ``content=``). Where it falls
    depends on the field layout (a long spec path pushes fields down)."""
    file = root / path
    if not file.is_file():
        raise SpecmillError(f"{path} does not exist")
    text = file.read_text(encoding="utf-8", errors="surrogateescape")
    split = split_header(text, path)
    if split.header is None:
        raise SpecmillError(f"{path} has no specmill header: it is not a generated file")
    start = split.header_line or 1
    lines = text.splitlines()[start - 1 : start - 1 + split.header.size]
    for key in ("run=", "content="):
        for offset, line in enumerate(lines):
            if f" {key}" in line:
                return text, split.header, start + offset
    return text, split.header, start + 1


def trace_line(repo: Repo, root: Path, path: str, line: int | None) -> Trace:
    text, header, header_line = read_generated(root, path)
    count = len(text.splitlines())
    if line is not None and not 1 <= line <= count:
        raise SpecmillError(f"{path} has {count} lines, not {line}")
    result = Trace(path, line, header.module, header.spec)
    # That header line changes with every generation: its blame is the last one.
    found = find_generation(repo, root, path, text, header_line, line or header_line, header.module)
    if found.module is None and header.origin == "generated":
        commit, subject, notes = found.commit, found.subject, found.notes
        found = from_run_store(root, path, text, header, line or header_line)
        found.commit, found.subject = commit, subject
        if found.module is None:
            found.notes = notes + found.notes
    result.notes = found.notes
    result.commit, result.subject = found.commit, found.subject
    result.run_id, result.inputs_hash = found.run_id, found.inputs_hash
    result.record_from = found.record_from or None
    module = found.module
    if module is None:
        return result
    if line is not None and not found.line:
        return result
    at = found.line if line is not None else None
    ids = _covering(module, found.path, at)
    if not ids:
        result.notes.append(_no_claim(module, found.path, at))
    spec_file = root / header.spec
    current = spec_file.read_text(encoding="utf-8") if spec_file.is_file() else ""
    then = (repo.show(found.commit, header.spec) or "") if found.commit else ""
    result.requirements = _requirements([current, then], header.spec, ids)
    if module.plan is not None:
        result.plan_steps = [
            f"step {n}: {step.description} ({', '.join(step.requirements)})"
            for n, step in enumerate(module.plan.steps, start=1)
            if set(step.requirements) & set(ids)
        ]
    result.verdicts = [f"{v.verifier}: {v.verdict}" for v in module.verdicts]
    result.attempts = module.attempts
    return result
