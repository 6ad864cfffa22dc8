"""What the bot does for each event: the trust rules in one table."""

from __future__ import annotations

from typing import Any

import pytest

from specmill.core.config import BotConfig
from specmill.github.decide import decide
from specmill.github.events import CommentEvent, PullRequestEvent, parse_event
from tests.github.gh_support import payload

CONFIG = BotConfig()


def pull(name: str = "pull_request.opened.json", **changes: Any) -> Any:
    data = payload(name)
    data.update({k: v for k, v in changes.items() if k == "action"})
    if "draft" in changes:
        data["pull_request"]["draft"] = changes["draft"]
    return parse_event("pull_request", data)


def comment(body: str = "/specmill regen billing.invoice", association: str = "MEMBER") -> Any:
    data = payload("issue_comment.created.json")
    data["comment"].update(body=body, author_association=association)
    return parse_event("issue_comment", data)


def target(fork: bool = False) -> Any:
    event = pull("pull_request.opened.fork.json" if fork else "pull_request.opened.json")
    assert isinstance(event, PullRequestEvent)
    return event.target


def test_pull_request_regenerates_with_a_model_key() -> None:
    decision = decide(pull(), CONFIG, has_model_key=True)
    assert decision.action == "regenerate" and decision.delivery == "commit"
    assert decision.target is not None and decision.target.number == 42 and decision.needs_model


def test_without_a_model_key_only_checks() -> None:
    decision = decide(pull(), CONFIG, has_model_key=False)
    assert decision.action == "check" and not decision.needs_model


def test_fork_is_checked_only_even_with_a_key() -> None:
    decision = decide(pull("pull_request.opened.fork.json"), CONFIG, has_model_key=True)
    assert decision.action == "check" and decision.delivery == "patch"
    assert "fork" in decision.reason


def test_drafts_are_configurable() -> None:
    assert decide(pull(draft=True), CONFIG, has_model_key=True).action == "check"
    drafts = BotConfig(drafts=True)
    assert decide(pull(draft=True), drafts, has_model_key=True).action == "regenerate"


@pytest.mark.parametrize("action", ["closed", "labeled", "edited"])
def test_other_pull_request_actions_are_skipped(action: str) -> None:
    decision = decide(pull(action=action), CONFIG, has_model_key=True)
    assert decision.action == "skip" and not decision.posts


def test_authorised_regen_command() -> None:
    decision = decide(comment(), CONFIG, has_model_key=True, target=target())
    assert decision.action == "regenerate" and decision.modules == ("billing.invoice",)
    assert decision.reaction == "eyes"


def test_verify_command_delivers_nothing() -> None:
    decision = decide(comment("/specmill verify"), CONFIG, has_model_key=True, target=target())
    assert decision.action == "verify" and decision.delivery == "none"


@pytest.mark.parametrize("association", ["CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "NONE"])
def test_unauthorised_command_is_refused(association: str) -> None:
    decision = decide(comment(association=association), CONFIG, has_model_key=True)
    assert decision.action == "refuse" and association in decision.reason


def test_allowed_associations_come_from_the_config() -> None:
    config = BotConfig(allowed_associations=["OWNER"])
    assert decide(comment(), config, has_model_key=True).action == "refuse"


def test_help_and_unknown_commands_are_answered() -> None:
    assert decide(comment("/specmill help"), CONFIG, has_model_key=True).action == "help"
    decision = decide(comment("/specmill frobnicate"), CONFIG, has_model_key=True)
    assert decision.action == "help" and decision.reaction == "+1"


def test_regen_on_a_fork_pull_request_only_checks() -> None:
    decision = decide(comment(), CONFIG, has_model_key=True, target=target(fork=True))
    assert decision.action == "check" and decision.reaction == "eyes"


def test_comment_without_command_or_edited_is_skipped() -> None:
    assert decide(comment("LGTM"), CONFIG, has_model_key=True).action == "skip"
    edited = payload("issue_comment.created.json") | {"action": "edited"}
    event = parse_event("issue_comment", edited)
    assert isinstance(event, CommentEvent)
    assert decide(event, CONFIG, has_model_key=True).action == "skip"


def test_push_checks_the_default_branch_only() -> None:
    assert (
        decide(parse_event("push", payload("push.json")), CONFIG, has_model_key=False).action
        == "check"
    )
    feature = payload("push.json") | {"ref": "refs/heads/feature"}
    assert decide(parse_event("push", feature), CONFIG, has_model_key=False).action == "skip"


def test_workflow_run_reports_only_successful_pull_request_runs() -> None:
    data = payload("workflow_run.completed.fork.json")
    assert decide(parse_event("workflow_run", data), CONFIG, has_model_key=False).action == "report"
    data["workflow_run"]["conclusion"] = "failure"
    decision = decide(parse_event("workflow_run", data), CONFIG, has_model_key=False)
    assert decision.action == "skip" and "failure" in decision.reason


def test_unsupported_event_is_skipped_with_a_message() -> None:
    decision = decide(parse_event("schedule", {}), CONFIG, has_model_key=True)
    assert decision.action == "skip" and "does not handle 'schedule'" in decision.reason
