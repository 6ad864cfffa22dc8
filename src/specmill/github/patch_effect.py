"""What ``git apply`` does with a patch, asked of git itself: the first reader of a patch.

A throwaway repository gets an index holding the files the patch may touch (the pull
request's head, restricted to the paths the patch names: ``TreeEntry`` data read by
``specmill.github.patch_tree``); ``git apply --cached`` applies the exact bytes that
will be delivered to that index; the entries before and after say what changed, with
which modes. A path git reads that is not in that index (a ``copy from`` source, a file
the patch edits under another name) is not there, so git refuses the patch; a path it
creates shows up. ``--numstat`` adds git's own view of which file patches are binary.
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from git.index.fun import read_cache, write_cache
from git.index.typ import BaseIndexEntry, IndexEntry
from gitdb import IStream
from gitdb.db.loose import LooseObjectDB

GITLINK = 0o160000
GIT_TIMEOUT = 120  # seconds; a 16 MiB patch applies in well under one


@dataclass(frozen=True)
class TreeEntry:
    """A file of the tree a patch applies to: its mode and bytes (a submodule: its oid)."""

    mode: int
    data: bytes = b""
    oid: str | None = None  # a submodule's commit; blobs get theirs from ``data``


@dataclass(frozen=True)
class Change:
    path: str
    before: tuple[int, str] | None  # (mode, oid); None: the path did not exist
    after: tuple[int, str] | None  # None: git removed it


@dataclass(frozen=True)
class Effect:
    changes: tuple[Change, ...]
    binary: tuple[str, ...]  # the names of the file patches git reads as binary


class GitRefusal(Exception):
    """``git apply`` would not apply the patch here; the message is git's."""


class ScratchRepository:
    """A repository of its own in a temporary folder, for reading patches with git."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="specmill-patch-")
        self.root = Path(self._folder.name)
        self._git("init", "--quiet")
        self._objects = LooseObjectDB(str(self.root / ".git" / "objects"))

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> ScratchRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def effect(self, patch: bytes, tree: Mapping[str, TreeEntry]) -> Effect:
        """Apply ``patch`` to an index holding exactly ``tree``; what changed in it."""
        before = {path: self._entry(entry) for path, entry in tree.items()}
        with self._index(before) as index:
            done = self._git(
                "apply", "--cached", "--numstat", "-z", "--apply", "--whitespace=nowarn", "-",
                index=index, data=patch,
            )  # fmt: skip
            if done.returncode != 0:
                said = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise GitRefusal(" / ".join(said[:3])[:500] or f"exit {done.returncode}")
            after = read_index(index)
        changes = [
            Change(path, before.get(path), after.get(path))
            for path in sorted(before.keys() | after.keys())
            if before.get(path) != after.get(path)
        ]
        return Effect(tuple(changes), _binary(done.stdout))

    def _entry(self, entry: TreeEntry) -> tuple[int, str]:
        if entry.mode == GITLINK and entry.oid is not None:
            return entry.mode, entry.oid
        stored = self._objects.store(IStream(b"blob", len(entry.data), io.BytesIO(entry.data)))
        return entry.mode, stored.hexsha.decode("ascii")

    @contextmanager
    def _index(self, entries: Mapping[str, tuple[int, str]]) -> Iterator[Path]:
        handle, name = tempfile.mkstemp(prefix="index-", dir=self.root / ".git")
        rows = [
            IndexEntry.from_base(BaseIndexEntry((mode, bytes.fromhex(oid), 0, path)))
            for path, (mode, oid) in sorted(entries.items(), key=lambda item: item[0].encode())
        ]
        try:
            with os.fdopen(handle, "wb") as stream:
                write_cache(rows, stream)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def _git(
        self, *args: str, index: Path | None = None, data: bytes = b""
    ) -> subprocess.CompletedProcess[bytes]:
        """git with no configuration but the scratch repository's, and no secrets."""
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.root),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        try:
            return subprocess.run(
                ["git", *args], cwd=self.root, env=env, input=data, capture_output=True,
                timeout=GIT_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise GitRefusal(f"git {args[0]} took more than {GIT_TIMEOUT} s") from None


def read_index(path: Path) -> dict[str, tuple[int, str]]:
    """An index file's entries: path -> (mode, oid); GitRefusal where it cannot be read."""
    try:
        with path.open("rb") as stream:
            _, entries, _, _ = read_cache(stream)
    except UnicodeDecodeError:
        raise GitRefusal("git wrote a path that is not UTF-8") from None
    except ValueError as exc:  # a folder entry (mode 040000) makes a sparse index
        raise GitRefusal(f"git wrote an index with {exc}") from None
    return {str(key[0]): (entry.mode, entry.hexsha) for key, entry in entries.items()}


def _binary(numstat: bytes) -> tuple[str, ...]:
    """The names ``--numstat -z`` marks binary (``-\\t-\\tNAME``)."""
    names = []
    for record in numstat.split(b"\0"):
        fields = record.split(b"\t", 2)
        if len(fields) == 3 and fields[0] == b"-":
            names.append(fields[2].decode("utf-8", "replace"))
    return tuple(names)
