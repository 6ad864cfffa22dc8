"""How fast is `specmill monitor` on real-sized history, next to only reading the records?

Builds a repository of M modules (one spec and one stamped output each, a dependency
graph between them) and N run records (two thirds as local run records, one third as
git notes on commits, a calibration every 50th run), then times, in the same process
(best of several, warm):

- reading every record (local records and notes), the baseline;
- building the site: loading the project and its status, reading the records, the
  view, rendering the page and writing it (what `specmill monitor` does).

Usage: python bench/monitor_bench.py [--runs 1000] [--modules 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from specmill.core.calibration import CalibrationReport, MutantCounts, VerifierScore
from specmill.core.header import stamp
from specmill.core.project import load_project
from specmill.core.records import (
    AttemptRecord,
    CallRecord,
    Finding,
    ModuleResult,
    Plan,
    RunRecord,
    Verdict,
)
from specmill.engine.history import read_history
from specmill.engine.monitor import build_monitor
from specmill.engine.runstore import save_run
from specmill.repo import Repo

TIERS = ("fast", "standard", "strong")
VERIFIERS = ("rev-a", "rev-b")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def build_repository(root: Path, modules: int) -> list[str]:
    root.mkdir(parents=True)
    (root / "specmill.toml").write_text("[specmill]\n")
    ids = []
    for i in range(modules):
        deps = f"depends_on: [m.module{i // 4}]\n" if i >= 4 else ""
        spec = root / "specs" / "m" / f"module{i}.md"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(f"---\noutputs:\n  - src/m/module{i}.py\n{deps}---\n# M{i}\n- **R1** x\n")
        ids.append(f"m.module{i}")
    project = load_project(root)
    for spec in project.specs:
        out = root / spec.outputs[0]
        out.parent.mkdir(parents=True, exist_ok=True)
        body = f"def f{spec.id.replace('.', '_')}() -> int:\n    return 1\n"
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
    git(root, "-c", "user.name=b", "-c", "user.email=b@invalid", "commit", "-qm", "init")
    return ids


def module_result(module: str, rng: random.Random) -> tuple[ModuleResult, list[CallRecord]]:
    attempts = rng.choice((1, 1, 1, 2, 3))
    history, calls = [], [call("planner", module, 1)]
    for n in range(1, attempts + 1):
        last = n == attempts
        passed = last and rng.random() < 0.85
        verdicts = [
            Verdict(
                verifier=v,
                verdict="pass" if passed else rng.choice(("pass", "fail")),
                findings=[]
                if passed
                else [
                    Finding(kind="code-defect", severity="major", message=f"R1 wrong in {module}")
                ],
            )
            for v in VERIFIERS
        ]
        history.append(
            AttemptRecord(attempt=n, tier=TIERS[n - 1], passed=passed, verdicts=verdicts)
        )
        calls += [call("executor", module, n), *(call("verifier", module, n, v) for v in VERIFIERS)]
    plan = Plan(files=[], public_api=[], steps=[], complexity="low", ambiguities=[])
    result = ModuleResult(
        module=module,
        spec=f"specs/m/{module.split('.')[1]}.md",
        inputs_hash="sha256:0",
        status="passed" if history[-1].passed else "failed",
        attempts=attempts,
        tier=TIERS[attempts - 1],  # type: ignore[arg-type]
        history=history,
        verdicts=history[-1].verdicts,
        plan=plan,
        winner=1,
        choice="candidate 1 was the only one",
    )
    return result, calls


def call(role: str, module: str, attempt: int, model: str = "model-x") -> CallRecord:
    return CallRecord(
        role=role,  # type: ignore[arg-type]
        module=module,
        model=model,
        template=f"{role}.j2",
        template_sha256="0" * 64,
        prompt_tokens=1500,
        completion_tokens=400,
        cost_usd=0.004,
        latency_s=2.5,
        attempt=attempt,
        structured_output="json_schema",
    )


def write_history(root: Path, modules: list[str], runs: int) -> None:
    rng = random.Random(7)
    repo = Repo(root)
    head = git(root, "rev-parse", "HEAD")
    for i in range(runs):
        started = f"2026-{1 + i // 100 % 12:02}-{1 + i % 28:02}T{i % 24:02}:00:00+00:00"
        record = RunRecord(run_id=f"20260101-000000-{i:06x}", started_at=started, command="regen")
        if i % 50 == 49:
            score = VerifierScore(
                verifier="rev-a", seeded=8, caught=rng.randint(2, 8), located=1,
                recall=0.5, clean_runs=1, false_blocks=0, flag="ok",
            )  # fmt: skip
            record.command = "calibrate"
            record.calibration = CalibrationReport(
                modules=[modules[0]], mutants=MutantCounts(), verifiers=[score], agreement=[]
            )
        else:
            for module in rng.sample(modules, rng.randint(1, 5)):
                result, calls = module_result(module, rng)
                record.modules.append(result)
                record.calls += calls
        record.finished_at = started.replace(":00:00+", ":03:00+")
        if i % 3 == 2:  # committed: the record travels as a git note
            commit = git(root, "commit-tree", "-p", head, "-m", f"run {i}", f"{head}^{{tree}}")
            record.commit = commit
            repo.add_note(commit, record.model_dump_json(indent=2), "refs/notes/specmill")
        else:
            save_run(root, record)


def best(repeat: int, action: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--modules", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="specmill-monitor-bench-"))
    try:
        root = folder / "repo"
        started = time.perf_counter()
        modules = build_repository(root, args.modules)
        write_history(root, modules, args.runs)
        setup = time.perf_counter() - started
        print(f"setup: {args.modules} modules, {args.runs} runs in {setup:.1f} s")
        repo = Repo(root)
        history = read_history(root, repo)
        assert len(history.records) == args.runs, len(history.records)
        read = best(args.repeat, lambda: read_history(root, Repo(root)))
        out = folder / "site"
        build = best(
            args.repeat,
            lambda: build_monitor(load_project(root), Repo(root), out, spec_base="../repo/"),
        )
        size = (out / "index.html").stat().st_size
        print(
            f"read the {args.runs} records (local and notes): {read:.2f} s (best of {args.repeat})"
        )
        print(
            f"build the site (project, status, records, view, page): {build:.2f} s;"
            f" page {size / 1e6:.1f} MB"
        )
        print(f"ratio build / read: {build / read:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
