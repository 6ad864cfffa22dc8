"""What a run does for an event: regenerate, verify, only check, answer, refuse or skip.

Pure. The trust rules live here, in one place: fork pull requests and runs without a
model key are checked only (no PR code runs next to a secret); slash commands are
honoured only for the author associations the configuration allows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from specmill.core.config import BotConfig
from specmill.github.errors import EventError
from specmill.github.events import (
    PULL_REQUEST_ACTIONS,
    CommentEvent,
    Event,
    PullRequestEvent,
    PullTarget,
    PushEvent,
    UnsupportedEvent,
    WorkflowRunEvent,
)

Action = Literal["regenerate", "verify", "check", "help", "refuse", "report", "skip"]
Delivery = Literal["commit", "pull-request", "patch", "none"]
Reaction = Literal["+1", "eyes"]


class RunDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    reason: str  # one line, shown in the log and, where it applies, in the check
    target: PullTarget | None = None  # the pull request, if any
    modules: tuple[str, ...] = ()  # named by a slash command; empty: the affected set
    exact: bool = False  # a matrix job's share: exactly ``modules``, never their dependents
    delivery: Delivery = "none"
    reaction: Reaction | None = None  # on the slash-command comment

    @property
    def needs_model(self) -> bool:
        return self.action in ("regenerate", "verify")

    @property
    def posts(self) -> bool:
        """Whether this run writes to GitHub at all (a skip writes nothing)."""
        return self.action != "skip"


def decide(
    event: Event,
    config: BotConfig,
    *,
    has_model_key: bool,
    target: PullTarget | None = None,
) -> RunDecision:
    """``target`` is the pull request of a comment event (the payload lacks its SHAs)."""
    if isinstance(event, UnsupportedEvent):
        return RunDecision(action="skip", reason=event.message)
    if isinstance(event, PullRequestEvent):
        return _pull_request(event, config, has_model_key)
    if isinstance(event, CommentEvent):
        return _comment(event, config, has_model_key, target)
    if isinstance(event, PushEvent):
        return _push(event)
    return _workflow_run(event)


def _pull_request(event: PullRequestEvent, config: BotConfig, has_key: bool) -> RunDecision:
    if event.action not in PULL_REQUEST_ACTIONS:
        return RunDecision(action="skip", reason=f"pull_request {event.action!r}: nothing to do")
    target = event.target
    if target.is_fork:
        reason = "fork pull request: checks only, without secrets (forks never get the model key)"
        return RunDecision(action="check", reason=reason, target=target, delivery="patch")
    if event.draft and not config.drafts:
        reason = "draft pull request: checks only (set bot.drafts = true to regenerate drafts)"
        return RunDecision(action="check", reason=reason, target=target)
    if not has_key:
        return RunDecision(action="check", reason="no model key: checks only", target=target)
    return RunDecision(
        action="regenerate",
        reason="regenerating the affected modules",
        target=target,
        delivery=config.delivery,
    )


def _comment(
    event: CommentEvent, config: BotConfig, has_key: bool, target: PullTarget | None
) -> RunDecision:
    command = event.command
    if event.action != "created" or not event.on_pull_request or command is None:
        return RunDecision(action="skip", reason="not a /specmill command on a pull request")
    if event.author_association not in config.allowed_associations:
        allowed = ", ".join(config.allowed_associations)
        reason = (
            f"@{event.author} ({event.author_association}) may not run commands; allowed: {allowed}"
        )
        return RunDecision(action="refuse", reason=reason)
    if command.name in ("help", "unknown"):
        return RunDecision(action="help", reason=f"answering {command.text!r}", reaction="+1")
    if target is None:
        raise EventError(f"pull request #{event.number} was not fetched before deciding")
    if target.is_fork:
        reason = f"{command.text!r} on a fork pull request: checks only, without secrets"
        return RunDecision(action="check", reason=reason, target=target, reaction="eyes")
    if not has_key:
        reason = f"{command.text!r}: no model key in this workflow, checks only"
        return RunDecision(action="check", reason=reason, target=target, reaction="eyes")
    return RunDecision(
        action="regenerate" if command.name == "regen" else "verify",
        reason=command.text,
        target=target,
        modules=command.modules,
        delivery=config.delivery if command.name == "regen" else "none",
        reaction="eyes",
    )


def _push(event: PushEvent) -> RunDecision:
    if event.deleted or not event.on_default_branch:
        return RunDecision(
            action="skip", reason=f"push to {event.ref}: only the default branch is checked"
        )
    return RunDecision(action="check", reason=f"push to {event.default_branch}: checking")


def _workflow_run(event: WorkflowRunEvent) -> RunDecision:
    if event.action != "completed" or event.triggering_event != "pull_request":
        return RunDecision(
            action="skip", reason="workflow_run: only completed pull_request runs are reported"
        )
    if event.conclusion != "success":
        ended = event.conclusion or "without a conclusion"
        reason = f"the generate run ended {ended}: nothing to report"
        return RunDecision(action="skip", reason=reason)
    return RunDecision(action="report", reason=f"reporting the results of {event.workflow!r}")
