"""Parsed specs as cache entries, checked when read back.

An entry is a JSON list. ``decode`` trusts nothing in it: the cache lives in ``.git/``
but any program can write there, so a wrong type, an out-of-range number or a path
that leaves the repository makes the entry unusable (the spec is parsed again), never
a wrong path or a crash. (An entry well-formed in every field and filed under the
spec's exact size, mtime, inode and ctime is believed, as git believes its index.)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from specmill.core.hashing import PREFIX
from specmill.core.paths import LETTERS, MAX_PATH, is_clean_path
from specmill.core.spec import MODULE_ID, TIERS, Front, Requirement, Spec
from specmill.core.statcache import read_json, too_recent, write_json

MAX_LINE = 16 * 1024 * 1024  # no spec has more lines than bytes (MAX_FILE_BYTES)
_DIGEST = r"sha256:[0-9a-f]{64}\Z"  # compiled on first use


def encode(spec: Spec) -> list[Any]:
    front = spec.front
    return [
        spec.id,
        front.id,
        front.outputs,
        front.depends_on,
        front.context,
        front.tier,
        front.checks,
        [],  # requirements: read from the text when asked (Spec.requirements)
        spec.body_line,
        list(spec.outputs),
        list(spec.context),
        spec.input_digest,
    ]


def decode(entry: Any, path: str, read_text: Callable[[], str]) -> Spec | None:
    """The spec an entry describes, or None if the entry is not one ``encode`` wrote."""
    if type(entry) is not list or len(entry) != 12:
        return None
    (
        module,
        front_id,
        raw_outputs,
        depends_on,
        raw_context,
        tier,
        checks,
        requirements,
        body_line,
        outputs,
        context,
        digest,
    ) = entry
    if not (
        type(module) is str
        and MODULE_ID.match(module)
        and (front_id is None or front_id == module)
        and _strings(raw_outputs)
        and raw_outputs
        and _strings(depends_on)
        and _strings(raw_context)
        and tier in TIERS
        and (checks is None or _strings(checks))
        and _line(body_line)
        and _paths(outputs)
        and len(outputs) == len(raw_outputs)
        and _paths(context)
        and len(context) == len(raw_context)
        and type(digest) is str
        and re.match(_DIGEST, digest)
        and type(requirements) is list
    ):
        return None
    found = []
    for item in requirements:
        if not (type(item) is list and len(item) == 3):
            return None
        rid, line, text = item
        if not (type(rid) is str and type(text) is str and _line(line)):
            return None
        found.append(Requirement(rid, line, text))
    if found:
        return None  # encode writes none
    front = Front(
        id=front_id,
        outputs=raw_outputs,
        depends_on=depends_on,
        context=raw_context,
        tier=tier,
        checks=checks,
    )
    return Spec(
        id=module,
        path=path,
        front=front,
        outputs=tuple(outputs),
        context=tuple(context),
        body_line=body_line,
        read_text=read_text,
        known_input_digest=digest,
    )


def _strings(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _line(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_LINE


def _paths(value: Any) -> bool:
    return type(value) is list and all(is_clean_path(item) for item in value)


def clean_column(column: str, *, empty_rows: bool) -> bool:
    """Whether every path in ``column`` (rows split by newlines, a row's paths by tabs)
    is clean, as ``is_clean_path`` says, and (without ``empty_rows``) no row is empty;
    the same answer as asking of each path, in a few passes over one string."""
    if empty_rows:
        column = "\n".join(filter(None, column.split("\n")))
        if not column:
            return True
    items = column.replace("\t", "\n")
    wrapped = "/" + items.replace("\n", "/\n/") + "/"
    return (
        items.replace("\n", "").isprintable()
        and "\\" not in items
        and not items.startswith(" ")
        and not items.endswith(" ")
        and "\n " not in items
        and " \n" not in items
        and "//" not in wrapped  # an empty path or part, a leading or trailing "/"
        and "/./" not in wrapped
        and "/../" not in wrapped
        and max(map(len, paths := items.split("\n"))) <= MAX_PATH
        and (":" not in items or not any(p[1:2] == ":" and p[0] in LETTERS for p in paths))
    )


_ID_COLUMN = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:\n[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z"


class SpecCache:
    """Parsed specs by path, believed while the file's stat is the one recorded.

    Stored as columns (one JSON string per field, a line per spec), which JSON reads
    far faster than thousands of small objects; a spec whose fields do not fit a column
    (a tab in a dependency's name, paths written otherwise than normalised) is kept
    whole, as ``encode`` gives it."""

    def __init__(self, path: Path | None, salt: str) -> None:
        self.path = path
        self.salt = salt
        self.now_ns = time.time_ns()
        self._columns: _Columns | None = None
        self._rows: dict[str, int] = {}
        self.kept: dict[str, tuple[str, Spec]] = {}  # what save writes
        self.dirty = False

    @property
    def columns(self) -> _Columns:
        if self._columns is None:
            self._columns = _Columns.load(self.path, self.salt)
            self._rows = {path: row for row, path in enumerate(self._columns.paths)}
        return self._columns

    def get(self, path: str, st: os.stat_result, read_text: Callable[[], str]) -> Spec | None:
        if self.path is None:
            return None
        columns = self._columns if self._columns is not None else self.columns
        row = self._rows.get(path)
        if row is None:
            return None
        key = f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns}"  # key_text
        if columns.keys[row] != key:
            return None
        spec = columns.spec(row, path, read_text)
        if spec is not None:
            self.kept[path] = (key, spec)
        return spec

    def put(self, path: str, st: os.stat_result, spec: Spec) -> None:
        if self.path is None or too_recent(st.st_mtime_ns, self.now_ns) or "\n" in path:
            return
        self.kept[path] = (key_text(st), spec)
        self.dirty = True

    def save(self) -> None:
        if self.path is None:
            return
        if not self.dirty and (self._columns is None or len(self.kept) == len(self._rows)):
            return  # nothing new, nothing gone
        if write_json(self.path, _Columns.payload(self.salt, self.kept)):
            self.dirty = False
            self._columns, self._rows = None, {}


COLUMNS = ("paths", "keys", "ids", "front_ids", "outputs", "depends_on", "context", "tiers")


def key_text(st: os.stat_result) -> str:
    """``stat_key`` as one string: size, mtime_ns, inode and ctime_ns."""
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns}"


class _Columns:
    """The cache's columns, a list each (a plain class: a dataclass costs every command
    that imports this a millisecond to build)."""

    def __init__(
        self,
        paths: list[str],
        keys: list[str],  # key_text
        ids: list[str],
        front_ids: list[str],  # "" for none
        outputs: list[str],  # tab-separated
        depends_on: list[str],
        context: list[str],
        tiers: list[str],
        checks: list[Any],
        body_lines: list[Any],
        digests: str,
        whole: dict[str, Any],  # row -> encode(spec), for what does not fit the columns
    ) -> None:
        self.paths, self.keys, self.ids, self.front_ids = paths, keys, ids, front_ids
        self.outputs, self.depends_on, self.context, self.tiers = (
            outputs,
            depends_on,
            context,
            tiers,
        )
        self.checks, self.body_lines, self.digests, self.whole = checks, body_lines, digests, whole

    @classmethod
    def load(cls, path: Path | None, salt: str) -> _Columns:
        empty = cls([], [], [], [], [], [], [], [], [], [], "", {})
        data = None if path is None else read_json(path)
        if type(data) is not dict or data.get("version") != VERSION or data.get("salt") != salt:
            return empty
        count = data.get("count")
        if type(count) is not int or not 0 <= count <= MAX_SPECS:
            return empty
        lines: list[list[str]] = []
        for name in COLUMNS:
            column = data.get(name)
            rows = column.split("\n") if type(column) is str and count else []
            if len(rows) != count:
                return empty
            lines.append(rows)
        checks, body_lines = data.get("checks"), data.get("body_lines")
        digests, whole = data.get("digests"), data.get("whole")
        if not (
            type(checks) is list
            and len(checks) == count
            and type(body_lines) is list
            and len(body_lines) == count
            and type(digests) is str
            and len(digests) == 64 * count
            and re.fullmatch(_HEX, digests)
            and type(whole) is dict
        ):
            return empty
        paths, keys, ids, front_ids, outputs, depends_on, context, tiers = lines
        return cls(
            paths,
            keys,
            ids,
            front_ids,
            outputs,
            depends_on,
            context,
            tiers,
            checks,
            body_lines,
            digests,
            whole,
        )

    @cached_property
    def proven(self) -> tuple[bool, bool, bool, bool]:
        """Whether every row's id, outputs, context and tier is valid, each column
        checked at once (C string work, not a call per path); a column that fails is
        checked row by row, so one bad row costs only itself."""
        ids, outputs, context = (
            "\n".join(self.ids),
            "\n".join(self.outputs),
            "\n".join(self.context),
        )
        return (
            not ids or re.match(_ID_COLUMN, ids) is not None,
            not self.outputs or clean_column(outputs, empty_rows=False),
            not self.context or clean_column(context, empty_rows=True),
            set(self.tiers) <= _TIER_SET,
        )

    def spec(self, row: int, path: str, read_text: Callable[[], str]) -> Spec | None:
        """The spec of ``row``, or None if the row is not one ``payload`` wrote."""
        if self.whole and str(row) in self.whole:
            return decode(self.whole[str(row)], path, read_text)
        module, front_id = self.ids[row], self.front_ids[row] or None
        raw_outputs, raw_context, raw_depends = (
            self.outputs[row],
            self.context[row],
            self.depends_on[row],
        )
        outputs = raw_outputs.split("\t") if raw_outputs else []  # _items, without its call
        context = raw_context.split("\t") if raw_context else []
        depends_on = raw_depends.split("\t") if raw_depends else []
        tier, checks, body_line = self.tiers[row], self.checks[row], self.body_lines[row]
        ids_ok, outputs_ok, context_ok, tiers_ok = self.proven
        if not (
            (ids_ok or MODULE_ID.match(module))
            and (front_id is None or front_id == module)
            and (outputs_ok or (outputs and _paths(outputs)))
            and (context_ok or _paths(context))
            and (tiers_ok or tier in TIERS)
            and (checks is None or _strings(checks))
            and type(body_line) is int
            and 1 <= body_line <= MAX_LINE
        ):
            return None
        front = object.__new__(Front)  # checked values: without the frozen __init__
        front.__dict__.update(
            outputs=outputs,
            id=front_id,
            depends_on=depends_on,
            context=context,
            tier=tier,
            checks=checks,
        )
        spec = object.__new__(Spec)
        digest = PREFIX + self.digests[64 * row : 64 * row + 64]
        spec.__dict__.update(
            id=module,
            path=path,
            front=front,
            outputs=tuple(outputs),
            context=tuple(context),
            body_line=body_line,
            loaded_requirements=None,
            loaded_text=None,
            read_text=read_text,
            known_input_digest=digest,
            input_digest=digest,  # the cached properties, known
            depends_on=tuple(depends_on),
        )
        return spec

    @staticmethod
    def payload(salt: str, kept: dict[str, tuple[str, Spec]]) -> dict[str, Any]:
        specs = [spec for _, spec in kept.values()]
        whole = {
            str(row): encode(spec) for row, spec in enumerate(specs) if not _fits_columns(spec)
        }
        return {
            "version": VERSION,
            "salt": salt,
            "count": len(specs),
            "paths": "\n".join(kept),
            "keys": "\n".join(key for key, _ in kept.values()),
            "ids": "\n".join(spec.id for spec in specs),
            "front_ids": "\n".join(spec.front.id or "" for spec in specs),
            "outputs": "\n".join("\t".join(spec.outputs) for spec in specs),
            "depends_on": "\n".join("\t".join(spec.depends_on) for spec in specs),
            "context": "\n".join("\t".join(spec.context) for spec in specs),
            "tiers": "\n".join(spec.front.tier for spec in specs),
            "checks": [spec.front.checks for spec in specs],
            "body_lines": [spec.body_line for spec in specs],
            "digests": "".join(spec.input_digest.removeprefix(PREFIX) for spec in specs),
            "whole": whole,
        }


def _fits_columns(spec: Spec) -> bool:
    front = spec.front
    return (
        front.outputs == list(spec.outputs)
        and front.context == list(spec.context)
        and all(d and "\t" not in d and "\n" not in d for d in front.depends_on)
    )


def _items(row: str) -> list[str]:
    return row.split("\t") if row else []


VERSION = 1
MAX_SPECS = 10_000_000
_HEX = "[0-9a-f]*"  # compiled on first use
_TIER_SET = frozenset(TIERS)
