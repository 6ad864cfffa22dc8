"""What ``specmill bot run`` and ``bot generate`` do in the checkout for one decision.

Every action reports the checkout's problems (hand edits located on the line that
differs from the pull request's base, stale, missing, orphaned, invalid), the line of
every requirement of every spec (inline comments on spec lines) and the module graph.

- ``check`` only reads the checkout: no model client is ever built, whatever the
  checkout's configuration says (a fork's config could point the key elsewhere).
- ``regenerate`` runs the engine on the affected modules (``base...head`` and inputs
  hashes) or the named ones; the engine commits in the checkout, with trailers and a
  git note; ``specmill.github.delivery`` then moves that commit.
- ``verify`` runs the engine's verifiers on the named modules, or those the pull
  request touched, as they are.

Adoptions (outputs the pull request changed whose header says ``origin=adopted``) go
into the run record, which the summary lists, so they never pass silently.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from specmill import gitcli
from specmill.checkout import collect_problems
from specmill.core.affected import affected_modules, touched_by
from specmill.core.header import parse_header
from specmill.core.problems import HINTS, Problem
from specmill.core.project import Project, find_root, load_project
from specmill.core.records import DiffStat, ModuleResult, RunRecord
from specmill.core.status import first_changed_line, project_status
from specmill.errors import SpecmillError
from specmill.github.app import Findings
from specmill.github.decide import RunDecision
from specmill.github.delivery import Delivered, Remote, await_pull_head, deliver, remote_url
from specmill.github.events import PullTarget

# Actions' own identity: GitHub shows such commits with the Actions avatar.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_REGENERATED = ("stale", "missing")  # what a regeneration of the module answers


@dataclass(frozen=True)
class Span:
    """The pull request in the checkout: ``git diff base...head``."""

    merge_base: str
    changed: frozenset[str]


@dataclass
class CheckoutWork:
    """The ``work`` callable of ``specmill.github.app.run`` and ``twophase.generate``."""

    root: Path | None  # the project root in the checkout; None: found from the cwd
    token: SecretStr  # for delivery's git commands only; empty in the generate phase
    server_url: str  # GITHUB_SERVER_URL (GitHub Enterprise Server aware)
    patch_dir: Path  # where a patch is written ($RUNNER_TEMP)
    bundled: bool = False  # generate: the patch travels in the bundle, nothing is pushed
    github: Callable[[], Any] | None = None  # a PyGithub client, for companion pull requests
    out: TextIO = sys.stdout

    def known_modules(self) -> list[str] | None:
        """The checkout's module ids, for answering a slash command; None if unreadable."""
        try:
            self.root = self.root or find_root()
            project = load_project(self.root, cache=False)
        except SpecmillError:
            return None
        return sorted(spec.id for spec in project.specs)

    def __call__(self, decision: RunDecision) -> Findings:
        # Loaded here, not before: answering /specmill help needs no checkout at all.
        self.root = self.root or find_root()
        project = load_project(self.root, cache=False)
        target = decision.target
        span = pull_span(project.root, target) if target is not None else None
        if decision.action == "check" or not valid(project):
            if decision.action != "check":
                self.say("the specs or the configuration have errors: checks only")
            return self.check(project, span)
        if decision.action == "verify":
            return self.verify(project, decision, span)
        if decision.action == "calibrate":
            return self.calibrate(project, decision)
        if decision.action == "regenerate":
            assert target is not None and span is not None
            return self.regenerate(project, decision, target, span)
        raise ValueError(f"no work for the action {decision.action!r}")

    def say(self, text: str) -> None:
        print(f"specmill: {text}", file=self.out, flush=True)

    def check(self, project: Project, span: Span | None) -> Findings:
        changed = span.changed if span else None
        pending = affected_modules(project, changed) if valid(project) else []
        record = adoption_record(project, span)
        return findings(project, checkout_problems(project, span), record, pending=pending)

    def verify(self, project: Project, decision: RunDecision, span: Span | None) -> Findings:
        from specmill.engine.provenance import new_run_id, utc_now
        from specmill.engine.standalone import verify_module
        from specmill.llm.backend import make_backend
        from specmill.repo import Repo

        problems = checkout_problems(project, span)
        modules = list(decision.modules) or touched_modules(project, span)
        record = RunRecord(run_id=new_run_id(), started_at=utc_now(), command="verify")
        if not modules:
            self.say("no module to verify: the pull request touches none")
            return findings(project, problems, adoption_record(project, span))
        self.say(f"verifying {', '.join(modules)}")
        config = project.config
        backend = make_backend(config.models, config.budget, repo_root=project.root)
        try:
            for module in modules:
                try:
                    one = verify_module(project, Repo(project.root), backend, module)
                except SpecmillError as exc:
                    spec = project.spec(module)
                    failed = ModuleResult(
                        module=module,
                        spec=spec.path,
                        inputs_hash=project.inputs_hash(spec),
                        status="error",
                        error=str(exc),
                    )
                    record.modules.append(failed)
                    continue
                record.modules += one.modules
                record.calls += one.calls
        finally:
            backend.close()
        record.finished_at = utc_now()
        record.adopted = adoptions(project, span)
        record.adopted_diff = adoption_diff(project, span, record.adopted)
        return findings(project, problems, record)

    def calibrate(self, project: Project, decision: RunDecision) -> Findings:
        """The verifiers on seeded defects of the named (or every fresh) module."""
        from specmill.engine.calibrate import calibrate, calibration_targets
        from specmill.engine.progress import PlainProgress
        from specmill.llm.backend import make_backend
        from specmill.repo import Repo

        targets = calibration_targets(project, project_status(project), decision.modules)
        self.say(f"calibrating the verifiers on {', '.join(targets)}")
        config = project.config
        backend = make_backend(config.models, config.budget, repo_root=project.root)
        try:
            outcome = calibrate(
                project,
                Repo(project.root),
                backend,
                targets,
                config.calibration,
                progress=PlainProgress(self.out),
            )
        finally:
            backend.close()
        return findings(project, [], outcome.record)

    def regenerate(
        self, project: Project, decision: RunDecision, target: PullTarget, span: Span
    ) -> Findings:
        problems = checkout_problems(project, span)
        unchanged: list[str] = []
        if decision.exact:
            modules = select_exactly(project, decision.modules, span)
            for module in sorted(set(decision.modules) - set(modules)):
                self.say(f"{module}: not regenerated (fresh, or its hand edit is reported)")
        else:
            modules, unchanged = select(project, decision.modules, span)
        for module in unchanged:
            self.say(f"{module}: fresh, nothing to do")
        if not modules:
            self.say("nothing to regenerate")
            return findings(project, problems, adoption_record(project, span))
        self.say(f"regenerating {', '.join(modules)}")
        url = origin_url(project.root)  # before any check runs: delivery pushes there
        record = self.run_engine(project, modules, unchanged)
        record.base = target.base_sha
        delivered = self.deliver(project, decision, target, record, url)
        if delivered is not None and delivered.head_sha:  # report on the pushed head
            project = load_project(project.root, cache=False)
            span = pull_span(project.root, target, head=delivered.head_sha)
            problems = checkout_problems(project, span)
        attempted = {m.module for m in record.modules}
        problems = [p for p in problems if not (p.kind in _REGENERATED and p.module in attempted)]
        record.adopted = adoptions(project, span)
        record.adopted_diff = adoption_diff(project, span, record.adopted)
        return findings(
            project,
            problems,
            record,
            delivery=delivered.delivery if delivered else None,
            patch=delivered.patch if delivered else None,
            head_sha=delivered.head_sha if delivered else None,
        )

    def run_engine(
        self, project: Project, modules: Sequence[str], unchanged: Sequence[str]
    ) -> RunRecord:
        from specmill.engine.progress import PlainProgress
        from specmill.engine.run import regenerate
        from specmill.llm.backend import make_backend
        from specmill.repo import Repo

        ensure_identity(project.root)
        config = project.config
        backend = make_backend(config.models, config.budget, repo_root=project.root)
        try:
            progress = PlainProgress(sys.stderr)
            repo = Repo(project.root)
            outcome = regenerate(
                project, repo, backend, modules, unchanged=unchanged, progress=progress
            )
        finally:
            backend.close()
        return outcome.record

    def deliver(
        self,
        project: Project,
        decision: RunDecision,
        target: PullTarget,
        record: RunRecord,
        url: str | None = None,
    ) -> Delivered | None:
        from specmill.engine.checks import scrubbed_environment

        if record.commit is None:
            self.say("no module passed: nothing to deliver")
            return None
        mode = "patch" if decision.delivery == "none" else decision.delivery
        gh = self.github() if mode == "pull-request" and self.github is not None else None
        remote = Remote(
            root=project.root,
            token=self.token,
            server_url=self.server_url,
            env=scrubbed_environment(os.environ, project.config),  # git runs no checks, still
            url=url,
        )
        delivered = deliver(
            mode,
            remote,
            target,
            record.commit,
            start_sha=target.head_sha,
            patch_dir=self.patch_dir,
            bundled=self.bundled,
            github=gh,
        )
        self.say(f"delivery {delivered.delivery.mode}: {delivered.delivery.detail}")
        head = delivered.head_sha
        if head and self.github is not None and not await_pull_head(self.github(), target, head):
            self.say(f"GitHub does not show {head[:12]} as the head yet: the report may not post")
        return delivered


