"""Search/replace edits of a previous version, applied exactly. Pure.

The format is Aider's SEARCH/REPLACE block, carried in the executor's JSON answer: a
path, the text to find, the text to put in its place. Edits apply in order, each to the
text the ones before it left. Unlike Aider, which also tries a match that ignores
leading whitespace and replaces the first of several matches, specmill applies an edit
only when its search text occurs exactly once: an edit that is not found, or found more
than once, is a problem reported back to the model, with the closest lines of the file
when it was not found. As in Aider, the edits that applied stay applied, and the model
is asked to send again only the ones that failed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from specmill.core.records import SearchReplace

SIMILAR_RATIO = 0.6  # below it, no "closest lines" are shown
EXCERPT_LINES = 12


@dataclass
class Applied:
    """Texts after the edits that applied, and a message per edit that did not."""

    texts: dict[str, str]
    problems: list[str] = field(default_factory=list)
    applied: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems


def apply_edits(texts: Mapping[str, str], edits: Sequence[SearchReplace]) -> Applied:
    """Apply ``edits`` to ``texts`` (path -> previous version); see the module doc."""
    result = Applied(dict(texts))
    for number, edit in enumerate(edits, start=1):
        problem = _apply(result.texts, edit)
        if problem is None:
            result.applied += 1
        else:
            result.problems.append(f"edit {number} of {edit.path}: {problem}")
    return result


def _apply(texts: dict[str, str], edit: SearchReplace) -> str | None:
    if edit.path not in texts:
        listed = ", ".join(sorted(texts)) or "none"
        return f"not an output to edit (those are: {listed}); write other outputs whole"
    if not edit.search:
        return "the search text is empty; copy the lines the change goes after or replaces"
    text = texts[edit.path]
    found = text.count(edit.search)
    if found == 1:
        texts[edit.path] = text.replace(edit.search, edit.replace, 1)
        return None
    if found > 1:
        lines = _lines_of(text, edit.search)
        return (
            f"the search text occurs {found} times (at lines {', '.join(map(str, lines))});"
            " include more lines around the change so that it occurs once"
        )
    message = "the search text is not in the file; it must match the previous version exactly"
    if edit.replace and edit.replace in text:
        message += " (its replacement is already there: is this edit needed?)"
    similar = closest_lines(edit.search, text)
    if similar:
        message += f". Did you mean these lines?\n```\n{similar}\n```"
    return message


def _lines_of(text: str, needle: str) -> list[int]:
    lines, start = [], text.find(needle)
    while start != -1:
        lines.append(text.count("\n", 0, start) + 1)
        start = text.find(needle, start + 1)
    return lines


def closest_lines(search: str, text: str) -> str:
    """The run of lines of ``text`` most like ``search`` (lines compared without their
    leading and trailing spaces, the usual slip), when similar enough."""
    wanted = [line.strip() for line in search.splitlines()]
    lines = text.splitlines()
    stripped = [line.strip() for line in lines]
    if not wanted or not lines:
        return ""
    size = min(len(wanted), len(lines))
    best, best_ratio = 0, 0.0
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted)
    for start in range(len(lines) - size + 1):
        matcher.set_seq1(stripped[start : start + size])
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    if best_ratio < SIMILAR_RATIO:
        return ""
    return "\n".join(lines[best : best + min(size, EXCERPT_LINES)])
