"""The patch guard against git itself (issue 19, item 4): thousands of generated patches.

Each patch is applied by the guard (``check_patch``: its git reading on the head's
entries for the paths the patch names, and its port of git's parser) and, as the
oracle, with ``git apply --index`` in a full checkout of the same repository. The
guard must accept exactly the patches whose real effect stays inside the allowed
outputs: git applies them, every path whose index entry changed is an allowed output,
with mode 100644 or 100755 before and after, no file patch is binary to git, and every
file git names (``--numstat``: it may set a mode in the working tree that the index
does not show) and every ``copy``/``rename`` source it reports (``--summary``: a copy
reads a file into an output) is an allowed output too. The patches mix canonical ``git
format-patch`` shapes with the header variants git also accepts: ``rename old/new``,
``copy from/to``, ``---``/``+++`` names that differ from ``diff --git``, quoted names,
similarity and mode lines, CRLF endings, ``\\ No newline``, binary markers (well formed:
after a malformed one git silently skips the rest of a patch, where the guard refuses
it), and a ``diff --git`` line git skips.

Cases are checked in batches on a thread pool (each case costs two ``git apply``
processes; git does the work, the threads overlap their start-up). The default run
checks ``SPECMILL_DIFFERENTIAL_CASES`` cases (2,000), deterministically; set the
variable higher, with ``SPECMILL_DIFFERENTIAL_RANDOM=1``, to explore new ones.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from git.objects.fun import tree_entries_from_data
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from specmill.github.errors import BundleError
from specmill.github.patch_effect import GitRefusal, ScratchRepository, TreeEntry, read_index
from specmill.github.patch_tree import local_tree, restricted_tree
from specmill.github.patchguard import check_patch
from tests.github.patch_cases import ALLOWED, FILES, PROTECTED, RECIPE_BYTES, build_patch

CASES = int(os.environ.get("SPECMILL_DIFFERENTIAL_CASES", "2000"))
BATCH = 100
WORKERS = 4


# --- the scratch repository and the oracle ----------------------------------------------


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


@dataclass
class Base:
    root: Path  # the checkout; git apply --index runs on a copy of it
    index: dict[str, tuple[int, str]]  # the committed index: path -> (mode, oid)
    objects: dict[str, bytes]  # every object of HEAD's tree, by oid
    top: str  # HEAD's tree

    def tree(self, paths: Sequence[str]) -> dict[str, TreeEntry]:
        """What ``local_tree`` reads at HEAD, from memory (no process per case)."""

        def listing(oid: str | None) -> dict[str, tuple[int, str]]:
            rows = tree_entries_from_data(self.objects[oid or self.top])
            return {name: (mode, binsha.hex()) for binsha, mode, name in rows}

        return restricted_tree(paths, listing, self.objects.__getitem__)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return make_base(tmp_path_factory.mktemp("differential") / "repo")


def make_base(root: Path) -> Base:
    """The repository of ``FILES``, committed, and its objects read into memory."""
    root.mkdir()
    git(root, "init", "--quiet")
    for key, value in {"core.checkStat": "minimal", "core.trustctime": "false"}.items():
        git(root, "config", key, value)  # a copied checkout keeps matching its index
    for path, (mode, text) in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(text)
        else:
            target.write_text(text, encoding="utf-8")
            target.chmod(0o755 if mode == "100755" else 0o644)
    git(root, "add", "--all")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "base")
    oids = [
        line.split(" ", 1)[0]
        for line in git(root, "rev-list", "--objects", "HEAD^{tree}").splitlines()
    ]
    batch = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=root, input="\n".join(oids).encode() + b"\n",
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    objects, pos = {}, 0
    while pos < len(batch):
        header_end = batch.index(b"\n", pos)
        oid, _, size = batch[pos:header_end].decode().split()
        objects[oid] = batch[header_end + 1 : header_end + 1 + int(size)]
        pos = header_end + 2 + int(size)
    top = git(root, "rev-parse", "HEAD^{tree}").strip()
    base = Base(root, read_index(root / ".git" / "index"), objects, top)
    assert base.tree(sorted(FILES)) == local_tree(root, "HEAD", sorted(FILES))
    return base


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    changed: tuple[str, ...] = ()
    why: str = ""


SUMMARY_SOURCE = re.compile(r"^ (?:copy|rename) (.*) \(\d+%\)$")


def sources(summary: str) -> list[str]:
    """The sources of git's ``--summary`` lines ``copy X => Y (N%)``, ``a/{X => Y}``."""
    found = []
    for line in summary.splitlines():
        match = SUMMARY_SOURCE.match(line)
        if match is None:
            continue
        text = match.group(1)
        braced = re.match(r"^(.*)\{(.*) => (.*)\}(.*)$", text)
        if braced:
            found.append((braced[1] + braced[2] + braced[4]).replace("//", "/"))
        else:
            found.append(text.split(" => ", 1)[0])
    return found


