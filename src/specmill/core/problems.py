"""A problem ``specmill check`` and ``lint`` report: ``path:line: kind: message``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProblemKind = Literal[
    "hand-edited", "header-missing", "stale", "missing", "orphan", "conflict", "invalid"
]

# What to do, for a problem no builder below gave a hint of its own (the real module
# and path are in every builder's hint; these name none).
HINTS: dict[str, str] = {
    "hand-edited": "generated files are compiler output: edit the spec and regenerate the "
    "module, or eject the file to take it over by hand",
    "header-missing": "regenerate the module, or adopt the file as it is",
    "stale": "the module's inputs changed: regenerate it",
    "missing": "regenerate the module to generate it",
    "orphan": "no spec declares this generated file: delete it, or add it to a spec's outputs",
    "conflict": "one file, one owner: remove it from all but one spec's outputs",
    "invalid": "fix the file at the line shown; `specmill lint` checks specs and config",
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    kind: ProblemKind
    message: str
    module: str | None = None
    hint: str = ""

    def format(self) -> str:
        return f"{display_path(self.path)}:{self.line}: {self.kind}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
            "module": self.module,
            "hint": self.hint or HINTS[self.kind],
        }


def display_path(path: str) -> str:
    """``path`` for a one-line report: quoted with escapes, as git does, when it holds
    characters that could break the line (a newline in a file name could otherwise
    forge a second problem, or a ``::error`` workflow command in CI logs)."""
    if path.isprintable():
        return path
    import json

    return json.dumps(path)
