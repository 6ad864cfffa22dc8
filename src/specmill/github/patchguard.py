"""The patch in a bundle, checked before the trusted report phase delivers or offers it.

A bundle's ``specmill.patch`` comes from the untrusted phase (a fork's code ran there),
and is committed (the matrix) or offered for ``git apply`` (a fork's two-phase run).
``check_patch`` reads its exact bytes twice, and accepts it only when both readers
agree that it changes outputs that the bundle's modules declare, as regular files:

1. ``git apply`` itself (``specmill.github.patch_effect``) applies it to an index
   holding the head's versions of the paths it names (``specmill.github.patch_tree``);
   every path whose entry changed must be such an output, with mode 100644 or 100755
   before and after, and no file patch may be binary to git;
2. a port of git's own patch parser (``specmill.core.git_patch``) names every path
   each file patch reads or writes; each must be such an output, outside the protected
   paths, and git may change no path this reader does not name.

Which outputs those are, and the head's tree, is ``specmill.github.bundle_patches``'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence

from specmill.core.git_patch import FilePatch, PatchError, read_patch
from specmill.core.paths import first_match, normalize_relative
from specmill.github.errors import BundleError
from specmill.github.patch_effect import Effect, GitRefusal, ScratchRepository, TreeEntry

REGULAR_MODES = frozenset({0o100644, 0o100755})
TreeSource = Callable[[Sequence[str]], Mapping[str, TreeEntry]]


class PatchRefused(BundleError):
    """A bundle's patch that may be neither committed nor offered for ``git apply``."""


def refused(reason: str) -> PatchRefused:
    return PatchRefused(
        f"the bundle's patch is refused, and with it the whole bundle: {reason}",
        hint="a bundle's patch may only change the outputs that the base branch's specs "
        "declare for the bundle's modules, as regular files",
    )


def check_patch(
    patch: str,
    allowed: Collection[str],
    protected: Sequence[str],
    tree: TreeSource,
    scratch: ScratchRepository | None = None,
) -> tuple[str, ...]:
    """The files ``patch`` changes, sorted; ``PatchRefused`` when it may not be applied.

    ``tree`` gives the head's entries for the paths the patch names; ``scratch``, a
    repository to reuse (one is made and removed otherwise).
    """
    data = exact_bytes(patch)
    try:
        files = read_patch(data)
    except PatchError as exc:
        raise refused(f"{_where(data, exc.line)}: {exc.message}") from None
    named = _named_paths(files, data, allowed, protected)
    modes = {name.decode(): f.mode_line for f in files if f.mode_line for name in f.names}
    entries = tree(sorted(named))
    try:
        if scratch is not None:
            effect = scratch.effect(data, entries)
        else:
            with ScratchRepository() as own:
                effect = own.effect(data, entries)
    except GitRefusal as exc:
        raise refused(f"{_git_where(data, str(exc), named)}git apply refuses it: {exc}") from None
    _check_effect(effect, named, modes, data, allowed, protected)
    return tuple(change.path for change in effect.changes)


def exact_bytes(patch: str) -> bytes:
    """The bytes ``git apply`` will read: UTF-8 text without NUL bytes, else refused."""
    if "\0" in patch:
        raise refused("it holds a NUL byte: a text patch has none")
    try:
        return patch.encode("utf-8")
    except UnicodeEncodeError:
        raise refused("it is not UTF-8 text") from None


def _git_where(data: bytes, said: str, named: Mapping[str, int]) -> str:
    """The line git's message points at (its own ``line N``, or a path it names)."""
    found = re.search(r"\bline (\d+)\b", said)
    if found is not None:
        return f"{_where(data, int(found[1]))}: "
    for path, line in named.items():
        if path in said:
            return f"{_where(data, line)}: "
    return ""


def _where(data: bytes, line: int) -> str:
    """``line 7 ('rename new .github/x')``: where a patch goes wrong, quoted inertly."""
    lines = data.split(b"\n")
    text = lines[line - 1].decode("utf-8", "replace") if 0 < line <= len(lines) else ""
    return f"line {line} ({text[:160]!r})"


def _path_refusal(path: str, allowed: Collection[str], protected: Sequence[str]) -> str | None:
    try:
        plain = normalize_relative(path) == path
    except ValueError:
        plain = False
    if not plain:
        return f"{path[:200]!r} is not a plain repository path"
    if any(part.casefold() == ".git" for part in path.split("/")):
        return f"{path[:200]!r} is inside .git/"
    pattern = first_match(path.lower(), [p.lower() for p in protected])
    if pattern is not None:
        return f"{path[:200]!r} is a protected path ({pattern})"
    if path not in allowed:
        return f"{path[:200]!r} is not an output of the bundle's modules"
    return None


def _named_paths(
    files: Sequence[FilePatch], data: bytes, allowed: Collection[str], protected: Sequence[str]
) -> dict[str, int]:
    """Every path the file patches read or write, with the line of its header."""
    named: dict[str, int] = {}
    for patched in files:
        where = _where(data, patched.line)
        remains = patched.is_delete <= 0  # a deleted file's mode is no one's
        if remains and patched.new_mode and _index_mode(patched.new_mode) not in REGULAR_MODES:
            raise refused(f"{where}: mode {patched.new_mode:o}: regular files only")
        for raw in patched.names:
            try:
                path = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise refused(f"{where}: a path that is not UTF-8 ({raw[:200]!r})") from None
            why = _path_refusal(path, allowed, protected)
            if why is not None:
                raise refused(f"{where}: {why}")
            named.setdefault(path, patched.line)
    return named


def _index_mode(mode: int) -> int:
    """The mode git gives an index entry made with ``mode`` (git's ``create_ce_mode``)."""
    kind = mode & 0o170000
    if kind in (0o120000, 0o040000):  # a symbolic link; a folder (a sparse index entry)
        return kind
    if kind == 0o160000:
        return kind
    return 0o100755 if mode & 0o100 else 0o100644


def _check_effect(
    effect: Effect,
    named: Mapping[str, int],
    modes: Mapping[str, int],
    data: bytes,
    allowed: Collection[str],
    protected: Sequence[str],
) -> None:
    if effect.binary:
        raise refused(f"git reads {effect.binary[0][:200]!r} as a binary patch")
    for change in effect.changes:
        path, first = change.path, _first_mention(data, change.path)
        where = _where(data, named.get(path, first))
        why = _path_refusal(path, allowed, protected)
        if why is not None:
            raise refused(f"{where}: git changes a path this patch may not change: {why}")
        if path not in named:
            raise refused(f"{where}: git changes {path!r}, which no header names to specmill")
        before, after = change.before, change.after
        where = _where(data, modes.get(path, named[path]))  # the line that set the mode
        if after is not None and after[0] not in REGULAR_MODES:
            raise refused(f"{where}: git gives {path!r} mode {after[0]:o}: regular files only")
        if before is not None and after is not None and before[0] != after[0]:
            raise refused(f"{where}: {path!r} changes its mode ({before[0]:o} to {after[0]:o})")


def _first_mention(data: bytes, path: str) -> int:
    """The first line naming ``path`` (1 when none does): where to look."""
    found = data.find(path.encode("utf-8"))
    return data.count(b"\n", 0, found) + 1 if found >= 0 else 1
