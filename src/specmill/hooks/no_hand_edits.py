"""specmill-no-hand-edits: a commit must not change a generated file by hand.

pre-commit passes the files a commit adds or changes, with only their staged content in
the working tree. For each one:

- a specmill header whose content hash the body no longer matches: ``hand-edited``, at
  the first line that differs from the committed (HEAD) version;
- a header, but no spec declares the file (its spec was deleted): ``orphan``;
- no header (binary files included) while a spec declares the file: ``header-missing``.

A hook never receives deleted files, nor the old side of a rename, so it asks git for
them: a deleted file that a spec still declares is ``missing``, so is a renamed one
(git's rename detection on the staged change; the hint is ``specmill mv OLD NEW``,
and its new path is not reported again as an orphan), and a deleted spec's outputs
left in the tree are orphans. pre-commit may split the file list over several
processes; only the one whose share holds the first staged path reports deletions,
and the one holding a rename's new path reports its old side, so nothing is said twice.

The common case, a generated file compared with its own header, needs neither pydantic
nor PyYAML; they load only when a spec that mentions a file has to be parsed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from specmill.errors import SpecmillError
from specmill.hooks import _workspace
from specmill.hooks._git import StagedChanges, read_blobs
from specmill.hooks._owners import Owner, Owners
from specmill.workflow_commands import guarded

TYPE_CHECKING = False  # importing typing for its constant would cost each run ~5 ms
if TYPE_CHECKING:
    from specmill.core.advice import HeaderHistory
    from specmill.core.hashing import Sha256
    from specmill.core.header import SplitFile
    from specmill.core.problems import Problem

HOOK = "specmill-no-hand-edits"
# Up to this much text, CPython's own sha256 hashes: loading OpenSSL's costs ~5 ms, more
# than the builtin one loses to it on a few files (it is ~5x slower on bulk).
BUILTIN_SHA256_BYTES = 256 * 1024
FOOTER = (
    f"{HOOK}: generated files are compiler output: fix the spec, not the code. "
    f"To commit anyway: SKIP={HOOK} git commit ..."
)


@guarded
def main(argv: Sequence[str] | None = None) -> int:
    filenames = _filenames(sys.argv[1:] if argv is None else list(argv))
    try:
        root = _workspace.find_root(os.getcwd())
    except _workspace.NoProject as exc:
        print(f"{HOOK}: error: {exc}")
        return 1
    staged = StagedChanges(root)  # git runs while the core is imported below
    paths = _workspace.relative_paths(root, filenames)
    check = HandEdits(root, staged)
    try:
        problems = [problem for path in paths for problem in check.file(path)]
        staged.wait()
        problems += check.renames(paths)
        if not filenames or (staged.present and staged.present[0] in paths):
            problems += check.deletions()
    except SpecmillError as exc:  # a broken config: specmill-lint says more
        print(f"{HOOK}: error: {exc}")
        return 1
    here = os.path.realpath(os.getcwd())
    for problem in sorted(problems, key=lambda p: (p.path, p.line, p.kind)):
        # located from where the hook runs (pre-commit: the git root), so editors and
        # terminals open the file; paths inside messages stay project-relative
        where = os.path.relpath(os.path.join(root, problem.path), here).replace(os.sep, "/")
        print(f"{where}:{problem.line}: {problem.kind}: {problem.message}")
        print(f"  fix: {problem.hint}")
    if problems:
        print(FOOTER)
    return 1 if problems else 0


def _filenames(arguments: list[str]) -> list[str]:
    """The file names on the command line.

    pre-commit passes file names alone, which argparse would return as they are; it
    parses only a command line with an option (``--help``, a mistake, a file name that
    starts with ``-``), so that usage and errors read the same. Building its parser
    (its help formatter imports shutil, bz2 and lzma) costs each run ~10 ms.
    """
    if not any(argument.startswith("-") for argument in arguments):
        return arguments
    import argparse

    parser = argparse.ArgumentParser(
        prog=HOOK, description="Fail when a commit changes a generated file by hand."
    )
    parser.add_argument("filenames", nargs="*", help="files the commit adds or changes")
    filenames: list[str] = parser.parse_args(arguments).filenames
    return filenames


class HandEdits:
    """The checks of one hook process: its share of files, renames into it, deletions."""

    def __init__(self, root: str, staged: StagedChanges) -> None:
        self.root = root
        self.staged = staged
        self.owners = Owners(root)
        self.hashed = 0  # characters hashed so far

    def sha256(self, text: str) -> Sha256 | None:
        """The sha256 to hash ``text`` with: the builtin one within the budget, then
        OpenSSL's (None)."""
        from specmill.core.hashing import builtin_sha256

        self.hashed += len(text)
        return builtin_sha256() if self.hashed <= BUILTIN_SHA256_BYTES else None

    def file(self, path: str) -> list[Problem]:
        if os.path.islink(os.path.join(self.root, path)):
            return []  # the file it points to is checked on its own
        head = _workspace.read_bytes(self.root, path, _workspace.SNIFF_BYTES)
        if head is None:  # a folder, or deleted without staging (pre-commit run --files)
            owner = self.owners.owner(path)
            return [] if owner is None else [_absent(path, owner)]
        if _workspace.is_binary(head) or _workspace.HEADER_MARK not in head:
            return self._without_header(path)
        if len(head) == _workspace.SNIFF_BYTES:
            head = _workspace.read_bytes(self.root, path) or head
        from specmill.core.header import split_header

        split = split_header(_workspace.decode(head), path)
        if split.header is None:
            return self._without_header(path)
        return self._with_header(path, split)

    def renames(self, paths: list[str]) -> list[Problem]:
        """The old side of each rename whose new path is in this process's share."""
        problems = []
        for path in paths:
            old, owner = self._renamed_output(path)
            if old is not None and owner is not None:
                from specmill.core import advice

                problems.append(advice.renamed(old, path, owner.spec, owner.line, owner.module))
        return problems

    def _renamed_output(self, path: str) -> tuple[str | None, Owner | None]:
        """The declared output that ``path`` is a staged rename of (git's rename
        detection), and the spec that still declares it."""
        old = self.staged.wait().renamed_from.get(path)
        return old, None if old is None else self.owners.owner(old)

    def deletions(self) -> list[Problem]:
        problems = []
        for path in self.staged.deleted:
            owner = self.owners.owner(path)
            if owner is not None:
                problems.append(_deleted(path, owner))
        deleted_specs = [
            path for path in self.staged.deleted if _workspace.is_spec_path(path, self.owners.specs)
        ]
        if deleted_specs:
            blobs = read_blobs(self.root, [self.staged.deleted_blob[s] for s in deleted_specs])
            for spec in deleted_specs:
                text = _workspace.decode(blobs.get(self.staged.deleted_blob[spec]) or b"")
                problems += self._orphans_of(self.owners.outputs(spec, text))
        return problems

    def _orphans_of(self, outputs: Sequence[str]) -> list[Problem]:
        """Outputs of a deleted spec still in the tree, and not passed to any process."""
        problems = []
        for path in outputs:
            if path in self.staged.present:
                continue  # in some process's share: reported there
            for problem in self.file(path):
                if problem.kind == "orphan":
                    problems.append(problem)
        return problems

    def _with_header(self, path: str, split: SplitFile) -> list[Problem]:
        from specmill.core.hashing import content_matches

        header = split.header
        assert header is not None
        line = split.header_line or 1
        named = self.owners.names(header.spec, path)
        matches = content_matches(header.content, split.outside, self.sha256(split.outside))
        if named and matches:
            return []  # the common case: a declared file as generated (no advice to import)
        from specmill.core import advice

        if not named and self.owners.owner(path) is None:
            if self._renamed_output(path)[1] is not None:
                return []  # a staged rename of a declared output: renames() reports it
            gone = self.owners.text(header.spec) is None
            adopted = header.origin == "adopted"
            return [
                advice.orphan(
                    path, line, header.spec, header.module, adopted=adopted, spec_deleted=gone
                )
            ]
        if matches:
            return []
        owner = None if named else self.owners.owner(path)
        spec, module = (owner.spec, owner.module) if owner else (header.spec, header.module)
        edited = self._first_changed_line(path, split) or line + header.size
        adopted = header.origin == "adopted"
        return [advice.hand_edited(path, edited, spec, module, adopted=adopted)]

    def _without_header(self, path: str) -> list[Problem]:
        owner = self.owners.owner(path)
        if owner is None:
            return []
        from specmill.core import advice

        before = self._committed(path)
        had_header = before is not None and _workspace.HEADER_MARK in before
        history: HeaderHistory = "removed" if had_header else "never"
        return [advice.header_missing(path, owner.spec, owner.module, history)]

    def _committed(self, path: str) -> bytes | None:
        """The HEAD version of ``path`` (of its old name, when renamed)."""
        self.staged.wait()
        if path in self.staged.old_blob:
            name = self.staged.old_blob[path]
        elif path in self.staged.present:
            return None  # added by this commit
        else:
            name = f"HEAD:./{path}"
        return read_blobs(self.root, [name]).get(name)

    def _first_changed_line(self, path: str, split: SplitFile) -> int | None:
        before = self._committed(path)
        if before is None:
            return None
        from specmill.core.header import split_header

        old = split_header(_workspace.decode(before), path)
        if old.header is None:
            return None
        changed = _first_difference(old.outside, split.outside)
        if changed is None:
            return None
        header_index = (split.header_line or 1) - 1
        size = split.header.size if split.header is not None else 0
        return changed + 1 + (size if changed >= header_index else 0)


def _first_difference(before: str, after: str) -> int | None:
    """0-based index of the first line of ``after`` not in ``before`` (newlines normalised)."""
    import difflib

    from specmill.core.hashing import normalize_newlines

    old = normalize_newlines(before).split("\n")
    new = normalize_newlines(after).split("\n")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, start, _ in matcher.get_opcodes():
        if tag != "equal":
            return min(start, len(new) - 1)
    return None


def _deleted(path: str, owner: Owner) -> Problem:
    from specmill.core import advice

    return advice.deleted(path, owner.spec, owner.line, owner.module)


def _absent(path: str, owner: Owner) -> Problem:
    from specmill.core import advice

    return advice.missing(path, owner.spec, owner.line, owner.module)


if __name__ == "__main__":
    raise SystemExit(main())
