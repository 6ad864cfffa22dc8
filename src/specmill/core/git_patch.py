"""How ``git apply`` splits a patch into file patches: git's ``apply.c``, ported. Pure.

``read_patch`` is the second reader of a bundle's patch (``git apply`` itself is the
first, in ``specmill.github.patch_effect``): it finds the file patches git would find,
with the names, modes and kinds git would give them, by following git 2.39's parser
step by step (``find_header``, ``parse_git_diff_header`` and its ``gitdiff_*`` line
handlers, ``parse_fragment``, ``parse_chunk``), quirks included. Two quirks matter for
security, and are why a simpler reader is not enough:

- a name comes from the *last* line that gives it, in any order: ``--- a/X`` under
  ``diff --git a/Y b/Y`` makes git remove X, and ``rename old``/``rename new`` are
  synonyms of ``rename from``/``rename to``;
- a ``diff --git`` line followed at once by a line git does not know is skipped, but
  the names it set stay: the next file patch applies to them, not to its own names.

What git would refuse raises ``PatchError`` (with the line); so does a patch in the old
``--- / +++`` form without ``diff --git`` (git would guess its path depth) and a binary
patch (``GIT binary patch``, ``Binary files … differ``, ``Files … differ``), which
specmill never delivers.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from specmill.core.git_names import (
    TERM_TAB,
    at,
    find_name,
    git_header_name,
    is_dev_null,
    is_space,
)

ULONG = 2**64
SPACE, NEWLINE, MINUS, PLUS, BACKSLASH = b" \n-+\\"
C_SPACE = b" \t\n\v\f\r"  # what the C library's strtoul skips


class PatchError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message


@dataclass
class FilePatch:
    """One file's patch, as git reads it; names are bytes, as git's are."""

    line: int  # where its header starts (1-based)
    old_name: bytes | None = None
    new_name: bytes | None = None
    is_new: int = -1
    is_delete: int = -1
    is_rename: bool = False
    is_copy: bool = False
    old_mode: int = 0
    new_mode: int = 0
    def_name: bytes | None = None
    mode_line: int = 0  # the line that set new_mode, if one did

    @property
    def names(self) -> list[bytes]:
        return [name for name in (self.old_name, self.new_name) if name is not None]


def linelen(buf: bytes, pos: int) -> int:
    newline = buf.find(b"\n", pos)
    return (len(buf) if newline < 0 else newline + 1) - pos


def strtoul(buf: bytes, pos: int, base: int) -> tuple[int, int]:
    """C's ``strtoul``: (value, where it stopped); no digits: (0, ``pos``)."""
    index = pos
    while at(buf, index) != 0 and at(buf, index) in C_SPACE:
        index += 1
    negative = at(buf, index) == ord("-")
    if at(buf, index) in (ord("-"), ord("+")):
        index += 1
    start, value = index, 0
    while (digit := _digit(at(buf, index))) is not None and digit < base:
        value = value * base + digit
        index += 1
    if index == start:
        return 0, pos
    if value >= ULONG:
        return ULONG - 1, index
    return (ULONG - value) % ULONG if negative else value, index


