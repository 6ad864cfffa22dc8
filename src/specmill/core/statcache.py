"""A stat cache, as git's index: skip re-reading files whose stat has not changed.

``specmill check`` on thousands of modules would otherwise read and hash every output
and parse every spec's YAML on each run. Entries are keyed by path and validated by
(size, mtime_ns, inode, ctime_ns); an entry whose mtime is too recent to be trusted
(the file could change again within the same timestamp tick: git's "racy clean"
problem) is never stored. The cache lives inside ``.git/`` so it is per clone and can
never arrive in a commit; it is JSON (never pickle), read only when first asked, and
any error reading it only means starting cold. Its values are data to check, never to
trust blindly: a reader validates what ``get`` returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

VERSION = 3  # 2: headers of several lines (Probe entries carry run and size); 3: no specs
RACY_SECONDS = 2.0
MAX_BYTES = 256 * 1024 * 1024  # a larger file is not a cache specmill wrote
STAT_CACHE = "stat-cache.json"  # output probes
SPEC_CACHE = "spec-cache.json"  # parsed specs (specmill.core.spec_cache)


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def cache_dir(root: Path) -> Path | None:
    """``.git/specmill`` of a repository whose root holds its git directory, unless
    ``SPECMILL_NO_CACHE`` is set."""
    git_dir = root / ".git"
    if os.environ.get("SPECMILL_NO_CACHE") or not git_dir.is_dir():
        return None
    return git_dir / "specmill"


def too_recent(mtime_ns: int, now_ns: int) -> bool:
    """Git's racy-clean rule: a file changed this close to now may change again within
    the same timestamp tick, keeping its stat; it is not cached."""
    return now_ns - mtime_ns < RACY_SECONDS * 1e9


class StatCache:
    """``get``/``put`` values per (kind, path); ``save`` writes only when changed."""

    def __init__(self, path: Path | None, salt: str = "", version: int = VERSION) -> None:
        self.path = path
        self.salt = salt  # e.g. the specmill version: a new release starts cold
        self.version = version
        self._entries: dict[str, Any] | None = None
        self.dirty = False
        self.now_ns = time.time_ns()

    @classmethod
    def for_root(
        cls, root: Path, salt: str = "", name: str = STAT_CACHE, version: int = VERSION
    ) -> StatCache:
        folder = cache_dir(root)
        return cls(None if folder is None else folder / name, salt, version)

    @property
    def entries(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    def _load(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        data = read_json(self.path)
        if (
            isinstance(data, dict)
            and data.get("version") == self.version
            and data.get("salt") == self.salt
        ):
            entries = data.get("entries")
            if isinstance(entries, dict):
                return entries
        return {}

    def get(self, kind: str, path: str, st: os.stat_result) -> Any:
        if self.path is None:
            return None
        entry = self.entries.get(f"{kind}:{path}")
        if type(entry) is not list or len(entry) != 2 or entry[0] != stat_key(st):
            return None  # absent, or damaged: read the file again
        return entry[1]

    def put(self, kind: str, path: str, st: os.stat_result, value: Any) -> None:
        if self.path is None or too_recent(st.st_mtime_ns, self.now_ns):
            return
        self.entries[f"{kind}:{path}"] = [stat_key(st), value]
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        payload = {"version": self.version, "salt": self.salt, "entries": self.entries}
        if write_json(self.path, payload):
            self.dirty = False


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None: absent, unreadable, too large or not JSON."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                return None
            return json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return None


def write_json(path: Path, payload: Any) -> bool:
    """Write atomically (a temporary file renamed over it); False if it cannot be written
    (a read-only ``.git``): a cache that cannot be written only costs speed."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
        return True
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            temporary.unlink()
        return False
