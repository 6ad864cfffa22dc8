"""How fast is `specmill check` on a large repository, next to sha256sum of the same files?

Builds a repository of N modules (one spec and one ~4 KB generated output each) in a
temporary folder, then times, in the same run and as whole processes (warm, best of
several):

- `specmill check` against `sha256sum` over the same spec and output files;
- `specmill affected --base main` on M specs (a branch that changed one spec) against
  `git diff --name-only main...`.

Usage: python bench/check_bench.py [--modules 5000] [--affected-modules 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from specmill.core.header import stamp
from specmill.core.project import load_project

BODY_LINE = "def function_{i}_{n}(value: int) -> int:\n    return value * {n} + {i}\n\n"


def build_repository(root: Path, modules: int) -> None:
    root.mkdir(parents=True)
    (root / "specmill.toml").write_text("[specmill]\n")
    for i in range(modules):
        spec = root / "specs" / f"group{i % 50}" / f"module{i}.md"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(
            f"---\noutputs:\n  - src/group{i % 50}/module{i}.py\n---\n# Module {i}\n\n"
            f"- **R1** `function_{i}_0` multiplies.\n"
        )
    project = load_project(root)
    for spec in project.specs:
        body = "".join(BODY_LINE.format(i=spec.id, n=n) for n in range(64))[:4096]
        out = root / spec.outputs[0]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            stamp(
                body,
                spec.outputs[0],
                module=spec.id,
                spec=spec.path,
                inputs=project.inputs_hash(spec),
            )
        )
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "init")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def best_time(command: list[str], cwd: Path, repeat: int, expect: int = 0) -> float:
    subprocess.run(command, cwd=cwd, capture_output=True)  # warm the caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
        if result.returncode != expect:
            sys.exit(
                f"{' '.join(command[:3])}... exited {result.returncode}: "
                f"{result.stderr.decode()[-2000:]}"
            )
    return min(times)


def specmill() -> list[str]:
    found = shutil.which("specmill", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "bot"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=5000)
    parser.add_argument("--affected-modules", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="specmill-bench-") as tmp:
        root = Path(tmp) / "check"
        build_repository(root, args.modules)
        files = [
            p.as_posix() for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts
        ]
        listing = root / ".files"
        listing.write_text("\0".join(os.path.relpath(f, root) for f in files))
        check = best_time([*specmill(), "check"], root, args.repeat)
        sha = best_time(["sh", "-c", "xargs -0 sha256sum < .files > /dev/null"], root, args.repeat)
        print(
            f"check: {args.modules} modules, {len(files)} files "
            f"({sum(os.path.getsize(f) for f in files) / 1e6:.1f} MB)"
        )
        print(f"  specmill check      {check * 1000:8.1f} ms")
        print(f"  sha256sum           {sha * 1000:8.1f} ms")
        print(f"  ratio               {check / sha:8.2f}x   (target <= 5, stretch <= 2)")

        root = Path(tmp) / "affected"
        build_repository(root, args.affected_modules)
        git(root, "switch", "--quiet", "-c", "feature")
        spec = root / "specs" / "group7" / "module7.md"
        spec.write_text(spec.read_text() + "- **R2** also divides.\n")
        git(root, "-c", "user.name=b", "-c", "user.email=b@invalid", "commit", "-qam", "R2")
        affected = best_time([*specmill(), "affected", "--base", "main"], root, args.repeat)
        diff = best_time(["git", "diff", "--name-only", "main..."], root, args.repeat)
        print(f"affected --base: {args.affected_modules} specs, one changed")
        print(f"  specmill affected   {affected * 1000:8.1f} ms")
        print(f"  git diff --name-only{diff * 1000:8.1f} ms")
        print(f"  ratio               {affected / diff:8.2f}x")


if __name__ == "__main__":
    main()
