"""Webhook payloads (full, real-shaped, tests/data/github) parsed into the bot's events."""

from __future__ import annotations

from pathlib import Path

import pytest

from specmill.github.errors import EventError
from specmill.github.events import (
    CommentEvent,
    PullRequestEvent,
    PushEvent,
    UnsupportedEvent,
    WorkflowRunEvent,
    load_event,
    parse_command,
    parse_event,
)
from tests.github.gh_support import BASE, DATA, FORK_HEAD, HEAD1, HEAD2, payload


def test_pull_request_opened() -> None:
    event = parse_event("pull_request", payload("pull_request.opened.json"))
    assert isinstance(event, PullRequestEvent)
    assert (event.action, event.number, event.draft) == ("opened", 42, False)
    assert (event.base_sha, event.head_sha) == (BASE, HEAD1)
    assert (event.base_ref, event.head_ref) == ("main", "invoice-half-even")
    assert event.repository == "acme/billing" and not event.is_fork
    assert event.html_url == "https://github.com/acme/billing"


def test_pull_request_synchronize_carries_the_new_head() -> None:
    event = load_event("pull_request", DATA / "pull_request.synchronize.json")
    assert isinstance(event, PullRequestEvent)
    assert event.action == "synchronize" and event.head_sha == HEAD2


def test_fork_pull_request() -> None:
    event = parse_event("pull_request", payload("pull_request.opened.fork.json"))
    assert isinstance(event, PullRequestEvent)
    assert event.is_fork and event.head_repository == "mallory/billing"
    assert event.target.head_sha == FORK_HEAD


def test_deleted_fork_counts_as_a_fork() -> None:
    data = payload("pull_request.opened.fork.json")
    data["pull_request"]["head"]["repo"] = None
    event = parse_event("pull_request", data)
    assert isinstance(event, PullRequestEvent) and event.is_fork


def test_issue_comment_with_a_slash_command() -> None:
    event = parse_event("issue_comment", payload("issue_comment.created.json"))
    assert isinstance(event, CommentEvent)
    assert (event.number, event.comment_id, event.author) == (42, 1888000111, "alice-dev")
    assert event.author_association == "MEMBER" and event.on_pull_request
    assert event.command is not None
    assert (event.command.name, event.command.modules) == ("regen", ("billing.invoice",))


def test_comment_on_a_plain_issue_is_not_on_a_pull_request() -> None:
    data = payload("issue_comment.created.json")
    del data["issue"]["pull_request"]
    event = parse_event("issue_comment", data)
    assert isinstance(event, CommentEvent) and not event.on_pull_request


def test_push_to_the_default_branch() -> None:
    event = parse_event("push", payload("push.json"))
    assert isinstance(event, PushEvent)
    assert event.on_default_branch and not event.deleted and event.after == HEAD2
    other = parse_event("push", {**payload("push.json"), "ref": "refs/heads/feature"})
    assert isinstance(other, PushEvent) and not other.on_default_branch


def test_workflow_run_of_a_fork_has_no_pull_requests() -> None:
    event = parse_event("workflow_run", payload("workflow_run.completed.fork.json"))
    assert isinstance(event, WorkflowRunEvent)
    assert event.triggering_event == "pull_request" and event.conclusion == "success"
    assert event.pull_requests == () and event.head_repository == "mallory/billing"
    assert event.head_sha == FORK_HEAD


def test_unsupported_event_says_so() -> None:
    event = parse_event("release", {"action": "published"})
    assert isinstance(event, UnsupportedEvent)
    assert "does not handle 'release' events" in event.message


def test_payload_lacking_a_field_is_a_clear_error() -> None:
    data = payload("pull_request.opened.json")
    del data["pull_request"]["head"]["sha"]
    with pytest.raises(EventError, match="pull_request event payload lacks 'sha'"):
        parse_event("pull_request", data)


def test_unreadable_payload_file(tmp_path: Path) -> None:
    broken = tmp_path / "event.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(EventError, match="cannot read the event payload"):
        load_event("pull_request", broken)
    with pytest.raises(EventError, match="cannot read"):
        load_event("pull_request", tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/specmill help", ("help", ())),
        ("/specmill", ("help", ())),
        ("/specmill verify", ("verify", ())),
        (
            "please\n/specmill regen billing.invoice billing.money\nthanks",
            ("regen", ("billing.invoice", "billing.money")),
        ),
        ("/specmill deploy prod", ("unknown", ())),
        ("/specmill regen $(rm -rf /)", ("regen", ())),  # rejected: answered, never run
        ("/SPECMILL REGEN", ("regen", ())),
    ],
)
def test_parse_command(body: str, expected: tuple[str, tuple[str, ...]]) -> None:
    command = parse_command(body)
    assert command is not None and (command.name, command.modules) == expected


@pytest.mark.parametrize(
    ("body", "rejected"),
    [
        ("/specmill regen a/../../etc", ("a/../../etc",)),
        ("/specmill verify billing/money billing.invoice", ("billing/money",)),
        ("/specmill regen $(rm -rf /)", ("$(rm", "-rf", "/)")),
        ("/specmill regen .hidden", (".hidden",)),
    ],
)
def test_arguments_that_are_not_module_ids_are_kept_apart(
    body: str, rejected: tuple[str, ...]
) -> None:
    """One rule for module ids, the specs': a path is never a module to run."""
    command = parse_command(body)
    assert command is not None and command.rejected == rejected
    assert not set(command.modules) & set(rejected)


@pytest.mark.parametrize(
    "body",
    [
        "no command here",
        "> /specmill regen\nquoted",
        "```\n/specmill regen\n```",
        "/specmillx regen",
    ],
)
def test_no_command(body: str) -> None:
    assert parse_command(body) is None
