"""Entry point of ``specmill bot run``: a plain function, its collaborators injected.

The one collaborator the CLI glue supplies is ``work``: given the ``RunDecision`` (what
to do, on which pull request, which modules, which delivery) it checks the checkout,
regenerates or verifies with the engine, delivers, and returns ``Findings``. The
GitHub client is made by ``github`` (``make_client`` unless a test passes its own).
It returns the exit code: 0 (success, neutral, nothing to do), 1 (failure). The
two-phase and matrix entry points (``generate``, ``report``) are in ``twophase``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from specmill.core.config import BotConfig
from specmill.core.records import RunRecord
from specmill.errors import SpecmillError
from specmill.github.client import GitHubSettings, make_client, redact
from specmill.github.decide import RunDecision, decide
from specmill.github.events import CommentEvent, PullRequestEvent, PullTarget, PushEvent, load_event
from specmill.github.publish import (
    bot_identity,
    fetch_pull_target,
    post_status,
    publish_pull_request,
    react,
    reply,
)
from specmill.github.report import Report, plan_commit_report
from specmill.github.review import ProblemLike
from specmill.github.summary import CheckVerdict, Delivery, write_step_summary
from specmill.workflow_commands import emit_command


@dataclass(frozen=True)
class Findings:
    """What ``work`` found and did for one decision."""

    problems: Sequence[ProblemLike] = ()
    record: RunRecord | None = None
    requirement_lines: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    graph: Mapping[str, Sequence[str]] = field(default_factory=dict)
    pending: Sequence[str] = ()  # affected but not regenerated
    delivery: Delivery | None = None
    patch: str | None = None  # the regenerated code as a patch (bundles carry it)
    head_sha: str | None = None  # the pull request's head after delivery pushed a commit to it
    unreported: Sequence[str] = ()  # a matrix job's modules whose bundle never arrived
    conflicts: Sequence[str] = ()  # why the matrix's bundles contradict one another
    refused: Sequence[str] = ()  # why a bundle's code is neither delivered nor offered


Work = Callable[[RunDecision], Findings]
KnownModules = Callable[[], Sequence[str] | None]
ClientFactory = Callable[[GitHubSettings], Any]


def default_client(settings: GitHubSettings) -> Any:
    return make_client(settings.token.get_secret_value(), settings.api_url)


def run(
    settings: GitHubSettings,
    config: BotConfig,
    work: Work,
    *,
    has_model_key: bool,
    github: ClientFactory = default_client,
    bot_login: str | None = None,
    known_modules: KnownModules | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """One-phase mode: the event as Actions delivered it, handled end to end.

    ``known_modules`` lists the checkout's module ids (None: they cannot be read), so
    that a slash command naming another is answered before anything runs.
    """
    with redacted(settings):
        event = load_event(settings.event_name, settings.event_path)
        gh = github(settings)
        target = None
        if _needs_target(event, config):
            assert isinstance(event, CommentEvent)
            target = fetch_pull_target(gh, event.repository, event.html_url, event.number)
        decision = decide(event, config, has_model_key=has_model_key, target=target)
        print(f"specmill: {decision.reason}", file=out)
        if isinstance(event, CommentEvent) and decision.action in ("refuse", "help"):
            return _answer(gh, event, decision, config)
        if decision.action == "skip":
            return 0
        if isinstance(event, CommentEvent) and decision.target is not None:
            failed = _check_modules(event, known_modules)
            if failed is not None:
                return _command_failed(gh, event, decision.target, settings, **failed)
        if isinstance(event, CommentEvent) and decision.reaction:
            react(gh, event.repository, event.number, event.comment_id, decision.reaction)
        if decision.action == "calibrate":
            assert isinstance(event, CommentEvent)
            return _calibration(gh, event, work, decision)
        try:
            found = work(decision)
        except SpecmillError as exc:  # a slash command is answered, whatever went wrong
            if isinstance(event, CommentEvent) and decision.target is not None:
                problem = redact(exc.message, [settings.token])
                _command_failed(gh, event, decision.target, settings, problem=problem)
            raise
        target = decision.target
        if target is not None and found.head_sha:  # report on the commit delivery pushed
            target = target.model_copy(update={"head_sha": found.head_sha})
        # On pull_request, GitHub gives a fork's run a read-only token: report in the job.
        read_only = isinstance(event, PullRequestEvent) and target is not None and target.is_fork
        if target is not None and not read_only:
            return publish_findings(gh, target, decision.reason, found, settings, out, bot_login)
        if target is not None:
            print("specmill: fork pull request: results in the job log and step summary", file=out)
            report = Report.for_pull(target, decision.reason, **_found(found))
            verdict, notes, markdown = plan_commit_report(report)
        else:
            assert isinstance(event, PushEvent)
            report = Report(
                event.repository, event.html_url, event.after, decision.reason, **_found(found)
            )
            verdict, notes, markdown = plan_commit_report(report)
            post_status(gh, event.repository, event.after, verdict, target_url=settings.run_url)
        _emit(settings, out, notes, markdown)
        _outputs(settings, verdict, report)
        return 1 if verdict.state == "failure" else 0


MAX_LISTED_MODULES = 200


def _check_modules(
    event: CommentEvent, known_modules: KnownModules | None
) -> dict[str, Any] | None:
    """What is wrong with the modules a slash command names, or None when nothing is."""
    command = event.command
    if command is None or not (command.modules or command.rejected):
        return None
    known = known_modules() if known_modules is not None else None
    unknown = [m for m in command.modules if known is not None and m not in known]
    if not command.rejected and not unknown:
        return None
    named = ", ".join(repr(m) for m in [*command.rejected, *unknown])
    problem = f"{named}: no such module"
    return {"problem": problem, "rejected": command.rejected, "unknown": unknown, "known": known}


def _command_failed(
    gh: Any,
    event: CommentEvent,
    target: PullTarget,
    settings: GitHubSettings,
    *,
    problem: str,
    rejected: Sequence[str] = (),
    unknown: Sequence[str] = (),
    known: Sequence[str] | None = None,
) -> int:
    """Answer the command with what went wrong, then end with a failed ``specmill`` status."""
    command = event.command
    assert command is not None
    listed = sorted(known)[:MAX_LISTED_MODULES] if known is not None else None
    more = len(known) - len(listed) if known is not None and listed is not None else 0
    reply(gh, event.repository, event.number, "command_error.md.j2", command=command.text,
          problem=problem, rejected=rejected, unknown=unknown, known=listed, more=more,
          head_sha=target.head_sha)  # fmt: skip
    verdict = CheckVerdict("failure", f"{command.text}: {problem}")
    post_status(gh, target.repository, target.head_sha, verdict, target_url=settings.run_url)
    return 1


def _needs_target(event: object, config: BotConfig) -> bool:
    """A comment that will regenerate or verify needs its pull request's SHAs and fork."""
    return (
        isinstance(event, CommentEvent)
        and event.action == "created"
        and event.on_pull_request
        and event.command is not None
        and event.command.name in ("regen", "verify", "calibrate")
        and event.author_association in config.allowed_associations
    )


