"""How fast is specmill-no-hand-edits, next to pre-commit-hooks' check-added-large-files?

Builds a throwaway repository of N modules (a committed spec each, and its generated
output, new), and N new hand-written files; for each case it stages exactly the files
checked, as a commit of them would. Then it times, in the same run and interleaved,
whole processes run through pre-commit's own ``xargs`` (so that 1,000 files are split
over processes exactly as pre-commit splits them):

- ``python -c pass``: the interpreter's floor;
- ``check-added-large-files FILES`` (pre-commit-hooks);
- ``specmill-hook-no-hand-edits FILES``: the entry ``.pre-commit-hooks.yaml`` declares;

on 1 file and on N files, generated and hand-written. It prints the best and the median
of the rounds, and the ratios to check-added-large-files (goal: <= 1.1x on 1 file).
``bench/check_bench.py`` times the 1-file case too, in its N-module repository.

By default both hooks run from a fresh virtualenv, as pre-commit installs a hook
repository: this checkout pip-installed (not editable; without its dependencies, which
the fast path must not need) and pre-commit-hooks. ``--bin DIR`` uses another
environment's bin folder instead (e.g. ``.venv/bin``).

Usage: python bench/hook_bench.py [--files 1000] [--rounds 21] [--bin DIR]
       python bench/hook_bench.py --quick --bin .venv/bin   (a smoke run: 10 files, 3 rounds)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

from pre_commit import xargs
from pre_commit.lang_base import target_concurrency

from specmill.core.header import stamp

CHECKOUT = Path(__file__).resolve().parents[1]
HOOK = "specmill-hook-no-hand-edits"
BASELINE = "check-added-large-files"
BODY = "def function_{n}(value: int) -> int:\n    return value * {n}\n\n\n"
TARGET = 1.1  # issue 24


def build_environment(folder: Path) -> Path:
    """A virtualenv with this checkout and pre-commit-hooks installed, as pre-commit does."""
    venv.create(folder, with_pip=True)
    bin_dir = folder / ("Scripts" if sys.platform == "win32" else "bin")
    wheels = folder / "wheels"
    pip = [str(bin_dir / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(CHECKOUT)], check=True)
    wheel = next(wheels.glob("specmill-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", str(wheel), "pre-commit-hooks"], check=True)
    return bin_dir


def build_repository(root: Path, count: int) -> tuple[list[str], list[str]]:
    """N modules with committed specs, their outputs, and N hand-written files."""
    _write(root / "specmill.toml", "[specmill]\n")
    generated, written = [], []
    for i in range(count):
        spec, output = f"specs/group{i % 20}/module{i}.md", f"src/group{i % 20}/module{i}.py"
        _write(root / spec, f"---\noutputs:\n  - {output}\n---\n# Module {i}\n- **R1** Doubles.\n")
        body = "".join(BODY.format(n=n) for n in range(30))
        module = f"group{i % 20}.module{i}"
        text = stamp(body, output, module=module, spec=spec, inputs="sha256:" + "0" * 64)
        _write(root / output, text)
        _write(root / f"lib/group{i % 20}/helper{i}.py", body)
        generated.append(output)
        written.append(f"lib/group{i % 20}/helper{i}.py")
    _git(root, "init", "--quiet")
    _git(root, "add", "specmill.toml", "specs")
    _git(root, "-c", "user.name=b", "-c", "user.email=b@b.invalid", "commit", "-qm", "specs")
    return generated, written


def stage_only(root: Path, files: list[str]) -> None:
    """A commit of exactly ``files``, all new: the files both hooks look at."""
    _git(root, "reset", "--quiet")
    subprocess.run(
        ["git", "add", "--pathspec-from-file=-"],
        cwd=root,
        check=True,
        input="\n".join(files).encode(),
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def timer(command: list[str], files: list[str], cwd: Path) -> Callable[[], float]:
    """One timed run of ``command FILES`` as pre-commit runs a hook on them."""

    def run() -> float:
        start = time.perf_counter()
        code, out = xargs.xargs(
            tuple(command), files, target_concurrency=target_concurrency(), cwd=str(cwd)
        )
        elapsed = time.perf_counter() - start
        if code != 0:
            sys.exit(f"{command[0]} failed ({code}): {out.decode(errors='replace')[-2000:]}")
        return elapsed

    return run


def compile_specmill(bin_dir: Path) -> None:
    """Byte-compile the specmill that ``bin_dir`` runs, as pip does when it installs.

    An editable install run under ``PYTHONDONTWRITEBYTECODE=1`` (set on some machines)
    has no ``.pyc`` files: every run would compile specmill from source (~20 ms, measured),
    while the pip-installed baselines and pre-commit's own installs start compiled.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    script = (
        "import compileall, os, specmill;"
        " compileall.compile_dir(os.path.dirname(specmill.__file__), quiet=1)"
    )
    subprocess.run([str(bin_dir / "python"), "-c", script], env=env, check=True)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set: specmill was byte-compiled once before timing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--bin", type=Path, help="bin folder with both hooks installed")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 files, 3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.files, args.rounds = min(args.files, 10), min(args.rounds, 3)
    with tempfile.TemporaryDirectory(prefix="hook-bench-") as temporary:
        folder = Path(temporary)
        bin_dir = args.bin.absolute() if args.bin else build_environment(folder / "env")
        compile_specmill(bin_dir)
        generated, written = build_repository(folder / "repo", args.files)
        commands = {
            "python -c pass": [str(bin_dir / "python"), "-c", "pass"],
            BASELINE: [str(bin_dir / BASELINE)],
            HOOK: [str(bin_dir / HOOK)],
        }
        cases = {
            "1 generated": generated[:1],
            f"{args.files} generated": generated,
            "1 hand-written": written[:1],
            f"{args.files} hand-written": written,
        }
        results = {}
        for case, files in cases.items():
            stage_only(folder / "repo", files)
            timers = {name: timer(cmd, files, folder / "repo") for name, cmd in commands.items()}
            for run in timers.values():
                run()  # warm the file system cache and the .pyc files
            times: dict[str, list[float]] = {name: [] for name in timers}
            for _ in range(args.rounds):
                for name, run in timers.items():
                    times[name].append(run())
            results[case] = times
        report(results, args.rounds, bin_dir)


def report(results: dict[str, dict[str, list[float]]], rounds: int, bin_dir: Path) -> None:
    print(f"wall time in ms, best / median of {rounds} interleaved rounds ({bin_dir})")
    print(f"{'files':<18}{'python -c pass':>18}{BASELINE:>26}{HOOK:>30}{'ratio':>16}")
    verdict = ""
    for case, times in results.items():
        best = {name: min(values) * 1000 for name, values in times.items()}
        median = {name: statistics.median(values) * 1000 for name, values in times.items()}
        cells = [f"{best[name]:.1f} / {median[name]:.1f}" for name in times]
        ratio_best, ratio_median = best[HOOK] / best[BASELINE], median[HOOK] / median[BASELINE]
        ratios = f"{ratio_best:.2f}x / {ratio_median:.2f}x"
        print(f"{case:<18}{cells[0]:>18}{cells[1]:>26}{cells[2]:>30}{ratios:>16}")
        if case == "1 generated":
            met = "met" if ratio_best <= TARGET else "NOT MET"
            verdict = f"goal: 1 generated file <= {TARGET}x {BASELINE} (best): {met}"
    print(verdict)


if __name__ == "__main__":
    main()
