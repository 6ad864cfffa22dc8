"""``specmill calibrate``: seed defects into fresh modules and see which verifiers catch them.

Per module: the unmutated outputs must pass their checks (else nothing can be
learnt); each mutant runs the checks in a throwaway worktree of a snapshot (never in
the user's tree), and those the checks kill are the test kill rate. Every configured
verifier then reviews each surviving mutant and ``clean_runs`` copies of the
unmutated outputs, with the same template, inputs and fresh context as regeneration
(``engine.candidate.verify_each``). Calls go through the run's backend: its budget,
concurrency and retries. Every verdict paid for is scored; a verifier whose call
failed has an error for that item. A budget that runs out ends the reviews not yet
made: the report is partial and says after how many of how many.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from specmill.core.calibration import (
    CalibrationReport,
    ModuleCalibration,
    Review,
    kill_rate,
    score_verifiers,
    total,
)
from specmill.core.config import CalibrationConfig, Endpoint
from specmill.core.header import split_header
from specmill.core.project import Project
from specmill.core.records import CheckResult, Plan, RunRecord, Verdict
from specmill.core.spec import Spec
from specmill.core.status import ModuleStatus
from specmill.engine.agents import key_env_of, verifier_names
from specmill.engine.candidate import verify_each
from specmill.engine.checks import OUTPUT_CHARS
from specmill.engine.context import Progress, RunContext, parallel
from specmill.engine.inputs import Brief, clip, gather
from specmill.engine.mutants import Mutant, mutable_outputs, seed_mutants
from specmill.engine.provenance import utc_now
from specmill.engine.run import start_run
from specmill.engine.runstore import save_run
from specmill.engine.sensitivity import check_commands, checks_in, probe
from specmill.engine.standalone import last_plan
from specmill.errors import SpecmillError
from specmill.llm.backend import ChatBackend
from specmill.llm.errors import BudgetExceeded
from specmill.repo import Repo
from specmill.secret_file import secret

T = TypeVar("T")
UNREACHED = "the budget ran out before this module"


@dataclass
class CalibrationOutcome:
    record: RunRecord
    report: CalibrationReport
    folder: Path | None = None


@dataclass
class _Run:
    ctx: RunContext
    config: CalibrationConfig
    reviews: list[Review] = field(default_factory=list)
    exhausted: str | None = None  # the budget's message, once it ran out
    lock: threading.Lock = field(default_factory=threading.Lock)


def bounded(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """``parallel`` with at most ``workers`` tasks at once (check processes are CPU-bound)."""
    gate = threading.Semaphore(max(1, workers))

    def gated(task: Callable[[], T]) -> T:
        with gate:
            return task()

    return parallel([functools.partial(gated, t) for t in tasks])


def _header_lines(files: dict[str, str]) -> dict[str, int]:
    """Lines up to the end of each file's header: never mutated."""
    lines = {}
    for path, text in files.items():
        split = split_header(text, path)
        header = split.header
        lines[path] = split.header_line + header.size - 1 if header and split.header_line else 0
    return lines


def _checks(run: _Run, spec: Spec, files: dict[str, str]) -> list[CheckResult]:
    ctx = run.ctx
    commands = check_commands(spec, ctx.project.config)
    if not commands:
        return []
    ctx.checkpoint()
    with ctx.worktrees.checkout(files) as tree:
        return checks_in(ctx, commands, tree)


def _review(
    run: _Run,
    spec: Spec,
    brief: Brief,
    plan: Plan | None,
    files: dict[str, str],
    checks: list[CheckResult],
    mutant: Mutant | None,
) -> Review | None:
    """Every verifier on one item: the verdicts paid for (a failed call is an error
    verdict); None when the budget let no verifier review it."""
    if run.exhausted:
        return None
    run.ctx.checkpoint()
    shown = dict(files)
    if mutant is not None:
        shown[mutant.path] = mutant.text
    given = verify_each(run.ctx, spec, brief, plan, shown, checks, attempt=1)
    names = verifier_names(run.ctx.project.config.models.verifiers)
    verdicts: list[Verdict] = []
    for name, item in zip(names, given, strict=True):
        if isinstance(item, BudgetExceeded):
            with run.lock:
                run.exhausted = run.exhausted or str(item)
        elif isinstance(item, Verdict):
            verdicts.append(item)
        else:  # the endpoint failed after its retries: no review from this verifier
            summary = str(item).splitlines()[0]
            verdicts.append(Verdict(verifier=name, verdict="error", summary=summary))
    if not verdicts:
        return None
    if mutant is None:
        return Review(spec.id, verdicts)
    return Review(spec.id, verdicts, mutant.path, mutant.line)


