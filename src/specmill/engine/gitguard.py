"""What decides the commands git runs in the checkout: the same after the checks as before.

Checks run in throwaway repositories (``engine.worktrees``), so what a check does
through git never reaches the checkout's configuration, hooks or refs. A check is code
running as the same user, though: it could write the checkout's ``.git`` (or
``~/.gitconfig``) by path, and the next git command specmill runs there (``status``,
``commit``, ``notes``) would run what it planted: a hook, ``core.fsmonitor``, a filter
driver. So before the first check a run records everything that decides what git runs
in the checkout, and before it runs git there again (to write and commit its result)
it reads it again; if anything differs, it runs no git command there, writes nothing,
and says what changed (names, never values: a value may be a credential).

What is recorded: every configuration entry git reads, with the file it comes from
(system, global, the repository's, included files: ``git config --list --show-origin
--includes``), its values hashed; the files of the hooks folder git uses (``core.hooksPath``
or ``.git/hooks``); and ``info/attributes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from specmill import gitcli
from specmill.errors import SpecmillError


@dataclass(frozen=True)
class GitState:
    entries: frozenset[tuple[str, str, str]]  # (origin, key, value's digest)
    files: tuple[tuple[str, str], ...]  # (what, content's digest): hooks, attributes


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _files(place: Path, label: str) -> list[tuple[str, str]]:
    """``place`` (a file, or a folder's files) as (name, content digest) pairs."""
    paths = sorted(place.rglob("*")) if place.is_dir() else [place]
    found = []
    for path in paths:
        if path.is_file() or path.is_symlink():
            try:
                content = path.read_bytes() if path.is_file() else str(path.readlink()).encode()
            except OSError:
                content = b"<unreadable>"
            name = path.relative_to(place).as_posix() if path != place else ""
            found.append((f"{label} {name}".strip(), _digest(content)))
    return found


def git_state(root: Path) -> GitState:
    listed = gitcli.run_git(root, "config", "--list", "--show-origin", "--includes", "-z") or b""
    parts = listed.split(b"\0")
    entries = set()
    for origin, entry in zip(parts[::2], parts[1::2], strict=False):
        key, _, value = entry.partition(b"\n")
        entries.add(
            (origin.decode("utf-8", "replace"), key.decode("utf-8", "replace"), _digest(value))
        )
    files = []
    for name in ("hooks", "info/attributes"):
        where = gitcli.run_git(root, "rev-parse", "--git-path", name)
        if where is not None:
            path = Path(where.decode().strip())
            files += _files(path if path.is_absolute() else root / path, name)
    return GitState(frozenset(entries), tuple(files))


def changes(before: GitState, after: GitState) -> list[str]:
    """What differs, by name: ``core.fsmonitor (file:.git/config)``, ``hook pre-push``."""
    moved = before.entries ^ after.entries
    named = sorted({f"{key} ({origin})" for origin, key, _ in moved})
    files = sorted({what for what, _ in set(before.files) ^ set(after.files)})
    return [*named, *files]


def require_unchanged(root: Path, before: GitState) -> None:
    """Raise, saying what changed, unless the checkout's git state is as ``before``."""
    changed = changes(before, git_state(root))
    if changed:
        listed = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise SpecmillError(
            f"the git configuration or hooks of {root} changed while the checks ran"
            f" ({listed}): specmill runs no git command there now, so nothing was written"
            " or committed",
            hint="a check (repository or model code) may have planted them: review the"
            " change; if it was yours, run again (the generated files are in the run record)",
        )
