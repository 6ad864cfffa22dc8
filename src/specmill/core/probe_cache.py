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
        self._keys: list[str] = []
        self._probes: list[str] = []
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
                        self._keys, self._probes = split["keys"], split["probes"]
                        self._rows = {path: row for row, path in enumerate(split["paths"])}
        return self._rows

    def get(self, path: str, st: os.stat_result) -> Probe | None:
        if self.path is None:
            return None
        row = (self._rows if self._rows is not None else self._load()).get(path)
        if row is None:
            return None
        key = f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns}"  # key_text
        if self._keys[row] != key:
            return None
        line = self._probes[row]
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
            self._rows, self._columns, self._keys, self._probes = None, {}, [], []


def encode(probe: Probe) -> str | None:
    """One line, or None for a probe whose fields hold a tab or a newline."""
    tail = [str(probe.header_line), "1" if probe.content_ok else "0"]
    fields = [] if probe.header is None else [str(value) for value in probe.header]
    if any("\t" in f or "\n" in f for f in fields):
        return None
    return "\t".join([*fields, *tail])


def decode(line: str) -> Probe | None:
    parts = line.split("\t")
    count = len(parts)
    if count == 10:
        at, size, first, ok = parts[5], parts[7], parts[8], parts[9]
        digits = at + size + first  # three numbers of 1 to 8 ASCII digits, none 0
        if not (
            0 < len(at) <= 8
            and 0 < len(size) <= 8
            and 0 < len(first) <= 8
            and digits.isdigit()
            and digits.isascii()
            and (ok == "1" or ok == "0")
        ):
            return None
        line_number, lines, header_line = int(at), int(size), int(first)
        if not (line_number and lines and header_line):
            return None
        header: Header | None = Header._make(
            (parts[0], parts[1], parts[2], parts[3], parts[4], line_number, parts[6], lines)
        )
    elif count == 2:
        first, ok = parts
        if not (0 < len(first) <= 8 and first.isdigit() and first.isascii()):
            return None
        header_line = int(first)
        if not header_line or not (ok == "1" or ok == "0"):
            return None
        header = None
    else:
        return None
    return Probe(header, header_line, ok == "1")  # a named tuple: cheap to build