def calibrate_module(run: _Run, spec: Spec) -> ModuleCalibration:
    ctx, project = run.ctx, run.ctx.project
    result = ModuleCalibration(module=spec.id)
    files: dict[str, str] = {}
    for path in spec.outputs:
        text = project.read(path)
        if text is None:
            result.skipped = f"{path} does not exist"
            return result
        files[path] = text
    targets = mutable_outputs(files)
    mutants = seed_mutants(targets, run.config.mutants, run.config.seed, _header_lines(targets))
    result.seeded = len(mutants)
    result.discarded = sum(1 for m in mutants if m.discarded)
    if not mutants:
        result.skipped = "no place to seed a defect in its outputs (test files are not mutated)"
        return result
    commands = check_commands(spec, project.config)
    if commands:
        ctx.progress.stage(spec.id, "probing its checks on sabotaged outputs")
    result.insensitive_checks = probe(ctx, spec, commands, {}).insensitive
    ctx.progress.stage(spec.id, "checks on the unmutated outputs")
    baseline = _checks(run, spec, files)
    if not all(c.passed for c in baseline):
        failed = [c for c in baseline if not c.passed]
        result.skipped = "its checks fail on the unmutated outputs: " + ", ".join(
            c.command for c in failed
        )
        shown = "\n".join(f"$ {c.command}\n{c.output}" for c in failed)
        result.failed_check_output = clip(shown, OUTPUT_CHARS)
        return result
    live = [m for m in mutants if not m.discarded]
    # Checks that cannot fail would let every mutant through: they are not run on them.
    sensitive = [c for c in commands if c not in result.insensitive_checks]
    ctx.progress.stage(spec.id, f"checks on {len(live)} mutant(s)")
    checked = bounded(
        [functools.partial(_checks, run, spec, {**files, m.path: m.text}) for m in live],
        workers=os.cpu_count() or 2,
    ) if sensitive else [[] for _ in live]  # fmt: skip
    survivors = [(m, c) for m, c in zip(live, checked, strict=True) if all(x.passed for x in c)]
    result.killed_by_checks = len(live) - len(survivors)
    result.reviewed = len(survivors)
    result.test_kill_rate = kill_rate(result) if sensitive else None
    brief = gather(project, spec, project.read)
    plan = last_plan(project, Repo(project.root), spec.outputs[0], spec.id)
    items = [functools.partial(_review, run, spec, brief, plan, files, c, m) for m, c in survivors]
    items += [
        functools.partial(_review, run, spec, brief, plan, files, baseline, None)
        for _ in range(run.config.clean_runs)
    ]
    ctx.progress.stage(
        spec.id, f"verifying {len(survivors)} mutant(s), {run.config.clean_runs} clean"
    )
    reviews = [r for r in parallel(items) if r is not None] if items else []
    with run.lock:
        run.reviews += reviews
    result.reviews = sum(len(r.verdicts) for r in reviews)
    result.reviews_planned = len(items) * len(ctx.project.config.models.verifiers)
    ctx.progress.stage(
        spec.id,
        f"calibrated: {result.killed_by_checks} killed by the checks,"
        f" {result.reviews} of {result.reviews_planned} review(s)",
    )
    return result


def _partial(run: _Run, modules: Sequence[ModuleCalibration]) -> str | None:
    """Why the report is incomplete: the budget ran out, after how many reviews."""
    if not run.exhausted:
        return None
    done, planned = sum(m.reviews for m in modules), sum(m.reviews_planned for m in modules)
    unreached = sum(1 for m in modules if m.skipped == UNREACHED)
    return f"the budget ran out after {done} of {planned} reviews" + (
        f" ({unreached} module(s) not reached)" if unreached else ""
    )