def _digit(byte: int) -> int | None:
    return byte - ord("0") if ord("0") <= byte <= ord("9") else None


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.breaks = [m.start() for m in re.finditer(b"\n", buf)]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.breaks, pos) + 1

    def fail(self, pos: int, message: str) -> PatchError:
        return PatchError(self.line(pos), message)

    def read(self) -> list[FilePatch]:
        patches, offset = [], 0
        while offset < len(self.buf):
            found = self.find_header(offset)
            if found is None:
                break
            start, header, patch = found
            size = self.fragments(start + header, patch)
            if size == 0:
                size = self.no_fragments(start + header, patch)
            patches.append(patch)
            offset = start + header + size
        if not patches:
            raise PatchError(1, "no valid patches in input (git apply finds no file to change)")
        return patches

    def find_header(self, offset: int) -> tuple[int, int, FilePatch] | None:
        buf = self.buf
        patch = FilePatch(line=0)
        while offset < len(buf):
            length = linelen(buf, offset)
            size = len(buf) - offset
            if length < 6:
                offset += length
                continue
            if buf.startswith(b"@@ -", offset):
                if fragment_header(buf, offset, length) is not None:
                    raise self.fail(offset, "a hunk without a file header before it")
                offset += length
                continue
            if size < length + 6:
                break
            if buf.startswith(b"diff --git ", offset):
                patch.line = self.line(offset)
                header = self.git_header(offset, length, patch)
                if header > length:
                    return offset, header, patch
            elif buf.startswith(b"--- ", offset) and buf.startswith(b"+++ ", offset + length):
                after = linelen(buf, offset + length)
                if size >= after + 14 and buf.startswith(b"@@ -", offset + length + after):
                    raise self.fail(offset, "a patch without a 'diff --git' line (not a git diff)")
            offset += length
        return None

    def git_header(self, start: int, length: int, patch: FilePatch) -> int:
        buf = self.buf
        patch.is_new = patch.is_delete = 0
        patch.def_name = git_header_name(buf, start, length)
        offset = length
        while start + offset < len(buf):
            pos = start + offset
            size = linelen(buf, pos)
            if not size or buf[pos + size - 1] != ord("\n"):
                break
            prefix, handle = next((p, h) for p, h in _OPTABLE if buf.startswith(p, pos))
            done = handle(self, pos + len(prefix), patch)
            extensions = sum(
                (patch.is_delete == 1, patch.is_new == 1, patch.is_rename, patch.is_copy)
            )
            if extensions > 1:
                raise self.fail(pos, "inconsistent header lines (git apply refuses it)")
            if done:
                break
            offset += size
        if patch.old_name is None and patch.new_name is None:
            if patch.def_name is None:
                raise self.fail(start, "the git diff header lacks file name information")
            patch.old_name = patch.new_name = patch.def_name
        if (patch.new_name is None and not patch.is_delete) or (
            patch.old_name is None and not patch.is_new
        ):
            raise self.fail(start, "the git diff header lacks file name information")
        return offset

    # --- the header line handlers (git's gitdiff_*); True ends the header --------------

    def verify_name(self, pos: int, isnull: int, name: bytes | None) -> bytes | None:
        if name is None and not isnull:
            return find_name(self.buf, pos, None, 1, TERM_TAB)
        if name is not None:
            if isnull:
                raise self.fail(pos, "bad git diff: expected /dev/null (git apply refuses it)")
            if find_name(self.buf, pos, None, 1, TERM_TAB) != name:
                raise self.fail(pos, "bad git diff: inconsistent file name (git refuses it)")
        elif not is_dev_null(self.buf, pos):
            raise self.fail(pos, "bad git diff: expected /dev/null (git apply refuses it)")
        return name

    def old_name(self, pos: int, patch: FilePatch) -> bool:
        patch.old_name = self.verify_name(pos, patch.is_new, patch.old_name)
        return False

    def new_name(self, pos: int, patch: FilePatch) -> bool:
        patch.new_name = self.verify_name(pos, patch.is_delete, patch.new_name)
        return False

    def mode(self, pos: int) -> int:
        value, end = strtoul(self.buf, pos, 8)
        if end == pos or not is_space(at(self.buf, end)):
            raise self.fail(pos, "an invalid mode (git apply refuses it)")
        return value % 2**32

    def old_mode(self, pos: int, patch: FilePatch) -> bool:
        patch.old_mode = self.mode(pos)
        return False

    def new_mode(self, pos: int, patch: FilePatch) -> bool:
        patch.new_mode, patch.mode_line = self.mode(pos), self.line(pos)
        return False

    def deleted(self, pos: int, patch: FilePatch) -> bool:
        patch.is_delete, patch.old_name = 1, patch.def_name
        return self.old_mode(pos, patch)

    def created(self, pos: int, patch: FilePatch) -> bool:
        patch.is_new, patch.new_name = 1, patch.def_name
        return self.new_mode(pos, patch)

    def source(self, pos: int, patch: FilePatch, *, rename: bool) -> bool:
        patch.is_rename, patch.is_copy = patch.is_rename or rename, patch.is_copy or not rename
        patch.old_name = find_name(self.buf, pos, None, 0, 0)
        return False

    def target(self, pos: int, patch: FilePatch, *, rename: bool) -> bool:
        patch.is_rename, patch.is_copy = patch.is_rename or rename, patch.is_copy or not rename
        patch.new_name = find_name(self.buf, pos, None, 0, 0)
        return False

    def index(self, pos: int, patch: FilePatch) -> bool:
        buf = self.buf
        dots = buf.find(b".", pos)
        if dots < 0 or at(buf, dots + 1) != ord(".") or dots - pos > 40:
            return False
        line = dots + 2
        space, eol = buf.find(b" ", line), buf.find(b"\n", line)
        eol = len(buf) if eol < 0 else eol
        end = eol if space < 0 or eol < space else space
        if end - line > 40:
            return False
        return self.old_mode(end + 1, patch) if at(buf, end) == ord(" ") else False

    # --- after the header --------------------------------------------------------------

    def fragments(self, pos: int, patch: FilePatch) -> int:
        """The bytes of the hunks that start at ``pos`` (git's ``parse_single_patch``)."""
        buf, total, old_total, new_total = self.buf, 0, 0, 0
        while len(buf) - pos > 4 and buf.startswith(b"@@ -", pos):
            length = linelen(buf, pos)
            ranges = fragment_header(buf, pos, length)
            if ranges is None or (used := hunk_size(buf, pos, length, *ranges)) <= 0:
                raise self.fail(pos, "a corrupt hunk (git apply refuses it)")
            old_total, new_total = old_total + ranges[0], new_total + ranges[1]
            pos, total = pos + used, total + used
        if patch.is_new > 0 and old_total:
            raise self.fail(pos, "a new file that depends on old contents (git refuses it)")
        if patch.is_delete > 0 and new_total:
            raise self.fail(pos, "a deleted file that still has contents (git refuses it)")
        return total

    def no_fragments(self, pos: int, patch: FilePatch) -> int:
        """A file patch without hunks: binary (refused), or a change of metadata only."""
        buf, length = self.buf, linelen(self.buf, pos)
        binary = buf[pos : pos + length] == b"GIT binary patch\n" or (
            buf[pos + length - 8 : pos + length] == b" differ\n"
            and any(
                len(start) < len(buf) - pos and buf.startswith(start, pos)
                for start in (b"Binary files ", b"Files ")
            )
        )
        if binary:
            raise self.fail(pos, "a binary patch: specmill delivers text patches only")
        metadata = (
            patch.is_rename
            or patch.is_copy
            or patch.is_new > 0
            or patch.is_delete != 0
            or (patch.old_mode and patch.new_mode and patch.old_mode != patch.new_mode)
        )
        if not metadata:
            raise self.fail(pos, "a file patch with only garbage (git apply refuses it)")
        return 0


