"""Repository-relative paths: normalising them and matching protected-path globs.

Pure string work; the engine's write guard adds the filesystem checks (symlinks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import PurePosixPath


def normalize_relative(path: str) -> str:
    """``path`` as a clean POSIX path inside the repository, or ValueError saying why."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path is empty")
    raw = path.strip().replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise ValueError(f"{path!r} is absolute; use a path relative to the repository root")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{path!r} contains '..'; outputs must stay inside the repository")
    if not parts:
        raise ValueError(f"{path!r} is not a file path")
    return str(PurePosixPath(*parts))


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, pattern: str) -> bool:
    """Glob match where ``*`` stays within a folder and ``**`` crosses folders.

    ``dir/**`` matches everything below ``dir``; a pattern naming a folder
    (``docs/``) matches what it contains.
    """
    pattern = pattern.strip().lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    return bool(_glob_regex(pattern).match(path))


def first_match(path: str, patterns: Iterable[str]) -> str | None:
    return next((pattern for pattern in patterns if matches(path, pattern)), None)
