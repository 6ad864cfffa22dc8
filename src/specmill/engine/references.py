"""Which files may still name a file that moved: ``git grep`` for the names
``specmill.core.references`` derives, outside specmill's own headers."""

from __future__ import annotations

from collections.abc import Iterable

from specmill.core.header import split_header
from specmill.core.project import Project
from specmill.core.references import pattern, reference_terms
from specmill.errors import SpecmillError
from specmill.gitcli import files_matching


def files_naming(
    project: Project, source: str, *, ignore: Iterable[str] = ()
) -> tuple[list[str], dict[str, int]]:
    """The names looked for, and the files holding one (each with its first line that
    does), in path order. A spec is not searched for the dotted module name (its
    ``depends_on`` names modules that way), nor a header (it names its module)."""
    paths, dotted = reference_terms(source)
    lines = files_matching(project.root, [pattern(t) for t in paths])
    specs = project.config.specs
    for path, more in files_matching(project.root, [pattern(t) for t in dotted], specs).items():
        lines[path] = sorted({*lines.get(path, []), *more})
    found = {}
    for path in sorted(set(lines) - set(ignore)):
        outside = [n for n in lines[path] if not _in_header(project, path, n)]
        if outside:
            found[path] = outside[0]
    return paths + dotted, found


def _in_header(project: Project, path: str, line: int) -> bool:
    try:
        text = project.read(path) or ""
    except SpecmillError:  # unreadable here, though git read it: say it, do not judge it
        return False
    split = split_header(text, path)
    if split.header is None or split.header_line is None:
        return False
    return split.header_line <= line < split.header_line + split.header.size
