"""One regeneration run: modules in dependency order, concurrently, then the result.

``regenerate`` is what ``specmill regen`` and the bot call. It snapshots the working
tree, runs each module's pipeline in worktrees of that snapshot (dependencies' new
outputs written in), writes the passing modules' files into the working tree, commits
them with trailers, and saves the run record (git note and ``engine.runstore``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from specmill.core.project import Project
from specmill.core.records import ModuleResult, RunRecord
from specmill.engine.agents import Agents, Calls
from specmill.engine.apply import apply_results, refuse_overwrites
from specmill.engine.checks import check_environment
from specmill.engine.context import NoProgress, Progress, RunContext
from specmill.engine.gitguard import git_state, require_unchanged
from specmill.engine.guard import refuse_linked_outputs
from specmill.engine.module import Produced, run_module
from specmill.engine.prompts import PromptLibrary
from specmill.engine.provenance import new_run_id, utc_now
from specmill.engine.report import render_review
from specmill.engine.runstore import save_run
from specmill.engine.scheduler import Schedule
from specmill.engine.verdicts import check_quorum
from specmill.engine.worktrees import Worktrees
from specmill.llm.backend import ChatBackend
from specmill.repo import Repo

MAX_WORKERS = 32  # modules at once; the backend limits concurrent HTTP calls itself


@dataclass
class RunOutcome:
    record: RunRecord
    written: list[str] = field(default_factory=list)
    folder: Path | None = None


def transitive_dependencies(project: Project, module: str) -> list[str]:
    seen: list[str] = []
    stack = list(project.by_id[module].depends_on)
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.append(dep)
            stack.extend(project.by_id[dep].depends_on)
    return seen


def start_run(
    project: Project,
    repo: Repo,
    backend: ChatBackend,
    command: str,
    progress: Progress | None = None,
) -> tuple[RunRecord, Calls, Worktrees, RunContext]:
    """A run's record, call log, worktrees and context; dead runs' worktrees pruned first."""
    record = RunRecord(
        run_id=new_run_id(),
        started_at=utc_now(),
        head=repo.rev_parse("HEAD") if repo.has_commits() else None,
        command=command,
    )
    calls = Calls()
    Worktrees.prune_stale(repo)
    config = project.config
    worktrees = Worktrees(
        repo,
        repo.snapshot(),
        provide=config.check_ignored_paths,
        env=check_environment(os.environ, config),
    )
    agents = Agents(project.config, backend, PromptLibrary(project.root), calls)
    ctx = RunContext(project, agents, worktrees, progress or NoProgress(), run_id=record.run_id)
    return record, calls, worktrees, ctx


def regenerate(
    project: Project,
    repo: Repo,
    backend: ChatBackend,
    modules: Sequence[str],
    *,
    unchanged: Sequence[str] = (),
    progress: Progress | None = None,
    commit: bool = True,
    force: bool = False,
) -> RunOutcome:
    """Regenerate ``modules`` (in dependency order); ``unchanged`` are only reported."""
    specs = {m: project.spec(m) for m in modules}
    check_quorum(project.config)
    inputs = {m: project.inputs_hash(spec) for m, spec in specs.items()}
    outputs = [p for spec in specs.values() for p in spec.outputs]
    refuse_linked_outputs(project.root, outputs)  # before any model call, not at the write
    if not force:
        refuse_overwrites(repo, outputs)
    record, calls, worktrees, ctx = start_run(project, repo, backend, "regen", progress)
    git_before = git_state(project.root)  # before any check runs (engine.gitguard)
    produced: dict[str, Produced] = {}

    def work(module: str) -> ModuleResult:
        files: dict[str, str] = {}
        plans = {}
        for dep in transitive_dependencies(project, module):
            if dep in produced:
                files.update(produced[dep].files)
                plans[dep] = produced[dep].plan
        result, made = run_module(ctx, specs[module], inputs[module], files, plans)
        result.input_digests = project.input_digests(specs[module])
        if made is not None:
            produced[module] = made
        return result

    def skip(module: str, why: str) -> ModuleResult:
        spec = specs[module]
        result = ModuleResult(
            module=module,
            spec=spec.path,
            inputs_hash=inputs[module],
            status="error",
            error=why,
            skipped_because=why,
        )
        ctx.progress.finished(result)
        return result

    schedule = Schedule(
        list(modules),
        {m: specs[m].depends_on for m in modules},
        work,
        passed=lambda r: r.status == "passed",
        skip=skip,
        workers=min(MAX_WORKERS, max(1, len(modules))),
        stop=lambda r: (
            "skipped: the run's budget is exhausted" if r.status == "budget-exceeded" else None
        ),
    )
    try:
        results = schedule.run()
    except BaseException:
        ctx.cancel.set()  # Ctrl-C, or a bug: stop the workers, kill the checks
        ctx.groups.kill_all()
        record.calls, record.finished_at = calls.records, utc_now()
        with contextlib.suppress(Exception):  # the calls were paid for: keep their record
            save_run(project.root, record, calls.transcripts)
        raise
    finally:
        worktrees.close()
    record.modules = [*results.values()]
    for module in unchanged:
        spec = project.spec(module)
        record.modules.append(
            ModuleResult(
                module=module,
                spec=spec.path,
                inputs_hash=project.inputs_hash(spec),
                status="unchanged",
            )
        )
    record.calls = calls.records
    outcome = RunOutcome(record)
    passed = [r for r in results.values() if r.status == "passed"]
    record.finished_at = utc_now()
    try:
        if passed:
            require_unchanged(project.root, git_before)
            files = {p: t for r in passed for p, t in produced[r.module].files.items()}
            outcome.written = apply_results(
                project, repo, record, passed, files, commit=commit, force=force
            )
    finally:
        every_file = {p: t for made in produced.values() for p, t in made.files.items()}
        outcome.folder = save_run(
            project.root, record, calls.transcripts, every_file, render_review(record, project)
        )
    return outcome
