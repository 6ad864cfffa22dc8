"""Where each thing the bot has to say goes: inline on a diff line, or in the summary.

Pure. GitHub accepts a review comment only on a line of the pull request's diff, on
the RIGHT side (the head): added or context lines of a hunk, as read from each changed
file's patch. Findings and problems elsewhere go to the summary, with a link.

The planner's ambiguities are notes too (source ``question``): each lands on the spec
line that holds its requirement when that line is in the diff, else in the summary's
"Questions the spec leaves open", with a link.

Every inline comment carries a hidden marker with a fingerprint of what it says and
where; a re-run skips a comment whose marker is already on a current review comment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from specmill.core.records import BLOCKING_SEVERITIES, Ambiguity, Finding, RunRecord
from specmill.github.render import render

MAX_INLINE_COMMENTS = 50  # past this, a review is noise: the rest go to the summary
_MARKER = re.compile(r"<!-- specmill:finding ([0-9a-f]{16}) -->")


class ProblemLike(Protocol):
    """``specmill.core.status.Problem`` as the bot reads it."""

    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def module(self) -> str | None: ...
    @property
    def hint(self) -> str: ...


@dataclass(frozen=True)
class ChangedFile:
    """One file of the pull request as GitHub lists it (``PullRequest.get_files()``)."""

    path: str
    patch: str | None  # None for binary files and diffs GitHub finds too large


@dataclass(frozen=True)
class ExistingComment:
    """A review comment already on the pull request."""

    body: str
    line: int | None  # None: outdated, no longer on a line of the diff
    ours: bool


@dataclass(frozen=True)
class Note:
    """One finding or problem, located."""

    source: str  # "finding", "problem" or "question" (the planner's ambiguities)
    kind: str
    severity: str
    message: str
    module: str | None
    path: str | None
    line: int | None
    requirement: str | None = None
    hint: str = ""

    @property
    def blocking(self) -> bool:
        return self.source == "problem" or self.severity in BLOCKING_SEVERITIES

    @property
    def fingerprint(self) -> str:
        fields = [self.source, self.kind, self.severity, self.module, self.path, self.line]
        fields += [self.requirement, self.message, self.hint]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]

    def link(self, html_url: str, sha: str) -> str | None:
        if self.path is None:
            return None
        anchor = f"#L{self.line}" if self.line else ""
        return f"{html_url}/blob/{sha}/{quote(self.path)}{anchor}"


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    body: str
    fingerprint: str

    def as_review_comment(self) -> dict[str, str | int]:
        return {"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body}


@dataclass(frozen=True)
class ReviewPlan:
    inline: tuple[InlineComment, ...]
    outside: tuple[Note, ...]  # located outside the diff, or not located at all


def right_lines(files: Iterable[ChangedFile]) -> dict[str, frozenset[int]]:
    """Head-side line numbers that a review comment may be placed on, per path."""
    lines: dict[str, frozenset[int]] = {}
    for changed in files:
        if not changed.patch:
            continue
        header = f"--- a/{changed.path}\n+++ b/{changed.path}\n"
        try:
            patch = PatchSet(header + changed.patch.rstrip("\n") + "\n")
        except UnidiffParseError:
            continue  # an unparseable patch: its findings go to the summary
        lines[changed.path] = frozenset(
            line.target_line_no
            for patched in patch
            for hunk in patched
            for line in hunk
            if line.target_line_no is not None and not line.is_removed
        )
    return lines


def collect_notes(
    record: RunRecord | None,
    problems: Sequence[ProblemLike],
    requirement_lines: Mapping[str, Mapping[str, int]],
) -> list[Note]:
    """Problems first (they fail the check), then each module's aggregated findings,
    then the questions its planner found the spec leaves open."""
    notes = [
        Note("problem", p.kind, "blocker", p.message, p.module, p.path, p.line, hint=p.hint)
        for p in problems
    ]
    for module in record.modules if record else ():
        spec_lines = requirement_lines.get(module.spec, {})
        declared = frozenset([*module.files, module.spec])
        notes += [
            _locate(f, module.module, module.spec, spec_lines, declared) for f in module.findings
        ]
        ambiguities = module.plan.ambiguities if module.plan else []
        notes += [_question(a, module.module, module.spec, spec_lines) for a in ambiguities]
    unique = {note.fingerprint: note for note in notes}
    return list(unique.values())


def _locate(
    finding: Finding,
    module: str,
    spec: str,
    spec_lines: Mapping[str, int],
    declared: frozenset[str],
) -> Note:
    """Where a finding goes: a verifier may only point at the module's outputs or its spec.

    Any other path a model names is not a location (no inline comment, no link): it
    stays in the message, as plain text.
    """
    spec_line = finding.spec_line or spec_lines.get(finding.requirement or "")
    path: str | None
    message = finding.message
    if finding.kind == "spec-gap" or (finding.file is None and spec_line):
        path, line = spec, spec_line
    elif finding.file is not None and finding.file not in declared:
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        path, line, message = None, None, f"{where}: {message}"
    else:
        path, line = finding.file, finding.line
    return Note(
        "finding", finding.kind, finding.severity, message, module, path, line,
        requirement=finding.requirement,
    )  # fmt: skip


def _question(ambiguity: Ambiguity, module: str, spec: str, spec_lines: Mapping[str, int]) -> Note:
    line = spec_lines.get(ambiguity.requirement) if ambiguity.requirement else None
    return Note(
        "question", "ambiguity", "info", ambiguity.question, module, spec, line,
        requirement=ambiguity.requirement,
    )  # fmt: skip


def plan_review(notes: Sequence[Note], files: Iterable[ChangedFile]) -> ReviewPlan:
    placeable = right_lines(files)
    inline: list[InlineComment] = []
    outside: list[Note] = []
    for note in notes:
        on_diff = note.path is not None and note.line in placeable.get(note.path, ())
        if on_diff and len(inline) < MAX_INLINE_COMMENTS:
            assert note.path is not None and note.line is not None
            body = render("inline_comment.md.j2", note=note, marker=marker(note.fingerprint))
            inline.append(InlineComment(note.path, note.line, body, note.fingerprint))
        else:
            outside.append(note)
    return ReviewPlan(tuple(inline), tuple(outside))


def marker(fingerprint: str) -> str:
    return f"<!-- specmill:finding {fingerprint} -->"


def new_comments(
    planned: Iterable[InlineComment], existing: Iterable[ExistingComment]
) -> list[InlineComment]:
    """The planned comments that are not already posted, unchanged, on a current line."""
    # Only the marker the comment starts with: a marker further down is quoted text
    # (a module id or requirement in a code span) and must not hide another comment.
    posted = {
        match.group(1)
        for comment in existing
        if comment.ours and comment.line is not None
        if (match := _MARKER.match(comment.body.lstrip()))
    }
    return [comment for comment in planned if comment.fingerprint not in posted]
