"""What each problem says, and what to do about it, with the real module and paths.

``specmill check``, the bot and the hand-edit hook report the same problems; they build
them here, so a user reads one wording whichever tool found the problem. A message says
what happened (generated or adopted, header removed or never written); a hint names
the command to run, with the module and the path filled in. Stdlib only: the hooks
import it (on their first problem).
"""

from __future__ import annotations

import shlex
from typing import Literal

from specmill.core.problems import Problem, display_path

# What the committed version of a headerless output says about it: it had a header
# ("removed"), it never had one ("never": new, or written by hand), or nobody can tell.
HeaderHistory = Literal["removed", "never", "unknown"]


def arg(path: str) -> str:
    """``path`` as a shell argument in a hint (quoted when it must be; a path with
    control characters is shown escaped, so that it cannot forge another line)."""
    return shlex.quote(path) if path.isprintable() else display_path(path)


def hand_edited(path: str, line: int, spec: str, module: str, *, adopted: bool) -> Problem:
    regen = f"edit {spec} and run `specmill regen {module}`"
    eject = f"take the file over by hand with `specmill eject {arg(path)}`"
    if adopted:
        return Problem(
            path,
            line,
            "hand-edited",
            f"edited since `specmill adopt` recorded it for {spec} (module {module})",
            module,
            f"{regen}, adopt the edited code with `specmill adopt --force {arg(path)}`, or {eject}",
        )
    return Problem(
        path,
        line,
        "hand-edited",
        f"edited by hand since specmill generated it from {spec} (module {module})",
        module,
        f"{regen}, or {eject}",
    )


def header_missing(path: str, spec: str, module: str, history: HeaderHistory) -> Problem:
    what = {
        "removed": "its specmill header was removed",
        "never": "not generated or adopted yet (it has no specmill header)",
        "unknown": "it has no specmill header",
    }[history]
    regen = f"`specmill regen {module}` to generate it"
    adopt = f"`specmill adopt {arg(path)}` to adopt the code as it is"
    eject = f"`specmill eject {arg(path)}` to take it out of the spec's outputs"
    first, second = (regen, adopt) if history == "removed" else (adopt, regen)
    return Problem(
        path,
        1,
        "header-missing",
        f"{what}; {spec} (module {module}) declares it",
        module,
        f"run {first}, {second}, or {eject}",
    )


def missing(path: str, spec: str, line: int, module: str) -> Problem:
    return Problem(
        spec,
        line,
        "missing",
        f"{path} is declared but does not exist",
        module,
        f"run `specmill regen {module}` to generate it, or remove it from the outputs of {spec}",
    )


def deleted(path: str, spec: str, line: int, module: str) -> Problem:
    return Problem(
        spec,
        line,
        "missing",
        f"{path} was deleted, but {spec} (module {module}) still declares it",
        module,
        f"restore it with `git restore --staged --worktree -- {arg(path)}`, or remove it "
        f"from the outputs of {spec} in the same commit",
    )


def renamed(old: str, new: str, spec: str, line: int, module: str) -> Problem:
    return Problem(
        spec,
        line,
        "missing",
        f"{old} was renamed to {new}, but {spec} (module {module}) still declares {old}",
        module,
        f"`git mv {arg(new)} {arg(old)} && specmill mv {arg(old)} {arg(new)}` moves it and "
        f"updates {spec} and .gitattributes (no model call); or name {new} instead of {old} "
        f"in the outputs of {spec} in the same commit",
    )


def _made(adopted: bool) -> str:
    return "adopted for" if adopted else "generated from"


def orphan(
    path: str, line: int, spec: str, module: str, *, adopted: bool, spec_deleted: bool = False
) -> Problem:
    gone = ", which was deleted" if spec_deleted else ""
    return Problem(
        path,
        line,
        "orphan",
        f"{_made(adopted)} {spec}{gone} (module {module}), but no spec declares it",
        module,
        "delete the file, add it back to a spec's outputs, or keep it as hand-written code: "
        f"`specmill eject {arg(path)}`",
    )


def moved_by_hand(
    path: str, line: int, old: str, spec: str, module: str, *, adopted: bool
) -> Problem:
    """An orphan whose module lacks a declared output: most likely that file, moved."""
    return Problem(
        path,
        line,
        "orphan",
        f"{_made(adopted)} {spec} (module {module}), but no spec declares it; that module's "
        f"{old} does not exist: was it moved here by hand?",
        module,
        f"`mv {arg(path)} {arg(old)} && specmill mv {arg(old)} {arg(path)}` moves it and "
        f"updates {spec} and .gitattributes (no model call); or name {path} instead of {old} "
        f"in the outputs of {spec}",
    )


def stale(path: str, line: int, module: str, message: str) -> Problem:
    return Problem(path, line, "stale", message, module, f"run `specmill regen {module}`")


def conflict(path: str, spec: str, line: int, module: str, others: list[str]) -> Problem:
    return Problem(
        spec,
        line,
        "conflict",
        f"{path} is also declared by {', '.join(others)}",
        module,
        f"keep {path} in the outputs of one spec only ({', '.join([spec, *others])})",
    )
