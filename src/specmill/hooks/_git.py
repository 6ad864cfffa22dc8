"""The two git calls the hooks make, as plain subprocesses (GitPython costs more to import).

- ``StagedChanges``: ``git diff --cached``, what the commit will change (renames and
  deletions included, which pre-commit never passes as file names). It starts at once
  and is read later, so git runs while the hook imports the core.
- ``read_blobs``: older versions of files, in one ``git cat-file --batch``.

Paths are relative to the folder git runs in (``--relative``), which is the project root.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from specmill.hooks._workspace import decode

DIFF = (
    "git",
    "diff",
    "--cached",
    "--raw",
    "-z",
    "-M",
    "--no-abbrev",
    "--relative",
    "--no-ext-diff",
    "--no-color",
)


class StagedChanges:
    """What ``git diff --cached`` reports, relative to HEAD (or to nothing, before it)."""

    def __init__(self, root: str) -> None:
        self.present: list[str] = []  # added, modified or renamed-to paths, sorted
        self.deleted: list[str] = []  # deleted, not renamed
        self.renamed_from: dict[str, str] = {}  # new path -> old path
        self.old_blob: dict[str, str] = {}  # present path -> blob id of its HEAD version
        self.deleted_blob: dict[str, str] = {}  # deleted path -> blob id
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                DIFF, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError:
            self._process = None

    def wait(self) -> StagedChanges:
        if self._process is None:
            return self
        out, _ = self._process.communicate()
        if self._process.returncode == 0:
            self._parse(out)
        self._process = None
        return self

    def _parse(self, output: bytes) -> None:
        fields = decode(output).split("\0")
        i = 0
        while i < len(fields) and fields[i].startswith(":"):
            _, _, old_blob, _, status = fields[i].split(" ")
            kind = status[0]
            if kind in "RC":
                old, new = fields[i + 1], fields[i + 2]
                i += 3
                self.present.append(new)
                self.old_blob[new] = old_blob
                if kind == "R":
                    self.renamed_from[new] = old
                continue
            path = fields[i + 1]
            i += 2
            if kind == "D":
                self.deleted.append(path)
                self.deleted_blob[path] = old_blob
            else:
                self.present.append(path)
                if kind != "A":
                    self.old_blob[path] = old_blob
        self.present.sort()
        self.deleted.sort()


def read_blobs(root: str, names: Iterable[str]) -> dict[str, bytes | None]:
    """Objects by name (a blob id, or ``HEAD:./path``); None for those git does not have."""
    wanted = [name for name in dict.fromkeys(names) if "\n" not in name]
    if not wanted:
        return {}
    try:
        done = subprocess.run(
            ("git", "cat-file", "--batch"),
            cwd=root,
            input="".join(f"{name}\n" for name in wanted).encode("utf-8", "surrogateescape"),
            capture_output=True,
            check=False,
        )
    except OSError:
        return {}
    found: dict[str, bytes | None] = {}
    out, position = done.stdout, 0
    for name in wanted:
        end = out.find(b"\n", position)
        if end < 0:
            break
        info = out[position:end].split(b" ")
        position = end + 1
        if len(info) == 3 and info[1] == b"blob":
            size = int(info[2])
            found[name] = out[position : position + size]
            position += size + 1
        elif len(info) == 3:  # a tree or a commit: skip its contents
            position += int(info[2]) + 1
            found[name] = None
        else:
            found[name] = None  # "<name> missing"
    return found