def _found(found: Findings) -> dict[str, Any]:
    return {
        "record": found.record,
        "problems": found.problems,
        "requirement_lines": found.requirement_lines,
        "graph": found.graph,
        "pending": found.pending,
        "delivery": found.delivery,
        "unreported": found.unreported,
        "conflicts": found.conflicts,
        "refused": found.refused,
    }


def publish_findings(
    gh: Any,
    target: PullTarget,
    reason: str,
    found: Findings,
    settings: GitHubSettings,
    out: TextIO,
    login: str | None,
) -> int:
    """Publish on the pull request, then print annotations and write the step summary."""
    report = Report.for_pull(target, reason, **_found(found), run_url=settings.run_url)
    if login is None:
        login = bot_identity(gh, settings.token.get_secret_value(), settings.app_slug)
    result, plan = publish_pull_request(gh, report, bot_login=login)
    if plan is None:
        print(f"specmill: nothing posted: {result.detail}", file=out)
        return 0
    print(
        f"specmill: {result.review_comments} new inline comment(s), summary {result.summary}, "
        f"status {plan.verdict.state}: {plan.verdict.description}",
        file=out,
    )
    _emit(settings, out, plan.annotations, plan.step_summary)
    _outputs(settings, plan.verdict, report)
    return 1 if plan.verdict.state == "failure" else 0


def _calibration(gh: Any, event: CommentEvent, work: Work, decision: RunDecision) -> int:
    """``/specmill calibrate``: the report as a comment; 1 when a verifier is flagged or
    the report is partial, as ``specmill calibrate`` exits."""
    command = event.command.text if event.command else ""
    try:
        found = work(decision)
    except SpecmillError as exc:  # a module that is not fresh, no verifiers, …
        reply(gh, event.repository, event.number, "calibration.md.j2",
              command=command, report=None, run_id=None, error=str(exc))  # fmt: skip
        return 1
    record = found.record
    report = record.calibration if record else None
    reply(gh, event.repository, event.number, "calibration.md.j2", command=command,
          report=report, run_id=record.run_id if record else None, error=None)  # fmt: skip
    untrusted = report is None or not report.calibrated or report.partial or report.flagged
    return 1 if untrusted else 0


def _answer(gh: Any, event: CommentEvent, decision: RunDecision, config: BotConfig) -> int:
    command = event.command
    assert command is not None
    allowed = config.allowed_associations
    if decision.action == "refuse":
        context = {"author": event.author, "association": event.author_association}
        reply(gh, event.repository, event.number, "refusal.md.j2", **context,
              allowed=allowed, command=command.text)  # fmt: skip
        return 0
    react(gh, event.repository, event.number, event.comment_id, "+1")
    unknown = command.text if command.name == "unknown" else None
    reply(gh, event.repository, event.number, "help.md.j2", command=unknown, allowed=allowed)
    return 0


def _emit(settings: GitHubSettings, out: TextIO, notes: Sequence[str], markdown: str) -> None:
    for line in notes:
        emit_command(out, line)
    if settings.step_summary:
        write_step_summary(settings.step_summary, markdown)


def _outputs(settings: GitHubSettings, verdict: CheckVerdict, report: Report) -> None:
    """The action's outputs: ``verdict`` and ``affected`` (a JSON list of module ids)."""
    if settings.output is None:
        return
    modules = [m.module for m in report.record.modules] if report.record else []
    affected = json.dumps([*modules, *(m for m in report.pending if m not in modules)])
    with Path(settings.output).open("a", encoding="utf-8") as handle:
        handle.write(f"verdict={verdict.state}\naffected={affected}\n")


class redacted:
    """Scrub the token from any SpecmillError leaving these entry points."""

    def __init__(self, settings: GitHubSettings) -> None:
        self.secret = settings.token

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, SpecmillError):
            exc.message = redact(exc.message, [self.secret])
            exc.args = (exc.message,)
            if exc.hint:
                exc.hint = redact(exc.hint, [self.secret])
