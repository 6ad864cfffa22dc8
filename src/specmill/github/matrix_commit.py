"""The matrix's report job delivers like the one-phase mode: one commit on the head.

Each matrix job wrote its regenerated code into its bundle as a patch (``git
format-patch`` of the engine's commit). ``commit_patches`` applies those patches to a
checkout of the pull request's head, in dependency order, checks that they changed
only declared outputs of the modules the bundles regenerated (and ``.gitattributes``,
which the engine keeps), and commits the lot as one commit with the usual trailers and
the merged run record as its git note. ``specmill.github.delivery`` then pushes it,
only if the branch is still at the head SHA.

The patches and the record come from bundles (untrusted): ``git apply`` refuses paths
outside the work tree and through symbolic links; the paths are checked against the
specs of the checkout, read before anything is applied, and so are the modes (regular
files, unchanged: ``git diff --cached --raw``); the commit message must have
exactly the lines its modules give it (a field with a line break could forge a
trailer). On any refusal the checkout is reset to the head and nothing is committed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

from specmill.core.project import load_project
from specmill.core.records import RunRecord
from specmill.engine.apply import GITATTRIBUTES
from specmill.engine.provenance import NOTES_REF, commit_message
from specmill.errors import SpecmillError
from specmill.github.delivery import NEUTRALISED_CONFIG, Remote, git
from specmill.github.events import PullTarget


def commit_patches(
    remote: Remote, target: PullTarget, record: RunRecord, patches: Sequence[str]
) -> str:
    """Apply ``patches`` on ``target``'s head in ``remote.root``, commit them as one; its SHA."""
    root = remote.root
    head = _git(remote, "rev-parse", "HEAD").strip()
    if head != target.head_sha:
        raise SpecmillError(
            f"the report job's checkout is at {head[:12]}, not the pull request's head "
            f"{target.head_sha[:12]}",
            hint="check out the head in the report job (actions/checkout with `ref:` the "
            "head SHA, as in examples/workflows/specmill-matrix.yml)",
        )
    if _git(remote, "status", "--porcelain", "--untracked-files=no").strip():
        raise SpecmillError("the report job's checkout has uncommitted changes: nothing applied")
    passed = [m for m in record.modules if m.status == "passed"]
    project = load_project(root, cache=False)  # the head's specs, before any patch
    allowed = {GITATTRIBUTES}
    for result in passed:
        if result.module not in project.by_id:
            raise SpecmillError(f"the bundles regenerated {result.module!r}, which no spec defines")
        allowed.update(project.by_id[result.module].outputs)
    try:
        for patch in patches:
            _apply(remote, patch)
        _check_staged(remote, allowed)
        message = commit_message(record, passed)
        if "\r" in message or message.count("\n") != 2 * len(passed) + 5:
            raise SpecmillError("the bundles' run record has a line break in a field")
        commit = _commit(remote, message)
    except SpecmillError:
        _git(remote, "reset", "--quiet", "--hard", head)
        raise
    noted = record.model_copy(update={"commit": commit, "head": head})
    said = _with_file(remote, noted.model_dump_json(indent=2), "notes", f"--ref={NOTES_REF}",
                      "add", "--force", "--file", "{file}", commit)  # fmt: skip
    if said:
        raise SpecmillError(f"git notes add failed: {said}")
    return commit


def _check_staged(remote: Remote, allowed: set[str]) -> None:
    """What the patches staged: declared outputs only, as regular files, modes kept."""
    raw = _git(remote, "diff", "--cached", "--raw", "--no-renames", "-z", "HEAD").split("\0")
    for meta, path in zip(raw[0:-1:2], raw[1::2], strict=True):
        old_mode, new_mode = meta.lstrip(":").split(" ")[:2]
        if path not in allowed:
            raise SpecmillError(
                f"the bundles' patches change {path[:200]!r}, which is not an output of a "
                "module they regenerated: nothing committed"
            )
        kept = "000000" in (old_mode, new_mode) or old_mode == new_mode
        if new_mode not in ("100644", "100755", "000000") or not kept:
            raise SpecmillError(
                f"the bundles' patches give {path[:200]!r} mode {new_mode} (it was "
                f"{old_mode}): regular files only, modes kept; nothing committed"
            )


def _apply(remote: Remote, patch: str) -> None:
    done = _with_file(remote, patch, "apply", "--index", "--3way", "--whitespace=nowarn", "{file}")
    if done:
        raise SpecmillError(f"the bundles' patches do not apply on the head: {done}")


def _commit(remote: Remote, message: str) -> str:
    said = _with_file(remote, message, "commit", "--no-verify", "--quiet", "--file", "{file}")
    if said:
        raise SpecmillError(f"git commit failed: {said}")
    return _git(remote, "rev-parse", "HEAD").strip()


def _configured(*args: str) -> list[str]:
    """``git -c …`` for the checkout's own configuration: no hooks, no fsmonitor."""
    return [part for key, value in NEUTRALISED_CONFIG for part in ("-c", f"{key}={value}")] + [
        *args
    ]


def _git(remote: Remote, *args: str) -> str:
    done = git(remote, *_configured(*args))
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise SpecmillError(f"git {args[0]} failed: {' / '.join(said[-3:])}")
    return done.stdout


def _with_file(remote: Remote, text: str, *args: str) -> str:
    """Run git with ``{file}`` standing for a temporary file holding ``text``; its error."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as handle:
        handle.write(text)
        handle.flush()
        done = git(remote, *_configured(*(handle.name if a == "{file}" else a for a in args)))
    if done.returncode == 0:
        return ""
    said = (done.stderr or done.stdout).strip().splitlines()
    return " / ".join(said[-3:]) or f"exit {done.returncode}"