def origin_url(root: Path) -> str | None:
    """The checkout's ``origin`` URL as its configuration says, or None without one."""
    try:
        return remote_url(Remote(root=root, token=SecretStr("")))
    except SpecmillError:
        return None


def valid(project: Project) -> bool:
    return not project.errors and project.graph_error is None


def pull_span(root: Path, target: PullTarget, *, head: str | None = None) -> Span:
    """``base...head`` of the pull request; the checkout must be at its head."""
    expected = head or target.head_sha
    actual = gitcli.rev_parse(root, "HEAD")
    if actual != expected:
        raise SpecmillError(
            f"the checkout is at {(actual or 'no commit')[:12]}, but pull request "
            f"#{target.number}'s head is {expected[:12]}",
            hint="check out the head (actions/checkout with `ref:` the head SHA, as in "
            "examples/workflows/specmill.yml); if the pull request moved on, run again",
        )
    if gitcli.rev_parse(root, target.base_sha) is None:
        raise SpecmillError(
            f"the base commit {target.base_sha[:12]} is not in the checkout",
            hint="check out with `fetch-depth: 0`: base...head and the inputs hashes need it",
        )
    found = gitcli.run_git(root, "merge-base", target.base_sha, expected)
    merge_base = found.decode().strip() if found else target.base_sha
    return Span(merge_base, frozenset(gitcli.changed_paths(root, target.base_sha, expected)))


