"""Repository-relative paths: normalising them and matching protected-path globs.

Pure string work; the engine's write guard adds the filesystem checks (symlinks).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import PurePosixPath


def bounded_name(text: str, limit: int) -> str:
    """``text`` as part of a file name of at most ``limit`` bytes, still unique: a longer
    one keeps its head, then ``~`` and 8 hex digits of its sha256 (a file name has at
    most 255 bytes on the usual file systems; a module id may be longer)."""
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return text
    head = raw[: limit - 9].decode("utf-8", "ignore")
    return f"{head}~{hashlib.sha256(raw).hexdigest()[:8]}"


def normalize_relative(path: str) -> str:
    """``path`` as a clean POSIX path inside the repository, or ValueError saying why."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path is empty")
    raw = path.strip().replace("\\", "/")
    if not raw.isprintable():  # NUL, newlines, other controls, invisible format characters
        raise ValueError(f"{path!r} contains a control or invisible character")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise ValueError(f"{path!r} is absolute; use a path relative to the repository root")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{path!r} contains '..'; outputs must stay inside the repository")
    if not parts:
        raise ValueError(f"{path!r} is not a file path")
    return str(PurePosixPath(*parts))


Token = tuple[str, str]  # (kind, literal text): "text", "char", "star", "globstar", "dirs"


@lru_cache(maxsize=256)
def _glob_tokens(pattern: str) -> tuple[Token, ...]:
    out: list[Token] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append(("dirs", ""))  # any folders, or none
            i += 3
        elif pattern.startswith("**", i):
            out.append(("globstar", ""))
            i += 2
        elif pattern[i] == "*":
            out.append(("star", ""))
            i += 1
        elif pattern[i] == "?":
            out.append(("char", ""))
            i += 1
        elif out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + pattern[i])
            i += 1
        else:
            out.append(("text", pattern[i]))
            i += 1
    return tuple(out)


def _glob_match(path: str, tokens: Sequence[Token]) -> bool:
    """Whether ``tokens`` match all of ``path``, in O(len(tokens) * len(path)).

    A regular expression would backtrack: ``*a*a*a*a*a*b`` (a protected pattern from
    an untrusted checkout) against a long name takes hours. Here every token maps the
    set of positions reached so far to the next set, so each step is linear.
    """
    n = len(path)
    reached = {0}
    for kind, text in tokens:
        if kind == "text":
            reached = {j + len(text) for j in reached if path.startswith(text, j)}
        elif kind == "char":
            reached = {j + 1 for j in reached if j < n and path[j] != "/"}
        elif kind == "star":  # within one folder: up to the next "/"
            spread: set[int] = set()
            for j in sorted(reached):
                while j not in spread:
                    spread.add(j)
                    if j == n or path[j] == "/":
                        break
                    j += 1
            reached = spread
        elif kind == "globstar":
            reached = set(range(min(reached), n + 1))
        else:  # dirs: stay, or continue after any later "/"
            first = min(reached)
            reached |= {k + 1 for k in range(first, n) if path[k] == "/"}
        if not reached:
            return False
    return n in reached


def matches(path: str, pattern: str) -> bool:
    """Glob match where ``*`` stays within a folder and ``**`` crosses folders.

    ``dir/**`` matches everything below ``dir``; a pattern naming a folder
    (``docs/``) matches what it contains. Letter case is ignored: on macOS and Windows
    ``.GITHUB/workflows/x.yml`` *is* ``.github/workflows/x.yml``.
    """
    path, pattern = path.casefold(), pattern.casefold().strip().lstrip("/")
    while pattern.startswith("./"):  # "./migrations/**" means "migrations/**"
        pattern = pattern[2:].lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    return _glob_match(path, _glob_tokens(pattern))


def first_match(path: str, patterns: Iterable[str]) -> str | None:
    return next((pattern for pattern in patterns if matches(path, pattern)), None)


def under(path: str, wanted: Iterable[str]) -> bool:
    """``path`` is one of ``wanted`` or inside one of them (``.`` is the whole repository)."""
    return any(w == "." or path == w or path.startswith(w.rstrip("/") + "/") for w in wanted)


# Test files by the conventions of the common test runners: pytest (test_*.py,
# *_test.py), go test (*_test.go), Jest/Vitest/node --test/Mocha (*.test.js, *.spec.ts,
# __tests__/), RSpec (*_spec.rb), Maven/Gradle (src/test/), and test(s)/ folders.
_TEST_NAME = (  # compiled on first use
    r"test_.*|.*_test\.(py|go)|.*[._-](test|spec)\.[cm]?[jt]sx?|.*_spec\.rb|.*Tests?\.java"
)
_TEST_FOLDERS = {"tests", "test", "__tests__", "spec"}


def is_test_file(path: str) -> bool:
    """Test files are the checks' side of a module: mutating or sabotaging them says
    nothing about the code under test (``calibrate``'s mutants, the checks' sensitivity
    probe), and they are no part of the interface a dependent module is shown."""
    pure = PurePosixPath(path)
    folders = pure.parts[:-1]
    in_src_test = any(folders[i : i + 2] == ("src", "test") for i in range(len(folders)))
    return (
        bool(re.fullmatch(_TEST_NAME, pure.name))
        or bool(_TEST_FOLDERS & set(folders))
        or in_src_test
    )


MAX_PATH = 4096
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def is_clean_path(path: object) -> bool:
    """A path ``normalize_relative`` leaves as it is: relative, inside the repository."""
    if type(path) is not str or not 0 < len(path) <= MAX_PATH:
        return False
    wrapped = f"/{path}/"  # each part between slashes: none empty, "." or ".."
    return (
        path.isprintable()  # so the only white space it may hold is " " (a test says so)
        and path[0] != " "
        and path[-1] != " "
        and "\\" not in path
        and "//" not in wrapped  # also a leading "/"
        and "/./" not in wrapped
        and "/../" not in wrapped
        and not (path[1:2] == ":" and path[0] in LETTERS)  # a drive: C:
    )
