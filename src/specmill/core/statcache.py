"""A stat cache, as git's index: skip re-reading files whose stat has not changed.

``specmill check`` on thousands of modules would otherwise read and hash every output
and parse every spec's YAML on each run. Entries are keyed by path and validated by
(size, mtime_ns, inode, ctime_ns); an entry whose mtime is too recent to be trusted
(the file could change again within the same timestamp tick: git's "racy clean"
problem) is never stored. The cache lives inside ``.git/`` so it is per clone and can
never arrive in a commit; it is JSON (never pickle), and any error reading it only
means starting cold.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

VERSION = 2  # 2: headers of several lines (Probe entries carry run and size)
RACY_SECONDS = 2.0


def _key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


class StatCache:
    """``get``/``put`` values per (kind, path); ``save`` writes only when changed."""

    def __init__(self, path: Path | None, salt: str = "") -> None:
        self.path = path
        self.salt = salt  # e.g. the specmill version: a new release starts cold
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        self.now_ns = time.time_ns()
        if path is not None:
            self._load()

    @classmethod
    def for_root(cls, root: Path, salt: str = "") -> StatCache:
        git_dir = root / ".git"
        if not git_dir.is_dir() or os.environ.get("SPECMILL_NO_CACHE"):
            return cls(None, salt)
        return cls(git_dir / "specmill" / "stat-cache.json", salt)

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if (
            isinstance(data, dict)
            and data.get("version") == VERSION
            and (data.get("salt") == self.salt)
        ):
            entries = data.get("entries")
            if isinstance(entries, dict):
                self.entries = entries

    def get(self, kind: str, path: str, st: os.stat_result) -> Any:
        entry = self.entries.get(f"{kind}:{path}")
        if not isinstance(entry, list) or len(entry) != 2 or entry[0] != _key(st):
            return None  # absent, or damaged: read the file again
        return entry[1]

    def put(self, kind: str, path: str, st: os.stat_result, value: Any) -> None:
        if self.path is None or self.now_ns - st.st_mtime_ns < RACY_SECONDS * 1e9:
            return
        self.entries[f"{kind}:{path}"] = [_key(st), value]
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            payload = {"version": VERSION, "salt": self.salt, "entries": self.entries}
            temporary.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
            os.replace(temporary, self.path)
            self.dirty = False
        except OSError:
            pass  # a cache that cannot be written only costs speed