_Handler = Callable[[_Reader, int, FilePatch], bool]
_OPTABLE: tuple[tuple[bytes, _Handler], ...] = (
    (b"@@ -", lambda r, p, f: True),
    (b"--- ", _Reader.old_name),
    (b"+++ ", _Reader.new_name),
    (b"old mode ", _Reader.old_mode),
    (b"new mode ", _Reader.new_mode),
    (b"deleted file mode ", _Reader.deleted),
    (b"new file mode ", _Reader.created),
    (b"copy from ", lambda r, p, f: r.source(p, f, rename=False)),
    (b"copy to ", lambda r, p, f: r.target(p, f, rename=False)),
    (b"rename old ", lambda r, p, f: r.source(p, f, rename=True)),
    (b"rename new ", lambda r, p, f: r.target(p, f, rename=True)),
    (b"rename from ", lambda r, p, f: r.source(p, f, rename=True)),
    (b"rename to ", lambda r, p, f: r.target(p, f, rename=True)),
    (b"similarity index ", lambda r, p, f: False),
    (b"dissimilarity index ", lambda r, p, f: False),
    (b"index ", _Reader.index),
    (b"", lambda r, p, f: True),  # a line git does not know ends the header
)


def _range(buf: bytes, pos: int, end: int, expect: bytes) -> tuple[int, int] | None:
    """``a[,b]`` then ``expect`` (git's ``parse_range``): (b, where it stopped)."""
    if pos < 0 or pos >= end or not ord("0") <= at(buf, pos) <= ord("9"):
        return None
    _, pos = strtoul(buf, pos, 10)
    count = 1
    if at(buf, pos) == ord(","):
        if not ord("0") <= at(buf, pos + 1) <= ord("9"):
            return None
        count, pos = strtoul(buf, pos + 1, 10)
    if len(expect) > end - pos or buf[pos : pos + len(expect)] != expect:
        return None
    return count, pos + len(expect)


def fragment_header(buf: bytes, pos: int, length: int) -> tuple[int, int] | None:
    """``@@ -a,b +c,d @@``: (old lines, new lines); None where git's parse fails."""
    if not length or buf[pos + length - 1] != ord("\n"):
        return None
    old = _range(buf, pos + 4, pos + length, b" +")
    new = _range(buf, old[1], pos + length, b" @@") if old else None
    return (old[0], new[0]) if old and new else None


def hunk_size(buf: bytes, pos: int, length: int, old: int, new: int) -> int:
    """The bytes of one hunk (git's ``parse_fragment``); -1 where git finds it corrupt."""
    offset, changed, size = length, False, len(buf)
    pos += length
    while pos < size and (old or new):
        end = buf.find(b"\n", pos)
        if end < 0:
            return -1  # a last line without its line feed
        length, first = end + 1 - pos, buf[pos]
        if first in (SPACE, NEWLINE):
            old, new = old - 1, new - 1
        elif first == MINUS:
            old, changed = old - 1, True
        elif first == PLUS:
            new, changed = new - 1, True
        elif first != BACKSLASH or length < 12 or buf[pos + 1] != SPACE:
            return -1
        offset, pos = offset + length, pos + length
    if old or new or not changed:
        return -1
    if len(buf) - pos > 12 and buf.startswith(b"\\ ", pos):
        offset += linelen(buf, pos)
    return offset


def read_patch(patch: bytes) -> list[FilePatch]:
    """The file patches of ``patch`` as git reads them, or ``PatchError``."""
    return _Reader(patch).read()
