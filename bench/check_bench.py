"""The hot paths next to their yardsticks: check, affected, the hand-edit hook, imports.

Builds one repository of N modules (one spec and one ~4 KB generated output each) in a
temporary folder and times, in the same run, as whole processes, warm, interleaved
(A B A B ...), best of several, with the goals of issue 24:

1. ``specmill check`` against ``sha256sum`` over the same spec and output files
   (goal <= 2x);
2. ``specmill affected --base main`` on a branch that changed one spec, against
   ``git diff --name-only main...`` (goal <= 50x), on the same N modules unless
   ``--affected-modules`` says otherwise;
3. ``specmill-hook-no-hand-edits`` on one staged, regenerated output, run as pre-commit
   runs it (its own ``xargs``), against pre-commit-hooks' ``check-added-large-files`` on
   the same file (goal <= 1.1x);
4. what ``check``, ``status``, ``affected``, ``lint`` and the hook load: the wall time of
   ``<command> --help`` next to ``python -c pass`` (timed round-robin), the import time
   ``python -X importtime`` reports for a real run of the command (all imports, and the
   outermost ``specmill.*`` modules with what they import), and which heavy packages it
   imports (the list the hot paths should leave empty).

Everything runs from the interpreter's own bin folder (the project's venv): ``specmill``,
the hook, ``check-added-large-files`` (dev extras) and ``sha256sum``/``git`` from PATH.

Usage: python bench/check_bench.py [--modules 5000] [--repeat 5] [--affected-modules M]
       python bench/check_bench.py --quick     (a smoke run: 40 modules, 2 repeats)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from specmill.core.header import stamp
from specmill.core.project import load_project

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hook_bench  # a sibling script: pre-commit's way of running a hook

BODY_LINE = "def function_{i}_{n}(value: int) -> int:\n    return value * {n} + {i}\n\n"
BIN = Path(sys.executable).parent
HOOK = "specmill-hook-no-hand-edits"
BASELINE_HOOK = "check-added-large-files"
GOAL_CHECK, GOAL_AFFECTED, GOAL_HOOK = 2.0, 50.0, 1.1
# What check, status, affected, lint and the hook should not import (issue 24, item 2).
HEAVY = (
    "pydantic",
    "openai",
    "github",
    "git",
    "jinja2",
    "rich",
    "specmill.engine",
    "specmill.llm",
    "specmill.github",
)
HEAVY_NAMES = {
    "github": "github (PyGithub)",
    "git": "git (GitPython)",
}


@dataclass
class Module:
    id: str
    spec: str
    output: str
    inputs: str


def build_repository(root: Path, modules: int) -> list[Module]:
    """A committed repository on ``main`` of ``modules`` specs and their outputs."""
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
    built = []
    for spec in project.specs:
        module = Module(spec.id, spec.path, spec.outputs[0], project.inputs_hash(spec))
        write_output(root, module, body(spec.id))
        built.append(module)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    commit(root, "init")
    return built


def body(seed: str) -> str:
    return "".join(BODY_LINE.format(i=seed, n=n) for n in range(64))[:4096]


def write_output(root: Path, module: Module, text: str) -> None:
    out = root / module.output
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        stamp(text, module.output, module=module.id, spec=module.spec, inputs=module.inputs)
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def commit(root: Path, message: str) -> None:
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qam", message)


def branch_changing_one_spec(root: Path, spec: str) -> None:
    """Branch ``feature`` off main, with one commit that adds a requirement to ``spec``."""
    git(root, "switch", "--quiet", "-c", "feature")
    path = root / spec
    path.write_text(path.read_text() + "- **R2** also divides.\n")
    commit(root, "R2")


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        sys.exit(f"{name} is not in {BIN}: install the dev extras (pip install -e '.[dev]')")
    return found


# --- timing -------------------------------------------------------------------------


def process(command: Sequence[str], cwd: Path, expect: int = 0) -> Callable[[], float]:
    """One timed run of ``command`` as a whole process; exits the bench if it fails."""

    def run() -> float:
        start = time.perf_counter()
        result = subprocess.run(list(command), cwd=cwd, capture_output=True)
        elapsed = time.perf_counter() - start
        if result.returncode != expect:
            sys.exit(
                f"{' '.join(command[:3])}... exited {result.returncode}, not {expect}: "
                f"{(result.stdout + result.stderr).decode(errors='replace')[-2000:]}"
            )
        return elapsed

    return run


@dataclass
class Pair:
    """A against B, interleaved: best of each, and the median of the pairwise ratios."""

    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)

    @property
    def best_a(self) -> float:
        return min(self.a)

    @property
    def best_b(self) -> float:
        return min(self.b)

    @property
    def ratio(self) -> float:
        return self.best_a / self.best_b

    @property
    def median_ratio(self) -> float:
        return statistics.median(x / y for x, y in zip(self.a, self.b, strict=True))


def pair(a: Callable[[], float], b: Callable[[], float], repeat: int) -> Pair:
    a()  # warm the file system cache, the .pyc files and specmill's own caches
    b()
    result = Pair()
    for _ in range(repeat):
        result.a.append(a())
        result.b.append(b())
    return result


def report_pair(title: str, name_a: str, name_b: str, result: Pair, goal: float) -> None:
    met = "met" if result.ratio <= goal else "NOT MET"
    print(title)
    print(f"  {name_a:<34}{result.best_a * 1000:9.1f} ms")
    print(f"  {name_b:<34}{result.best_b * 1000:9.1f} ms")
    print(
        f"  ratio (best / best)               {result.ratio:9.2f}x   goal <= {goal:g}x: {met}"
        f"   (median of pairs {result.median_ratio:.2f}x)"
    )


# --- imports --------------------------------------------------------------------------


@dataclass
class Node:
    """One line of ``python -X importtime``: a module, its cumulative time, what it imported."""

    name: str
    depth: int
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


def parse_importtime(stderr: str) -> list[Node]:
    """The import tree of ``-X importtime`` output (children are printed before parents)."""
    stack: list[Node] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        name = fields[2].rstrip()
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        node = Node(stripped.strip(), depth, int(fields[0]), int(fields[1]))
        while stack and stack[-1].depth > depth:
            node.children.insert(0, stack.pop())
        stack.append(node)
    return stack


def outermost(roots: list[Node], package: str) -> list[Node]:
    """The imports of ``package`` (or its submodules) not made from inside ``package``."""
    found: list[Node] = []
    for node in roots:
        if node.name == package or node.name.startswith(package + "."):
            found.append(node)
        else:
            found += outermost(node.children, package)
    return found


@dataclass
class Imports:
    total_us: int
    specmill_us: int
    heavy: dict[str, int]  # package -> microseconds of its outermost imports
    exit_code: int
    slowest: list[tuple[str, int]]  # the specmill modules that cost most in themselves


def walk(roots: list[Node]) -> list[Node]:
    return [found for node in roots for found in (node, *walk(node.children))]


def measure_imports(command: Sequence[str], cwd: Path, repeat: int) -> Imports:
    """``python -X importtime`` on a real run of ``command``: the run with the least import time."""
    runs = []
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", *command], cwd=cwd, capture_output=True, text=True
        )
        roots = parse_importtime(result.stderr)
        heavy = {
            package: sum(node.cumulative_us for node in outermost(roots, package))
            for package in HEAVY
        }
        runs.append(
            Imports(
                total_us=sum(node.cumulative_us for node in roots),
                specmill_us=sum(node.cumulative_us for node in outermost(roots, "specmill")),
                heavy={package: us for package, us in heavy.items() if outermost(roots, package)},
                exit_code=result.returncode,
                slowest=sorted(
                    (
                        (node.name, node.self_us)
                        for node in walk(roots)
                        if node.name.split(".")[0] == "specmill"
                    ),
                    key=lambda item: -item[1],
                )[:4],
            )
        )
    return min(runs, key=lambda imports: imports.total_us)


@dataclass
class Loading:
    name: str
    help_command: list[str]
    imports: Imports
    help_s: float = 0.0


def measure_loading(
    name: str, script: str, args: Sequence[str], help_args: Sequence[str], cwd: Path, repeat: int
) -> Loading:
    """The imports of a real run now (they depend on the repository's state); --help later."""
    return Loading(name, [script, *help_args], measure_imports([script, *args], cwd, repeat))


def time_help(loadings: list[Loading], cwd: Path, repeat: int) -> float:
    """Each command's --help and ``python -c pass``, round-robin (drift hits all alike);
    returns the floor, ``python -c pass``."""
    runs = [process([sys.executable, "-c", "pass"], cwd)]
    runs += [process(loading.help_command, cwd) for loading in loadings]
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for index, run in enumerate(runs):
            times[index].append(run())
    for loading, figures in zip(loadings, times[1:], strict=True):
        loading.help_s = min(figures)
    return min(times[0])


def report_loading(loadings: list[Loading], floor: float) -> None:
    print(
        "imports: wall time of '<command> --help' (best) next to 'python -c pass' "
        f"({floor * 1000:.1f} ms), and -X importtime on a real run"
    )
    print(
        f"  {'command':<16}{'--help':>9}{'- floor':>9}{'imports':>10}{'specmill.*':>12}"
        "   heavy packages imported (goal: none)"
    )
    for loading in loadings:
        imports = loading.imports
        heavy = (
            ", ".join(
                f"{HEAVY_NAMES.get(package, package)} {us / 1000:.1f} ms"
                for package, us in imports.heavy.items()
            )
            or "none"
        )
        code = "" if imports.exit_code == 0 else f"  (exit {imports.exit_code})"
        print(
            f"  {loading.name:<16}{loading.help_s * 1000:7.1f}ms"
            f"{(loading.help_s - floor) * 1000:7.1f}ms"
            f"{imports.total_us / 1000:8.1f}ms{imports.specmill_us / 1000:10.1f}ms   {heavy}{code}"
        )
        slowest = ", ".join(f"{name} {us / 1000:.1f}" for name, us in imports.slowest)
        print(f"  {'':<16}slowest specmill modules, own time in ms: {slowest}")
    dirty = [loading.name for loading in loadings if loading.imports.heavy]
    verdict = "met" if not dirty else f"NOT MET ({', '.join(dirty)})"
    print(f"  goal: no heavy package on these hot paths: {verdict}")


# --- the run -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=5000)
    parser.add_argument(
        "--affected-modules",
        type=int,
        help="time affected on a repository of this many modules (default: the same N)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 modules, 2 runs")
    args = parser.parse_args()
    if args.quick:
        args.modules, args.repeat = min(args.modules, 40), min(args.repeat, 2)
    if os.environ.get("SPECMILL_NO_CACHE"):
        print("note: SPECMILL_NO_CACHE is set: specmill's caches are bypassed")
    with tempfile.TemporaryDirectory(prefix="specmill-bench-") as tmp:
        run(Path(tmp), args.modules, args.affected_modules, args.repeat)


def run(tmp: Path, modules: int, affected_modules: int | None, repeat: int) -> None:
    root = tmp / "repo"
    start = time.perf_counter()
    built = build_repository(root, modules)
    print(f"{modules} modules built in {time.perf_counter() - start:.1f} s; {BIN}")
    cli = tool("specmill")
    hook_bench.compile_specmill(BIN)
    loadings = []

    # 1. check against sha256sum, on main
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts]
    listing = tmp / "files"
    listing.write_text("\0".join(os.path.relpath(f, root) for f in files))
    result = pair(
        process([cli, "check"], root),
        process(["sh", "-c", f"xargs -0 sha256sum < '{listing}' > /dev/null"], root),
        repeat,
    )
    size = sum(f.stat().st_size for f in files) / 1e6
    report_pair(
        f"1. check: {modules} modules, {len(files)} files ({size:.1f} MB)",
        "specmill check",
        "sha256sum (same files)",
        result,
        GOAL_CHECK,
    )
    for name, args in (("check", ["check"]), ("status", ["status"]), ("lint", ["lint"])):
        loadings.append(measure_loading(name, cli, args, [*args, "--help"], root, repeat))

    # 2. affected against git diff, on a branch that changed one spec
    where, count = root, modules
    if affected_modules is not None and affected_modules != modules:
        where, count = tmp / "affected", affected_modules
        build_repository(where, count)
    changed = 7 % count
    module_id = f"group{changed % 50}.module{changed}"
    branch_changing_one_spec(where, f"specs/group{changed % 50}/module{changed}.md")
    affected = ["affected", "--base", "main"]
    listed = subprocess.run([cli, *affected], cwd=where, capture_output=True, text=True).stdout
    if listed.split() != [module_id]:  # a fast answer must still be the right one
        sys.exit(f"specmill affected --base main should list {module_id} alone:\n{listed}")
    result = pair(
        process([cli, *affected], where),
        process(["git", "diff", "--name-only", "main..."], where),
        repeat,
    )
    report_pair(
        f"2. affected --base main: {count} modules, one spec changed on the branch",
        "specmill affected --base main",
        "git diff --name-only main...",
        result,
        GOAL_AFFECTED,
    )
    loadings.append(
        measure_loading("affected --base", cli, affected, ["affected", "--help"], where, repeat)
    )

    # 3. the hook on one staged, regenerated output, against check-added-large-files
    module = built[min(11, len(built) - 1)]
    write_output(root, module, body(module.id + "_regenerated"))
    git(root, "add", module.output)
    hook, large = tool(HOOK), tool(BASELINE_HOOK)
    result = pair(
        hook_bench.timer([hook], [module.output], root),
        hook_bench.timer([large], [module.output], root),
        repeat,
    )
    report_pair(
        f"3. hook on 1 staged generated file, as pre-commit runs it ({module.output})",
        HOOK,
        BASELINE_HOOK,
        result,
        GOAL_HOOK,
    )
    loadings.append(
        measure_loading("hook (1 file)", hook, [module.output], ["--help"], root, repeat)
    )

    # 4. what each command loads
    report_loading(loadings, time_help(loadings, root, repeat))


if __name__ == "__main__":
    main()
