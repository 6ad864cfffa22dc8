"""Does the matrix pay on one machine? 16 independent modules: 4 jobs in parallel vs 1 job.

The model server of bench/regen_bench.py (a separate process, 200 ms a call, answers
built for the module the prompt names) serves both runs. A repository of N independent
adopted modules gets a pull request that edits every spec; `specmill affected
--matrix` (with `bot.max_jobs = 4`) groups them into 4 entries.

- matrix: one `specmill bot generate --module …` per entry, each in its own clone and
  its own process, all started at once (as Actions starts the matrix's jobs), then the
  report's local part: read and merge the bundles, apply their patches on a fresh clone
  of the head, one commit with trailers and note (the GitHub calls are not timed).
- one job: one `specmill bot generate` with every module, then the same merge and commit.

Clones are made before the clock starts (every Actions job checks out anyway). Prints
the wall time of each, the model calls each made (every module regenerated once: the
same count), the CPU time of the generate processes (each job pays Python's start-up,
loading the project and its worktrees), and the ratio matrix / one job. On one machine
the jobs share its cores; on Actions each job has a runner of its own, so this is the
matrix's overhead, not its speed-up: one runner already regenerates modules
concurrently (bench/regen_bench.py), and the matrix is for what one runner cannot hold.

Usage: python bench/matrix_bench.py [--delay 0.2] [--modules 16] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import regen_bench
from regen_bench import git, served_calls

ROOT = Path(__file__).resolve().parents[1]
EVENT = ROOT / "tests" / "data" / "github" / "pull_request.opened.json"


def prepare(repo: Path, modules: int, url: str, jobs: int) -> tuple[str, str]:
    """The repository (adopted on the base, every spec edited on the head): base, head."""
    regen_bench.build(repo, modules, url, concurrency=16)
    with (repo / "specmill.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[specmill.bot]\nmax_jobs = {jobs}\n")
    git(repo, "commit", "--quiet", "--amend", "--all", "--no-edit")
    return git(repo, "rev-parse", "HEAD^").strip(), git(repo, "rev-parse", "HEAD").strip()


def event_file(folder: Path, base: str, head: str) -> Path:
    data = json.loads(EVENT.read_text(encoding="utf-8"))
    data["pull_request"]["base"]["sha"] = base
    data["pull_request"]["head"]["sha"] = head
    path = folder / "event.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def clone(repo: Path, path: Path, head: str) -> Path:
    git(repo.parent, "clone", "--quiet", str(repo), str(path))
    git(path, "checkout", "--quiet", "--detach", head)
    git(path, "config", "user.name", "bench")
    git(path, "config", "user.email", "bench@invalid")
    return path


def flow(
    folder: Path, repo: Path, groups: list[list[str]], event: Path, head: str, url: str
) -> dict[str, Any]:
    """Generate each group in its own process and clone, in parallel; merge; commit."""
    from pydantic import SecretStr

    from specmill.github.delivery import Remote
    from specmill.github.events import PullRequestEvent, parse_event
    from specmill.github.matrix import merge_matrix, read_named_bundles
    from specmill.github.matrix_commit import commit_patches

    folder.mkdir()
    clones = [clone(repo, folder / f"job-{i}", head) for i in range(len(groups))]
    report_clone = clone(repo, folder / "report", head)
    bundles = folder / "bundles"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "OPENAI_"))
    }
    env.update(
        GITHUB_REPOSITORY="acme/billing",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event),
        BENCH_KEY="bench-no-secret",
        OPENAI_API_KEY="bench-no-secret",  # the verifiers name no key variable of their own
        RUNNER_TEMP=str(folder),
    )
    calls = served_calls(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    processes = []
    for index, (group, path) in enumerate(zip(groups, clones, strict=True)):
        args = [sys.executable, "-m", "specmill", "bot", "generate"]
        args += ["--bundle", str(bundles / f"bundle-{index}")]
        args += [part for module in group for part in ("--module", module)]
        output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        processes.append(subprocess.Popen(args, cwd=path, env=env, **output))
    for process in processes:
        said, _ = process.communicate()
        if os.environ.get("BENCH_VERBOSE"):
            print(f"{time.perf_counter() - started:.2f} s", said)
        if process.returncode != 0:
            sys.exit(f"specmill bot generate failed:\n{said}")
    generated = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    parsed = parse_event("pull_request", json.loads(event.read_text(encoding="utf-8")))
    assert isinstance(parsed, PullRequestEvent)
    merged = merge_matrix(read_named_bundles(bundles), groups)
    assert merged.bundle is not None and merged.bundle.record is not None
    assert not merged.duplicates and not merged.unreported
    remote = Remote(root=report_clone, token=SecretStr(""))
    commit_patches(remote, parsed.target, merged.bundle.record, merged.patches)
    wall = time.perf_counter() - started
    passed = sum(1 for m in merged.bundle.record.modules if m.status == "passed")
    return {
        "jobs": len(groups),
        "wall": wall,
        "generate": generated,
        "merge": wall - generated,
        "calls": served_calls(url) - calls,
        "cpu": cpu,
        "passed": passed,
    }


def describe(name: str, f: dict[str, Any]) -> str:
    return (
        f"{name}: {f['jobs']} job(s), {f['wall']:.2f} s wall (generate {f['generate']:.2f} s,"
        f" merge and commit {f['merge']:.2f} s), {f['calls']} model calls,"
        f" {f['passed']} module(s) passed; CPU of the generate processes {f['cpu']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--modules", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=4, help="bot.max_jobs for the matrix")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, regen_bench.__file__, "--serve", "--delay", str(args.delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
        with tempfile.TemporaryDirectory(prefix="specmill-matrix-bench-") as name:
            folder = Path(name)
            repo = folder / "repo"
            base, head = prepare(repo, args.modules, url, args.jobs)
            event = event_file(folder, base, head)
            code, out = regen_bench.specmill(repo, "affected", "--base", base, "--matrix")
            assert code == 0, out
            groups = [entry["modules"].split() for entry in json.loads(out)["include"]]
            matrix = flow(folder / "matrix", repo, groups, event, head, url)
            every = [module for group in groups for module in group]
            single = flow(folder / "single", repo, [every], event, head, url)
    finally:
        server.terminate()
        server.wait()
    print(f"model latency {args.delay * 1000:.0f} ms a call; {args.modules} independent modules")
    print(describe("matrix ", matrix))
    print(describe("one job", single))
    print(f"ratio matrix / one job: {matrix['wall'] / single['wall']:.2f}")
    print(
        f"({os.cpu_count()} CPU(s) here, load average {os.getloadavg()[0]:.1f}: the jobs share"
        " them, where Actions gives each job a runner of its own)"
    )


if __name__ == "__main__":
    main()
