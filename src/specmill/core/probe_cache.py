"""What ``Project.probe`` found in each output, believed while the file's stat is the
one recorded (``.git/specmill/stat-cache.json``).

Stored as columns: the paths, their stat keys and their probes, one line each (tabs
between a probe's fields), so that JSON reads three strings rather than thousands of
small objects. A line is checked field by field when it is used: a cache is data that
anything able to write ``.git`` may have written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from specmill.core.header import Header
from specmill.core.probe import Probe
from specmill.core.spec_cache import key_text
from specmill.core.statcache import read_json, too_recent, write_json

VERSION = 4  # 2: headers of several lines; 3: no specs; 4: columns
COLUMNS = ("paths", "keys", "probes")
MAX_ENTRIES = 10_000_000


class ProbeCache:
    def __init__(self, path: Path | None, salt: str = "") -> None:
        self.path = path
        self.salt = salt
        self.now_ns = time.time_ns()
        self._rows: dict[str, int] | None = None
        self._columns: dict[str, list[str]] = {}
        self.kept: dict[str, tuple[str, str]] = {}  # path -> (key, probe line)
        self.dirty = False

    def _load(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {}
            data = None if self.path is None else read_json(self.path)
            if type(data) is dict and data.get("version") == VERSION:
                count = data.get("count")
                columns = {name: data.get(name) for name in COLUMNS}
                if (
                    data.get("salt") == self.salt
                    and type(count) is int
                    and 0 < count <= MAX_ENTRIES
                    and all(type(c) is str for c in columns.values())
                ):
                    split = {name: str(c).split("\n") for name, c in columns.items()}
                    if all(len(rows) == count for rows in split.values()):
                        self._columns = split
                        self._rows = {path: row for row, path in enumerate(split["paths"])}
        return self._rows

    def get(self, path: str, st: os.stat_result) -> Probe | None:
        if self.path is None:
            return None
        row = self._load().get(path)
        key = key_text(st)
        if row is None or self._columns["keys"][row] != key:
            return None
        line = self._columns["probes"][row]
        probe = decode(line)
        if probe is not None:
            self.kept[path] = (key, line)
        return probe

    def put(self, path: str, st: os.stat_result, probe: Probe) -> None:
        if self.path is None or too_recent(st.st_mtime_ns, self.now_ns) or "\n" in path:
            return
        line = encode(probe)
        if line is None:
            return
        self.kept[path] = (key_text(st), line)
        self.dirty = True

    def save(self) -> None:
        if self.path is None:
            return
        if not self.dirty and (self._rows is None or len(self.kept) == len(self._rows)):
            return  # nothing new, nothing gone
        payload = {
            "version": VERSION,
            "salt": self.salt,
            "count": len(self.kept),
            "paths": "\n".join(self.kept),
            "keys": "\n".join(key for key, _ in self.kept.values()),
            "probes": "\n".join(line for _, line in self.kept.values()),
        }
        if write_json(self.path, payload):
            self.dirty = False
            self._rows, self._columns = None, {}


def encode(probe: Probe) -> str | None:
    """One line, or None for a probe whose fields hold a tab or a newline."""
    tail = [str(probe.header_line), "1" if probe.content_ok else "0"]
    fields = [] if probe.header is None else [str(value) for value in probe.header]
    if any("\t" in f or "\n" in f for f in fields):
        return None
    return "\t".join([*fields, *tail])


def decode(line: str) -> Probe | None:
    parts = line.split("\t")
    if len(parts) not in (2, 10):
        return None
    header_line, ok = _number(parts[-2]), parts[-1]
    if header_line is None or ok not in ("0", "1"):
        return None
    header = None
    if len(parts) == 10:
        module, spec, inputs, content, origin, at, run, size = parts[:8]
        line_number, lines = _number(at), _number(size)
        if line_number is None or lines is None:
            return None
        header = Header(module, spec, inputs, content, origin, line_number, run, lines)
    return Probe(header, header_line, ok == "1")


def _number(text: str) -> int | None:
    if len(text) > 8 or not text.isdigit() or not text.isascii():
        return None
    value = int(text)
    return value if value >= 1 else None
