"""The managed block of ``.gitattributes`` that marks outputs ``linguist-generated``.

GitHub collapses such files in pull request diffs, so reviewers read the spec change
and the verifiers' report rather than thousands of generated lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

GITATTRIBUTES = ".gitattributes"
BEGIN = "# BEGIN specmill: generated outputs (managed by specmill; edits here are replaced)"
END = "# END specmill"
_SPECIAL = re.compile(r'[\s"\\#!]')


def _pattern(path: str) -> str:
    if not _SPECIAL.search(path) and not path.startswith("["):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'  # C-style quoting, understood by git for attributes patterns


def render_gitattributes(existing: str, outputs: Iterable[str]) -> str:
    """``existing`` with the managed block replaced (or appended) for ``outputs``."""
    block = [BEGIN, *(f"{_pattern(p)} linguist-generated=true" for p in sorted(set(outputs))), END]
    newline = "\r\n" if "\r\n" in existing else "\n"  # keep a CRLF file CRLF
    lines = existing.splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN) :]:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
        lines[start : end + 1] = block
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += block
    return newline.join(lines) + newline


def _unquote(pattern: str) -> str:
    if len(pattern) >= 2 and pattern[0] == pattern[-1] == '"':
        return re.sub(r"\\(.)", r"\1", pattern[1:-1])
    return pattern


def marked_paths(existing: str) -> dict[str, int] | None:
    """The paths the managed block marks, with their 1-based lines; None: no block."""
    lines = existing.splitlines()
    if BEGIN not in lines or END not in lines[lines.index(BEGIN) :]:
        return None
    start = lines.index(BEGIN)
    marked: dict[str, int] = {}
    for index in range(start + 1, lines.index(END, start)):
        pattern, _, attributes = lines[index].rpartition(" ")
        if attributes == "linguist-generated=true" and pattern:
            marked.setdefault(_unquote(pattern), index + 1)
    return marked


@dataclass(frozen=True)
class Drift:
    """How the managed block differs from the declared outputs."""

    line: int  # the first line to look at: an extra entry's, else the block's first
    extra: list[str]  # marked, but no spec declares them
    absent: list[str]  # declared, but not marked

    def describe(self, most: int = 3) -> str:
        parts = []
        for paths, what in (
            (self.extra, "marks {} (no spec declares it)"),
            (self.absent, "does not mark {}"),
        ):
            if paths:
                shown = ", ".join(paths[:most]) + (
                    f" and {len(paths) - most} more" if len(paths) > most else ""
                )
                parts.append(what.format(shown))
        return "; ".join(parts)


def drift(existing: str, declared: Iterable[str], generated: Iterable[str]) -> Drift | None:
    """How the block of ``existing`` no longer matches the outputs: it marks a path no
    spec ``declared``, or misses one that was ``generated`` (an output not generated yet
    is left to the adopt or regen that writes it). None when it matches, or when there
    is no block (the next adopt or regeneration writes one)."""
    marked = marked_paths(existing)
    if marked is None:
        return None
    extra = sorted(set(marked) - set(declared), key=marked.__getitem__)
    absent = sorted(set(generated) - set(marked))
    if not extra and not absent:
        return None
    begin = existing.splitlines().index(BEGIN) + 1
    return Drift(marked[extra[0]] if extra else begin, extra, absent)