def calibrate(
    project: Project,
    repo: Repo,
    backend: ChatBackend,
    modules: Sequence[str],
    settings: CalibrationConfig,
    *,
    progress: Progress | None = None,
) -> CalibrationOutcome:
    """Calibrate the verifiers on ``modules`` (fresh ones); save the run record."""
    endpoints = require_verifiers(project)
    require_keys(project)
    specs = [project.spec(m) for m in modules]
    record, calls, worktrees, ctx = start_run(project, repo, backend, "calibrate", progress)
    run = _Run(ctx, settings)
    per_module: list[ModuleCalibration] = []
    try:
        for spec in specs:
            if run.exhausted:
                skipped = ModuleCalibration(module=spec.id, skipped=UNREACHED)
                per_module.append(skipped)
                continue
            per_module.append(calibrate_module(run, spec))
    except BaseException:
        ctx.cancel.set()  # Ctrl-C, or a bug: stop the workers, kill the checks
        ctx.groups.kill_all()
        raise
    finally:
        worktrees.close()
    scores, agreement = score_verifiers(verifier_names(endpoints), run.reviews, settings.min_recall)
    record.calls, record.finished_at = calls.records, utc_now()
    report = CalibrationReport(
        modules=[m.module for m in per_module if m.skipped is None],
        mutants=total(per_module),
        verifiers=scores,
        agreement=agreement,
        calls=len(record.calls),
        tokens=record.tokens,
        cost_usd=round(record.cost_usd, 6),
        seed=settings.seed,
        min_recall=settings.min_recall,
        per_module=per_module,
        partial=_partial(run, per_module),
    )
    record.calibration = report
    folder = save_run(project.root, record, calls.transcripts)
    return CalibrationOutcome(record, report, folder)


def require_verifiers(project: Project) -> list[Endpoint]:
    endpoints = project.config.models.verifiers
    if not endpoints:
        raise SpecmillError(
            "no verifiers are configured: there is nothing to calibrate",
            path="specmill.toml",
            hint="add models under models.verifiers",
        )
    return endpoints


def require_keys(project: Project) -> None:
    """Stop before anything else when a verifier has no key and OpenAI needs one:
    otherwise every review would fail, one call at a time."""
    models = project.config.models
    if models.backend != "openai":
        return
    from specmill.llm.endpoints import DEFAULT_BASE_URL, resolve_base_url

    names = verifier_names(models.verifiers)
    for name, endpoint in zip(names, models.verifiers, strict=True):
        key_env = key_env_of(endpoint, models)
        if resolve_base_url(models, endpoint.base_url) == DEFAULT_BASE_URL and not secret(key_env):
            raise SpecmillError(
                f"no API key for verifier {name}: the environment variable {key_env} is"
                " not set, and OpenAI needs one; nothing was calibrated",
                hint=f"export {key_env}=…, or point models.base_url (or OPENAI_BASE_URL) at"
                " a server that needs none; `specmill doctor` checks every role",
            )


def calibration_targets(
    project: Project, statuses: Sequence[ModuleStatus], named: Sequence[str]
) -> list[str]:
    """Named modules (each must be fresh), else every fresh module, in dependency order."""
    assert project.graph is not None
    by_module = {s.module: s for s in statuses}
    for module in named:
        project.spec(module)  # unknown names fail here, listing the known ones
        status = by_module[module]
        if not status.fresh:
            states = ", ".join(sorted({o.state for o in status.outputs if o.state != "fresh"}))
            raise SpecmillError(
                f"{module} is not fresh ({states}): calibration needs the outputs its"
                " spec generated, unchanged",
                path=status.spec,
                hint=f"run `specmill regen {module}` first, or name fresh modules",
            )
    order = [m for m in project.graph.order() if m in by_module]
    wanted = set(named) if named else {m for m in order if by_module[m].fresh}
    targets = [m for m in order if m in wanted]
    if not targets:
        raise SpecmillError(
            "no module is fresh: there is no generated code to seed defects into",
            hint="run `specmill regen` first; `specmill status` shows each module's state",
        )
    return targets
