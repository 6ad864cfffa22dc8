"""The result: write the passing modules' files into the working tree, commit, note.

Nothing here runs before every module of the run has finished, and a module's files
are written only when its whole pipeline passed. An output with uncommitted changes is
never overwritten without ``--force``: the run stops before any model call, or here if
the file changed during the run, and says which file and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from specmill.core.project import Project
from specmill.core.records import ModuleResult, RunRecord
from specmill.engine.guard import escapes
from specmill.engine.provenance import NOTES_REF, commit_message
from specmill.errors import PathSafetyError, SpecmillError
from specmill.files import sync_gitattributes, write_atomic
from specmill.repo import Repo

GITATTRIBUTES = ".gitattributes"


def refuse_overwrites(repo: Repo, paths: Iterable[str]) -> None:
    dirty = sorted(repo.uncommitted(sorted(set(paths))))
    if dirty:
        listed = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise SpecmillError(
            f"refusing to overwrite generated output(s) with uncommitted changes: {listed}",
            hint="commit or stash those changes (a hand edit belongs in the spec), "
            "or run again with --force to overwrite them",
        )


def apply_results(
    project: Project,
    repo: Repo,
    record: RunRecord,
    passed: Sequence[ModuleResult],
    files: dict[str, str],
    *,
    commit: bool,
    force: bool,
) -> list[str]:
    """Write ``files``; with ``commit``, one commit of exactly those paths. Returns them."""
    if not force:
        refuse_overwrites(repo, files)
    for path in [*files, GITATTRIBUTES]:  # .gitattributes is read, merged and rewritten
        if escapes(project.root, path):
            raise PathSafetyError(
                "it would be written through a symlink; nothing was written",
                path=path,
            )
    attributes_dirty = bool(repo.uncommitted([GITATTRIBUTES]))
    for path, text in sorted(files.items()):
        write_atomic(project.root / path, text)
    paths = sorted(files)
    if sync_gitattributes(project.root, sorted(project.owners)) and not attributes_dirty:
        paths.append(GITATTRIBUTES)  # with uncommitted edits of the user's, it stays out
    if commit:
        record.commit = repo.commit_paths(paths, commit_message(record, passed))
        repo.add_note(record.commit, record.model_dump_json(indent=2), NOTES_REF)
    return paths