def checkout_problems(project: Project, span: Span | None) -> list[Problem]:
    """``specmill check``'s problems, hand edits located against the pull request's base."""
    return [_hinted(_locate(p, project, span)) for p in collect_problems(project)]


def _locate(problem: Problem, project: Project, span: Span | None) -> Problem:
    if span is None or problem.kind != "hand-edited":
        return problem
    before = gitcli.show(project.root, span.merge_base, problem.path)
    now = project.read(problem.path)
    line = first_changed_line(before, now, problem.path) if before and now else None
    return dataclasses.replace(problem, line=line) if line else problem


def _hinted(problem: Problem) -> Problem:
    return problem if problem.hint else dataclasses.replace(problem, hint=HINTS[problem.kind])


def select(project: Project, named: Sequence[str], span: Span) -> tuple[list[str], list[str]]:
    """The modules to regenerate, in dependency order, and the named ones already fresh.

    Unnamed, a module whose outputs the pull request edited by hand is left alone: its
    hand edit is reported, not overwritten on the author's branch. A fresh dependent
    stays only when one of its dependencies is regenerated.
    """
    from specmill.engine.selection import select_modules

    statuses = project_status(project)
    if named:
        chosen = select_modules(project, statuses, named)
        return chosen.targets, chosen.unchanged
    assert project.graph is not None
    by_module = {s.module: s for s in statuses}
    edited = {
        s.module
        for s in statuses
        if any(o.state in ("hand-edited", "header-missing") for o in s.outputs)
    }
    kept: list[str] = []
    for module in affected_modules(project, span.changed):
        depends = project.graph[module].depends_on
        if module in edited:
            continue
        if by_module[module].fresh and not any(d in kept for d in depends):
            continue
        kept.append(module)
    return kept, []