def oracle(base: Base, patch: bytes, work: Path) -> Verdict:
    """``git apply --index`` in a copy of the checkout: what it really does."""
    # Hard links: git replaces a file it patches (unlink, then create), never writes in it.
    shutil.copytree(
        base.root, work, symlinks=True, ignore=shutil.ignore_patterns(".git"), copy_function=os.link
    )
    index = work.parent / (work.name + ".index")
    shutil.copyfile(base.root / ".git" / "index", index)
    env = {
        "PATH": os.environ["PATH"], "LC_ALL": "C", "HOME": str(work.parent),
        "GIT_DIR": str(base.root / ".git"), "GIT_WORK_TREE": str(work),
        "GIT_INDEX_FILE": str(index), "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    done = subprocess.run(
        ["git", "apply", "--index", "--numstat", "--summary", "-z", "--apply",
         "--whitespace=nowarn", "-"],
        cwd=work, env=env, input=patch, capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return Verdict(False, why="git refuses it")
    records, _, summary = done.stdout.rpartition(b"\0")
    if any(record.startswith(b"-\t-\t") for record in records.split(b"\0")):
        return Verdict(False, why="binary")
    try:
        after = read_index(index)
    except GitRefusal:  # a folder entry: a sparse index, which GitPython does not read
        return Verdict(False, why="a folder entry")
    changed = tuple(
        path
        for path in sorted(base.index.keys() | after.keys())
        if base.index.get(path) != after.get(path)
    )
    for path in changed:
        before, now = base.index.get(path), after.get(path)
        if path not in ALLOWED:
            return Verdict(False, changed, f"changes {path}")
        if now is not None and now[0] not in (0o100644, 0o100755):
            return Verdict(False, changed, f"mode {now[0]:o}")
        if before is not None and now is not None and before[0] != now[0]:
            return Verdict(False, changed, "mode change")
    named = [
        record.split(b"\t", 2)[2].decode("utf-8", "replace")
        for record in records.split(b"\0")
        if record
    ]
    for path in [*named, *sources(summary.decode("utf-8", "replace"))]:
        if path not in ALLOWED:  # git worked on it (a worktree mode, a copy's source)
            return Verdict(False, changed, f"works on {path}")
    return Verdict(True, changed)


def guard(base: Base, patch: str, scratch: ScratchRepository) -> Verdict:
    try:
        changed = check_patch(patch, ALLOWED, PROTECTED, base.tree, scratch)
    except BundleError as exc:
        return Verdict(False, why=exc.message)
    return Verdict(True, changed)


@pytest.fixture(scope="module")
def scratches() -> Iterator[Callable[[], ScratchRepository]]:
    """One scratch repository per worker thread, made once, removed at the end."""
    local, made = threading.local(), []

    def mine() -> ScratchRepository:
        if not hasattr(local, "scratch"):
            local.scratch = ScratchRepository()
            made.append(local.scratch)
        scratch: ScratchRepository = local.scratch
        return scratch

    yield mine
    for scratch in made:
        scratch.close()


def compare(
    base: Base, patch: str, work: Path, scratch: ScratchRepository
) -> tuple[str | None, bool]:
    """Where the guard and git disagree on ``patch`` (None: nowhere), and git's verdict."""
    truth = oracle(base, patch.encode("utf-8"), work)
    verdict = guard(base, patch, scratch)
    if truth.accepted == verdict.accepted and (
        not truth.accepted or truth.changed == verdict.changed
    ):
        return None, truth.accepted
    said = (
        f"git: {'accepted' if truth.accepted else 'refused'} {truth.changed} {truth.why}\n"
        f"guard: {'accepted' if verdict.accepted else 'refused'} {verdict.changed} "
        f"{verdict.why}\n{patch}"
    )
    return said, truth.accepted


RECIPES = st.lists(
    st.binary(min_size=RECIPE_BYTES, max_size=RECIPE_BYTES), min_size=BATCH, max_size=BATCH
)


@settings(
    max_examples=max(1, CASES // BATCH),
    deadline=None,
    derandomize=os.environ.get("SPECMILL_DIFFERENTIAL_RANDOM") != "1",
    database=None,
    phases=[Phase.explicit, Phase.generate],  # the message shows the patch: no shrinking
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(recipes=RECIPES)
def test_the_guard_accepts_exactly_what_git_applies_inside_the_outputs(
    recipes: list[bytes],
    base: Base,
    scratches: Callable[[], ScratchRepository],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    batch = [build_patch(recipe) for recipe in recipes]
    folder = tmp_path_factory.mktemp("cases")
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(
            pool.map(
                lambda item: compare(base, item[1], folder / f"c{item[0]}", scratches()),
                enumerate(batch),
            )
        )
    disagreements = [said for said, _ in results if said is not None]
    assert not disagreements, f"{len(disagreements)} disagreement(s); first:\n{disagreements[0]}"
    accepted = sum(1 for _, applied in results if applied)
    assert accepted > 0, f"none of {BATCH} patches stays inside the outputs: a vacuous batch"
