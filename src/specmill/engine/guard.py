"""The write guard: the executor may write exactly its spec's declared outputs.

Whatever the model answers, a path is refused when it is absolute, contains ``..``,
points into ``.git/``, matches a protected pattern (``.github/**``, ``specmill.toml``,
the specs, config ``protected``), is not one of the spec's outputs, or would be
written through a symlink (out of the repository, or to another path inside it). A
refused path becomes a ``path-refused`` finding and fails the attempt; nothing of it
is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from specmill.core.paths import first_match, normalize_relative
from specmill.core.records import FileContent, Finding
from specmill.errors import PathSafetyError


@dataclass(frozen=True)
class Guarded:
    accepted: list[FileContent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _refused(path: str, why: str) -> Finding:
    return Finding(
        kind="path-refused",
        severity="blocker",
        message=f"refused to write {path!r}: {why}",
        file=None,
    )


def refusal(raw: str, outputs: Sequence[str], protected: Iterable[str]) -> str | None:
    """Why ``raw`` may not be written, or None. Pure."""
    try:
        path = normalize_relative(raw)
    except ValueError as exc:
        return str(exc)
    if any(part.casefold() == ".git" for part in path.split("/")):  # .GIT is .git on macOS
        return "it is inside .git/"
    pattern = first_match(path, protected)
    if pattern is not None:
        return f"it is a protected path ({pattern})"
    if path not in outputs:
        return f"it is not one of the spec's outputs ({', '.join(outputs)})"
    return None


def escapes(root: Path, relative: str) -> bool:
    """Whether writing ``relative`` under ``root`` would follow a symlink, or leave ``root``.

    Any symlink on the way counts, even one that stays inside the repository: a folder
    linked to ``.github/workflows`` or to the specs would land a declared output in a
    protected path (and git refuses to commit a path beyond a symlink anyway).
    """
    if linked_part(root, relative) is not None:
        return True
    real_root = os.path.realpath(root)
    target = os.path.realpath(root / relative)
    return os.path.commonpath([real_root, target]) != real_root


def linked_part(root: Path, relative: str) -> str | None:
    """The first part of ``relative`` (itself included) that is a symbolic link, or None."""
    parts = relative.split("/")
    for depth in range(1, len(parts) + 1):
        if (root.joinpath(*parts[:depth])).is_symlink():
            return "/".join(parts[:depth])
    return None


def refuse_linked_outputs(root: Path, outputs: Iterable[str]) -> None:
    """A ``PathSafetyError`` for the first output under (or at) a symbolic link: it is
    neither read (as a previous version, to the model) nor written, before any call."""
    for path in outputs:
        link = linked_part(root, path)
        if link is not None:
            target = os.readlink(root / link)[:200]
            raise PathSafetyError(
                f"{path} is under the symbolic link {link} (to {target!r}): specmill neither "
                "reads an output through a link (its text would go to the model) nor writes one",
                path=path,
                hint=f"make {link} a real folder, or declare the output where it really is",
            )


def guard(
    files: Sequence[FileContent],
    outputs: Sequence[str],
    protected: Iterable[str],
    root: Path,
) -> Guarded:
    """Split the executor's files into those it may write and refusals."""
    protected = tuple(protected)
    result = Guarded()
    seen: set[str] = set()
    for item in files:
        why = refusal(item.path, outputs, protected)
        if why is None:
            path = normalize_relative(item.path)
            if path in seen:
                why = "the answer lists it twice"
            elif escapes(root, path):
                why = "it would be written through a symlink"
            else:
                seen.add(path)
                result.accepted.append(item.model_copy(update={"path": path}))
                continue
        result.findings.append(_refused(item.path, why))
    return result


def missing_outputs(accepted: Sequence[FileContent], outputs: Sequence[str]) -> list[Finding]:
    """A finding for each declared output the executor did not write."""
    written = {item.path for item in accepted}
    return [
        Finding(
            kind="plan-deviation",
            severity="blocker",
            message=f"no content for declared output {path}: write every output",
            file=path,
        )
        for path in outputs
        if path not in written
    ]