def select_exactly(project: Project, named: Sequence[str], span: Span) -> list[str]:
    """A matrix job's share: of the named modules, those the pull request's run would
    regenerate (``select``), in dependency order, and never a dependent that is not named.

    A named module whose affected dependency is not named is refused: this job would
    generate it against that dependency's stale outputs, while another job (or none)
    regenerates the dependency.
    """
    assert project.graph is not None
    for module in named:
        project.spec(module)  # unknown names fail here, listing the known ones
    wanted = set(named)
    affected = set(affected_modules(project, span.changed))
    for module in project.graph.order(wanted):
        left_out = sorted(set(project.graph[module].depends_on) & affected - wanted)
        if left_out:
            raise SpecmillError(
                f"module {module!r} depends on {left_out[0]!r}, which this pull request "
                f"affects but which is not among the named modules: {module} would be "
                f"generated against {left_out[0]}'s stale outputs",
                hint=f"name them together (--module {left_out[0]} --module {module}), as "
                "each entry of `specmill affected --matrix` does",
            )
    kept, _ = select(project, (), span)
    return [module for module in kept if module in wanted]


def touched_modules(project: Project, span: Span | None) -> list[str]:
    """Modules whose inputs or outputs the pull request changed, in dependency order."""
    if span is None or project.graph is None:
        return []
    return project.graph.order(
        spec.id for spec in project.specs if touched_by(project, spec, span.changed)
    )


def adoptions(project: Project, span: Span | None) -> list[str]:
    """Outputs the pull request changed whose header records an adoption."""
    if span is None:
        return []
    found = []
    for path in sorted(span.changed & set(project.owners)):
        text = project.read(path)
        try:
            header = parse_header(text, path) if text is not None else None
        except SpecmillError:
            continue  # a format without comments: `check` reports what is wrong with it
        if header is not None and header.origin == "adopted":
            found.append(path)
    return found


def adoption_record(project: Project, span: Span | None) -> RunRecord | None:
    """A record that carries only the adoptions (the summary lists ``record.adopted``)."""
    adopted = adoptions(project, span)
    if not adopted:
        return None
    from specmill.engine.provenance import new_run_id, utc_now

    now = utc_now()
    return RunRecord(
        run_id=new_run_id(),
        started_at=now,
        finished_at=now,
        command="check",
        adopted=adopted,
        adopted_diff=adoption_diff(project, span, adopted),
    )


def adoption_diff(project: Project, span: Span | None, paths: list[str]) -> dict[str, DiffStat]:
    """Lines the pull request added and removed in each adopted file, for the summary."""
    if span is None or not paths:
        return {}
    from specmill import gitcli

    out = gitcli.run_git(
        project.root, "diff", "--numstat", "-z", "--no-renames", span.merge_base, "--", *paths
    )
    stats: dict[str, DiffStat] = {}
    for entry in (out or b"").decode("utf-8", "surrogateescape").split("\0"):
        added, _, rest = entry.partition("\t")
        removed, _, path = rest.partition("\t")
        if path in paths:
            stats[path] = DiffStat(
                added=int(added) if added.isdigit() else 0,
                removed=int(removed) if removed.isdigit() else 0,
                new_file=gitcli.show(project.root, span.merge_base, path) is None,
            )
    return stats


def findings(
    project: Project,
    problems: Sequence[Problem],
    record: RunRecord | None,
    *,
    pending: Collection[str] = (),
    **delivered: Any,
) -> Findings:
    return Findings(
        problems=list(problems),
        record=record,
        requirement_lines={
            spec.path: {r.id: r.line for r in spec.requirements} for spec in project.specs
        },
        graph={spec.id: list(spec.depends_on) for spec in project.specs},
        pending=list(pending),
        **delivered,
    )


def ensure_identity(root: Path) -> None:
    """A committer for the engine's commit when the runner has none configured."""
    if gitcli.run_git(root, "config", "user.email") is not None:
        return
    for kind in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{kind}_NAME", BOT_NAME)
        os.environ.setdefault(f"GIT_{kind}_EMAIL", BOT_EMAIL)
