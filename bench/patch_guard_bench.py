"""What git as the reader of a bundle's patch costs, and how fast the differential runs.

    python bench/patch_guard_bench.py [CASES]

1. One regenerated module's patch (format-patch of 3 outputs), checked by ``check_patch``
   (the parser port, then ``git apply --cached`` on a scratch index of the head's
   files), against the baseline of one ``git apply --check`` in a checkout, in the same
   process. Target: a few times the baseline (it is one git process, plus the index).
2. The differential test's loop (tests/github/test_patch_differential.py): CASES
   generated patches (default 2,000), each checked by the guard and by ``git apply
   --index`` in a full checkout, on 4 threads. Target: thousands of cases in seconds.
   The figure depends on the machine's load: each case starts one or two git processes.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from specmill.github.patch_effect import ScratchRepository  # noqa: E402
from specmill.github.patch_tree import local_tree  # noqa: E402
from specmill.github.patchguard import check_patch  # noqa: E402
from tests.github import test_patch_differential as differential  # noqa: E402
from tests.github.patch_cases import RECIPE_BYTES, build_patch  # noqa: E402

OUTPUTS = [f"src/pkg/m{i}.py" for i in range(3)]


def git(root: Path, *args: str, data: bytes = b"") -> str:
    done = subprocess.run(["git", *args], cwd=root, input=data, capture_output=True, check=True)
    return done.stdout.decode()


def module_patch(root: Path) -> str:
    git(root, "init", "--quiet")
    for path in OUTPUTS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("".join(f"line {n}\n" for n in range(200)), encoding="utf-8")
    git(root, "add", "--all")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base")
    for path in OUTPUTS:
        text = (root / path).read_text(encoding="utf-8").replace("line 100\n", "changed\n")
        (root / path).write_text(text, encoding="utf-8")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qam", "regen")
    patch = git(root, "format-patch", "--stdout", "HEAD~1")
    git(root, "reset", "--quiet", "--hard", "HEAD~1")
    return patch


def timed(what: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        what()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def guard_cost(folder: Path) -> None:
    root = folder / "repo"
    root.mkdir()
    patch = module_patch(root)
    head = git(root, "rev-parse", "HEAD").strip()
    baseline = timed(lambda: git(root, "apply", "--check", "-", data=patch.encode()), 30)
    with ScratchRepository() as scratch:
        guard = timed(
            lambda: check_patch(
                patch, set(OUTPUTS), (), lambda p: local_tree(root, head, p), scratch
            ),
            30,
        )
    print(f"one module's patch: git apply --check {baseline:.1f} ms, check_patch {guard:.1f} ms "
          f"({guard / baseline:.1f}x)")  # fmt: skip


def differential_rate(folder: Path, cases: int) -> None:
    base = differential.make_base(folder / "base")
    rng = random.Random(19)
    patches = [build_patch(bytes(rng.randrange(256) for _ in range(RECIPE_BYTES)))
               for _ in range(cases)]  # fmt: skip
    local, made = threading.local(), []

    def scratch() -> ScratchRepository:
        if not hasattr(local, "scratch"):
            local.scratch = ScratchRepository()
            made.append(local.scratch)
        return local.scratch  # type: ignore[no-any-return]

    started = time.perf_counter()
    with ThreadPoolExecutor(differential.WORKERS) as pool:
        found = list(pool.map(
            lambda item: differential.compare(base, item[1], folder / f"c{item[0]}", scratch()),
            enumerate(patches),
        ))  # fmt: skip
    elapsed = time.perf_counter() - started
    for repository in made:
        repository.close()
    wrong = sum(1 for said, _ in found if said is not None)
    print(f"differential: {cases} cases in {elapsed:.1f} s ({cases / elapsed:.0f}/s), "
          f"{wrong} disagreement(s); load average {os.getloadavg()[0]:.1f}")  # fmt: skip


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as folder:
        guard_cost(Path(folder))
        differential_rate(Path(folder), cases)


if __name__ == "__main__":
    main()
