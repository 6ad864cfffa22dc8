"""``plan`` and ``verify`` on their own: one agent stage for one module, nothing written.

Both record their calls as a run (``engine.runstore``) so ``specmill runs`` shows
what they cost.
"""

from __future__ import annotations

import os

from specmill.core.project import Project
from specmill.core.quorum import module_passes
from specmill.core.records import CheckResult, ModuleResult, Plan, RunRecord
from specmill.core.sensitivity import mark
from specmill.core.verifier_stats import code_digest
from specmill.engine.agents import Agents, Calls
from specmill.engine.candidate import verify
from specmill.engine.checks import check_environment
from specmill.engine.context import RunContext
from specmill.engine.inputs import gather
from specmill.engine.prompts import PromptLibrary
from specmill.engine.provenance import new_run_id, utc_now
from specmill.engine.report import render_review
from specmill.engine.runstore import save_run
from specmill.engine.sensitivity import check_commands, checks_in, probe
from specmill.engine.trace import find_generation, read_generated
from specmill.engine.verdicts import check_quorum, decide
from specmill.engine.worktrees import Worktrees
from specmill.errors import SpecmillError
from specmill.llm.backend import ChatBackend
from specmill.llm.errors import ModelError
from specmill.repo import Repo


def _record(command: str) -> RunRecord:
    return RunRecord(run_id=new_run_id(), started_at=utc_now(), command=command)


def plan_module(project: Project, backend: ChatBackend, module: str) -> tuple[Plan, RunRecord]:
    spec = project.spec(module)
    calls = Calls()
    agents = Agents(project.config, backend, PromptLibrary(project.root), calls)
    record = _record("plan")
    try:
        plan = agents.plan(gather(project, spec, project.read))
        record.modules = [
            ModuleResult(
                module=module,
                spec=spec.path,
                inputs_hash=project.inputs_hash(spec),
                status="unchanged",
                plan=plan,
            )
        ]
    finally:
        record.calls, record.finished_at = calls.records, utc_now()
        save_run(project.root, record, calls.transcripts)
    return plan, record


def last_plan(project: Project, repo: Repo, path: str, module: str) -> Plan | None:
    """The plan of the run that last generated ``path``, from its git note or run folder."""
    text, _, header_line = read_generated(project.root, path)
    found = find_generation(repo, project.root, path, text, header_line, header_line, module)
    return found.module.plan if found.module else None


def verify_module(
    project: Project, repo: Repo, backend: ChatBackend, module: str, *, checks: bool = True
) -> RunRecord:
    """Review the module's outputs as they are (checks in a worktree, then verifiers)."""
    check_quorum(project.config)
    spec = project.spec(module)
    files = {}
    for path in spec.outputs:
        text = project.read(path)
        if text is None:
            raise SpecmillError(
                f"{path} does not exist: nothing to verify", hint=f"specmill regen {module}"
            )
        files[path] = text
    plan = last_plan(project, repo, spec.outputs[0], module)
    calls = Calls()
    agents = Agents(project.config, backend, PromptLibrary(project.root), calls)
    record = _record("verify")
    result = ModuleResult(
        module=module,
        spec=spec.path,
        inputs_hash=project.inputs_hash(spec),
        status="failed",
        files=sorted(files),
        plan=plan,
        code=code_digest(files),
    )
    record.modules = [result]
    worktrees = Worktrees(
        repo,
        repo.snapshot(),
        provide=project.config.check_ignored_paths,
        env=check_environment(os.environ, project.config),
    )
    ctx = RunContext(project, agents, worktrees)
    try:
        commands = check_commands(spec, project.config)
        results: list[CheckResult] = []
        if checks and commands:
            accept = project.config.insensitive_checks == "warn"
            sensitivity = probe(ctx, spec, commands, {})
            with worktrees.checkout() as tree:
                results = mark(checks_in(ctx, commands, tree), sensitivity, accept)
        result.checks = results
        brief = gather(project, spec, project.read)
        try:
            result.verdicts = verify(ctx, spec, brief, plan, files, results, attempt=1)
        except ModelError as exc:  # no key, endpoint down: the checks' results still count
            result.status, result.error = "error", f"the verifiers were skipped: {exc}"
            return record
        decision = decide(result.verdicts, project.config.models.quorum)
        result.findings, result.disagreement = decision.findings, decision.disagreement
        result.dissent, result.votes_needed = decision.dissent, decision.needed
        passed = module_passes(all(c.passed for c in results), decision)
        result.status = "passed" if passed else "failed"
        if not passed:
            failed = [f"{c.command} ({c.outcome})" for c in results if not c.passed]
            result.error = "checks failed: " + ", ".join(failed) if failed else decision.reason
    except SpecmillError as exc:
        result.status, result.error = "error", str(exc)
        raise
    finally:
        ctx.cancel.set()
        ctx.groups.kill_all()  # Ctrl-C, SIGTERM, SIGHUP: no check outlives the run
        worktrees.close()
        record.calls, record.finished_at = calls.records, utc_now()
        save_run(project.root, record, calls.transcripts, review=render_review(record, project))
    return record
