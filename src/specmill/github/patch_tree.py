"""The files a patch may touch, as the pull request's head has them: the tree that
``specmill.github.patch_effect`` applies a bundle's patch to.

Only the paths the patch names are read, with what stands in their way: a symbolic
link or a file where a folder of the path should be, and, for a path that is a folder
at the head, one placeholder file inside it, so that git meets the same conflicts as
in a full checkout. Read from a local checkout (the matrix's report job has one), or
through the API (the two-phase report job checks out nothing): a folder's listing
with ``GET /git/trees/{sha}`` gives exact modes (the contents API hides the
executable bit), a file's bytes come from ``GET /git/blobs/{sha}``.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from specmill.github.patch_effect import GITLINK, TreeEntry
from specmill.github.publish import github_call

FOLDER = 0o040000
PLACEHOLDER = ".specmill-folder"  # stands for a folder's files

Listing = Callable[[str | None], Mapping[str, tuple[int, str]]]  # tree oid (None: top)


def restricted_tree(
    paths: Iterable[str], listing: Listing, read_blob: Callable[[str], bytes]
) -> dict[str, TreeEntry]:
    """The entries on the way to each of ``paths``, as ``listing`` and ``read_blob`` say."""
    listings: dict[str | None, Mapping[str, tuple[int, str]]] = {}
    entries: dict[str, TreeEntry] = {}
    for path in paths:
        parts, folder = path.split("/"), None
        for depth, part in enumerate(parts):
            if folder not in listings:
                listings[folder] = listing(folder)
            found = listings[folder].get(part)
            if found is None:
                break
            mode, oid = found
            here = "/".join(parts[: depth + 1])
            if mode == FOLDER:
                if depth == len(parts) - 1:
                    entries[f"{here}/{PLACEHOLDER}"] = TreeEntry(0o100644)
                folder = oid
                continue
            is_link = mode == GITLINK
            entries[here] = TreeEntry(mode, oid=oid) if is_link else TreeEntry(mode, read_blob(oid))
            break
    return entries


def local_tree(root: Path, commit: str, paths: Iterable[str]) -> dict[str, TreeEntry]:
    """From the repository at ``root`` (the report job's checkout of the head)."""
    return restricted_tree(paths, *local_reader(root, commit))


def local_reader(root: Path, commit: str) -> tuple[Listing, Callable[[str], bytes]]:
    """Folder listings and blobs of ``commit`` in the repository at ``root``; LookupError
    when it has no such commit."""
    import git
    from git.objects.fun import tree_entries_from_data
    from gitdb.exc import ODBError

    try:
        with git.Repo(root) as repo:
            top = repo.commit(commit).tree.hexsha
            odb = repo.odb
    except (git.GitError, ODBError, ValueError, OSError):
        raise LookupError(f"no commit {commit[:12]} in {root}") from None

    def read_blob(oid: str) -> bytes:
        data: bytes = odb.stream(bytes.fromhex(oid)).read()
        return data

    def listing(oid: str | None) -> dict[str, tuple[int, str]]:
        rows = tree_entries_from_data(read_blob(oid or top))
        return {name: (mode, binsha.hex()) for binsha, mode, name in rows}

    return listing, read_blob


def api_reader(gh: Any, repository: str, commit: str) -> tuple[Listing, Callable[[str], bytes]]:
    """Folder listings and blobs of ``commit`` through the API (a fork's head included:
    GitHub keeps it in the base repository as ``refs/pull/N/head``), each read once."""
    repo = gh.get_repo(repository)

    @functools.cache
    def listing(oid: str | None) -> dict[str, tuple[int, str]]:
        with github_call(f"read the tree {(oid or commit)[:12]}"):
            tree = repo.get_git_tree(oid or commit)
            return {item.path: (int(item.mode, 8), item.sha) for item in tree.tree}

    @functools.cache
    def read_blob(oid: str) -> bytes:
        with github_call(f"read the blob {oid[:12]}"):
            blob = repo.get_git_blob(oid)
            content, encoding = blob.content, blob.encoding
        return base64.b64decode(content) if encoding == "base64" else content.encode("utf-8")

    return listing, read_blob
