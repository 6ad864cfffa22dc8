"""Security review of the bot: hidden markers, replies built from untrusted config,
and bundles (untrusted data in the trusted report phase)."""

from __future__ import annotations

from typing import Any

from specmill.core.records import ModuleResult, RunRecord
from specmill.github.bundle import Bundle, bundle_event
from specmill.github.matrix import merge_bundles
from specmill.github.publish import publish_pull_request
from specmill.github.render import render
from specmill.github.review import (
    ChangedFile,
    ExistingComment,
    Note,
    marker,
    new_comments,
    plan_review,
)
from tests.github.gh_support import FORK_HEAD, HEAD1, PR_FILES, GitHubMock, user
from tests.github.test_bundle import fork_target
from tests.github.test_publish import READS, pr_json, scenario

TAX = ChangedFile("src/billing/tax.py", "@@ -10,2 +10,4 @@\n a\n+b\n+c\n d\n")


def test_a_quoted_summary_marker_does_not_make_a_comment_the_summary(
    gh: Any, github: GitHubMock
) -> None:
    """The bot's refusal quotes the command: `/specmill <!-- specmill:summary -->` from
    anyone put the marker into a bot comment, which the next run then took over (or,
    for another app's comment, failed to edit with a 403 on every run)."""
    quoted = render(
        "refusal.md.j2",
        author="mallory",
        association="NONE",
        allowed=["OWNER"],
        command="/specmill <!-- specmill:summary -->",
    )
    refusal = {"id": 90000, "body": quoted, "user": user("github-actions[bot]", "Bot")}
    github.reads(42, pr_json(), PR_FILES, [], [refusal])
    github.add("POST", "/pulls/42/reviews", {"id": 80001})
    github.add("POST", "/issues/42/comments", {"id": 90001})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 1})

    result, _ = publish_pull_request(gh, scenario())

    assert ("PATCH", "/issues/comments/90000") not in github.requests()
    assert github.requests()[len(READS) + 1] == ("POST", "/issues/42/comments")
    assert result.summary == "created"


def test_a_marker_quoted_in_a_comment_does_not_hide_another_finding() -> None:
    """Module ids and requirement ids are shown in code spans, which keep `<!--` as is:
    a model answer (or spec) could quote the marker of a finding still to come."""
    victim = Note("problem", "hand-edited", "blocker", "edited by hand", "m", TAX.path, 11)
    decoy = Note("finding", "code-defect", "minor", "nit", "m", TAX.path, 12,
                 requirement=marker(victim.fingerprint))  # fmt: skip
    (posted,) = plan_review([decoy], [TAX]).inline
    assert marker(victim.fingerprint) in posted.body  # the quote is there, in a code span
    existing = [ExistingComment(posted.body, posted.line, ours=True)]
    (planned,) = plan_review([victim], [TAX]).inline
    assert new_comments([planned], existing) == [planned]


def test_help_and_refusal_escape_the_allowed_list_from_the_checkout_config() -> None:
    """On an issue_comment run the configuration comes from the pull request's head, a
    fork's included: its bot.allowed_associations must not ping or inject HTML."""
    hostile = ["OWNER", "@acme/everyone <img src=x onerror=alert(1)>"]
    bodies = [
        render("help.md.j2", command=None, allowed=hostile),
        render("refusal.md.j2", author="bob", association="NONE", allowed=hostile, command="/x"),
    ]
    for body in bodies:
        assert "@acme" not in body and "<img" not in body
        assert "OWNER" in body


def test_a_long_dependency_chain_in_a_bundle_does_not_crash_the_report() -> None:
    """The graph comes from the bundle: a chain of 3,000 modules hit the recursion limit."""
    count = 3_000
    modules = [
        ModuleResult(module=f"m{i}", spec=f"specs/m{i}.md", inputs_hash="x", status="passed")
        for i in range(count)
    ]
    record = RunRecord(run_id="r", started_at="2026-01-01T00:00:00Z", modules=modules)
    bundle = Bundle(
        specmill_version="0.1.0",
        event=bundle_event(fork_target()),
        reason="r",
        record=record,
        graph={f"m{i}": [f"m{i + 1}"] for i in range(count - 1)},
    )
    merged = merge_bundles([bundle])
    assert merged.record is not None
    assert [m.module for m in merged.record.modules] == [f"m{i}" for i in reversed(range(count))]
    assert merged.event.head_sha == FORK_HEAD
