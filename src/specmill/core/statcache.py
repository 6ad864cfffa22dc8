"""Stat caches, as git's index: skip re-reading files whose stat has not changed.

``specmill check`` on thousands of modules would otherwise read and hash every output
and parse every spec's YAML on each run. Three caches live in ``.git/specmill/`` (per
clone, never in a commit), all JSON (never pickle):

- ``stat-cache.json``: what each output's header says (``specmill.core.probe_cache``);
- ``spec-cache.json``: each parsed spec and its input digest (``specmill.core.spec_cache``);
- ``affected-cache.json``: the module graph for ``affected --base``
  (``specmill.core.affected_cache``).

Entries are validated by (size, mtime_ns, inode, ctime_ns); an entry whose mtime is too
recent to be trusted (the file could change again within the same timestamp tick: git's
"racy clean" problem) is never stored. Any error reading a cache only means starting
cold, a cache that cannot be written only costs speed, and what a cache holds is data to
check, never to trust blindly. ``SPECMILL_NO_CACHE=1`` bypasses them all.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

RACY_SECONDS = 2.0
MAX_BYTES = 256 * 1024 * 1024  # a larger file is not a cache specmill wrote
STAT_CACHE = "stat-cache.json"  # output probes
SPEC_CACHE = "spec-cache.json"  # parsed specs


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
