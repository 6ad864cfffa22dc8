"""The ``specmill`` console script: ``affected --base REV`` answered before click loads.

``specmill affected --base REV`` runs in every pull request's workflow and in pre-push
hooks. When the records of a previous run can answer (``core.affected_cache``), it is
answered here with git, one JSON file and the few files git reported changed: no
click, no configuration model, no spec parser. Every other command, every other form of
this one (``--head``, ``--matrix``), and any case the records cannot answer go to the
full command (``specmill.cli.main``), which answers as it always did: the same modules,
or the error. Nothing here writes a file.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Short commands that allocate many objects and make no cycles worth collecting: the
# cyclic collector only walks their objects again and again (about a tenth of a warm
# `check` on 5,000 modules), and the process ends soon after. Long runs keep it on.
NO_CYCLIC_GC = frozenset({"check", "status", "lint", "affected", "graph"})

GIT_TIMEOUT = 120  # seconds, as gitcli.run_git


def run() -> None:
    argv = sys.argv[1:]
    if argv[:1] and argv[0] in NO_CYCLIC_GC:
        gc.disable()
    sys.exit(main(argv))


def main(argv: Sequence[str]) -> int:
    """``specmill ARGV``: from the records when they can answer, else the full command."""
    code = quick(argv)
    if code is not None:
        return code
    from specmill.cli.main import main as full

    return full(list(argv))


def quick(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> int | None:
    """The exit code of ``specmill affected --base REV [--json] [-q]`` answered from the
    records, or None: then the full command answers."""
    options = _options(argv)
    if options is None:
        return None
    base, as_json, quiet = options
    # the full command takes the secrets file (and deletes it), guards output in
    # Actions, and honours SPECMILL_NO_CACHE
    if environ.get("SPECMILL_SECRETS_FILE") or environ.get("GITHUB_ACTIONS") == "true":
        return None
    try:
        modules = _from_records(base)
    except KeyboardInterrupt:
        print("specmill: interrupted", file=sys.stderr)
        return 130
    if modules is None:
        return None
    try:
        if as_json:
            print(json.dumps(modules, indent=2))
        else:
            for module in modules:
                print(module)
            if not modules and not quiet and sys.stdout.isatty():
                print("nothing affected")
        sys.stdout.flush()
    except BrokenPipeError:
        return 1
    return 0


def _options(argv: Sequence[str]) -> tuple[str, bool, bool] | None:
    """(REV, --json, --quiet) of ``affected --base REV [--json] [-q|--quiet]``, in any
    order, each once; None for anything else (click reads it, and says what is wrong)."""
    if argv[:1] != ["affected"]:
        return None
    base: str | None = None
    flags: set[str] = set()
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "--base" and args and base is None:
            base = args.pop(0)
        elif arg.startswith("--base=") and base is None:
            base = arg.removeprefix("--base=")
        elif arg in ("--json", "-q", "--quiet") and arg not in flags:
            flags.add("--quiet" if arg == "-q" else arg)
        else:
            return None
    if not base or base.startswith("-") or "\0" in base:
        return None  # git would read it as an option; click and git say what is wrong
    return base, "--json" in flags, "--quiet" in flags


def _from_records(base: str) -> list[str] | None:
    """The modules ``affected --base`` lists, from git and the records, or None."""
    from specmill.core import affected_cache, layout
    from specmill.core.statcache import cache_dir

    try:
        found = layout.find_root(os.getcwd())
    except OSError:
        return None
    if found is None or cache_dir(Path(found)) is None:
        return None
    root = Path(found)
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        # git from PATH, as gitcli finds it: no check has run in this process; no
        # optional lock (git diff would refresh the index and take index.lock while a
        # commit may be starting)
        process = subprocess.Popen(
            ["git", "--no-optional-locks", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    try:
        # git works while the records load, as gitcli.changed_paths asks it: what
        # changed since the merge base (git >= 2.30 finds it: one merge base, else it
        # fails), the untracked files, and the merge base itself, the records' key
        changes = start("diff", "--name-only", "-z", "--no-renames", "--merge-base", base, "--")
        untracked = start("ls-files", "-z", "--others", "--exclude-standard")
        merge_base = start("merge-base", base, "HEAD")
        snapshot = affected_cache.load(root)
        said, names, others = _answer(merge_base), _answer(changes), _answer(untracked)
        if said is None or names is None or others is None:
            return None  # no such revision, no merge base: the full command says so
        commit = said.decode().strip()
        listed = (names + b"\0" + others).decode("utf-8", "surrogateescape").split("\0")
        return affected_cache.affected(root, snapshot, commit, {p for p in listed if p})
    except Exception:  # Fallback, an unreadable file, a case the records do not
        return None  # foresee: the full command answers (and says what is wrong)
    finally:  # git ends on its own, soon: never killed while it may hold a lock
        for process in started:
            if process.returncode is None:
                process.communicate()


def _answer(process: subprocess.Popen[bytes]) -> bytes | None:
    """What git printed, or None when it failed (or took longer than ``GIT_TIMEOUT``)."""
    try:
        out, _ = process.communicate(timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    return out if process.returncode == 0 else None
