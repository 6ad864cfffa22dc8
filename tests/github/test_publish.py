"""Exactly which requests a publish makes, against PyGithub over ``responses``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from specmill.github.client import make_client
from specmill.github.errors import GitHubApiError
from specmill.github.events import PullRequestEvent, parse_event
from specmill.github.publish import publish_pull_request
from specmill.github.report import Report
from tests.github.gh_support import (
    GRAPH,
    HEAD1,
    HEAD2,
    NO_PAUSES,
    PR_FILES,
    REQUIREMENT_LINES,
    SCENARIO_PROBLEMS,
    TOKEN,
    GitHubMock,
    file_entry,
    payload,
    scenario_record,
    user,
)

READS = [
    ("GET", "/pulls/42"),
    ("GET", "/pulls/42/files"),
    ("GET", "/pulls/42/comments"),
    ("GET", "/issues/42/comments"),
]


def event(name: str = "pull_request.opened.json") -> PullRequestEvent:
    parsed = parse_event("pull_request", payload(name))
    assert isinstance(parsed, PullRequestEvent)
    return parsed


def scenario(name: str = "pull_request.opened.json") -> Report:
    target = event(name).target
    return Report.for_pull(
        target,
        "regenerating the affected modules",
        record=scenario_record(target.head_sha),
        problems=SCENARIO_PROBLEMS,
        requirement_lines=REQUIREMENT_LINES,
        graph=GRAPH,
        run_url="https://github.com/acme/billing/actions/runs/1",
    )


def pr_json(name: str = "pull_request.opened.json") -> dict[str, Any]:
    return payload(name)["pull_request"]


def first_run(github: GitHubMock) -> None:
    github.reads(42, pr_json(), PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 80001})
    github.add(
        "POST",
        "/issues/42/comments",
        {"id": 90001, "body": "", "user": user("github-actions[bot]", "Bot")},
    )
    github.add("POST", f"/statuses/{HEAD1}", {"id": 1, "state": "failure"})


def test_first_run_posts_one_review_one_summary_and_the_status(gh: Any, github: GitHubMock) -> None:
    first_run(github)
    result, plan = publish_pull_request(gh, scenario())

    assert github.requests() == [
        *READS,
        ("POST", "/pulls/42/reviews"),
        ("POST", "/issues/42/comments"),
        ("POST", f"/statuses/{HEAD1}"),
    ]
    review = github.body(4)
    assert review["commit_id"] == HEAD1 and review["event"] == "COMMENT"
    placed = sorted((c["path"], c["line"], c["side"]) for c in review["comments"])
    assert placed == [
        ("specs/billing/invoice.md", 14, "RIGHT"),  # spec gap on R3's spec line
        ("src/billing/invoice.py", 20, "RIGHT"),  # code defect on the generated line
        ("src/billing/tax.py", 11, "RIGHT"),  # hand edit on the edited line
    ]
    assert all(
        re.search(r"<!-- specmill:finding [0-9a-f]{16} -->", c["body"]) for c in review["comments"]
    )
    summary = github.body(5)["body"]
    assert summary.startswith("<!-- specmill:summary -->")
    assert f"https://github.com/acme/billing/blob/{HEAD1}/src/billing/invoice.py#L200" in summary
    assert f"https://github.com/acme/billing/blob/{HEAD1}/specs/billing/money.md#L1" in summary
    status = github.body(6)
    assert status["context"] == "specmill" and status["state"] == "failure"
    assert len(status["description"]) <= 140 and "hand-edited" in status["description"]
    assert status["target_url"] == "https://github.com/acme/billing/actions/runs/1"
    assert result.review_comments == 3 and result.summary == "created"
    assert plan is not None and plan.verdict.state == "failure"


def posted_review_comments(github: GitHubMock, gh: Any) -> list[dict[str, Any]]:
    """Run once to learn the bodies the bot posts, as GitHub would list them afterwards."""
    first_run(github)
    publish_pull_request(gh, scenario())
    review = github.body(4)
    github.rsps.reset()
    return [
        {
            "id": 7000 + i,
            "body": c["body"],
            "path": c["path"],
            "line": c["line"],
            "user": user("github-actions[bot]", "Bot"),
        }
        for i, c in enumerate(review["comments"])
    ]


def test_rerun_after_a_push_edits_the_summary_and_skips_posted_comments(
    gh: Any, github: GitHubMock
) -> None:
    existing = posted_review_comments(github, gh)
    summary = {
        "id": 90001,
        "body": "<!-- specmill:summary -->\nold",
        "user": user("github-actions[bot]", "Bot"),
    }
    someone = {
        "id": 90000,
        "body": "<!-- specmill:summary --> quoted by a human",
        "user": user("alice-dev"),
    }
    github.reads(
        42, pr_json("pull_request.synchronize.json"), PR_FILES, existing, [someone, summary]
    )
    github.add("PATCH", "/issues/comments/90001", summary)
    github.add("POST", f"/statuses/{HEAD2}", {"id": 2})

    result, _ = publish_pull_request(gh, scenario("pull_request.synchronize.json"))

    assert github.requests() == [
        *READS,
        ("PATCH", "/issues/comments/90001"),
        ("POST", f"/statuses/{HEAD2}"),
    ]
    assert result.review_comments == 0 and result.summary == "edited"
    assert HEAD2[:12] in github.body(4)["body"]


def test_rerun_posts_only_the_new_comment_and_reposts_outdated_ones(
    gh: Any, github: GitHubMock
) -> None:
    existing = posted_review_comments(github, gh)
    outdated = dict(existing[0], line=None)  # no longer on a line of the diff
    impostor = dict(existing[1], user=user("mallory"))  # our marker, quoted by someone else
    github.reads(42, pr_json(), PR_FILES, [outdated, impostor, existing[2]], [])
    github.add("POST", "/pulls/42/reviews", {"id": 80002})
    github.add("POST", "/issues/42/comments", {"id": 90002})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})

    result, _ = publish_pull_request(gh, scenario())

    reposted = {(c["path"], c["line"]) for c in github.body(4)["comments"]}
    assert reposted == {(c["path"], c["line"]) for c in existing[:2]}
    assert result.review_comments == 2


def test_ghes_base_url_and_html_links_are_honoured(mock: responses.RequestsMock) -> None:
    text = json.dumps(payload("pull_request.opened.json"))
    text = text.replace("https://api.github.com", "https://ghes.example.com/api/v3")
    ghes = json.loads(text.replace("https://github.com", "https://ghes.example.com"))
    target = parse_event("pull_request", ghes)
    assert isinstance(target, PullRequestEvent)
    github = GitHubMock(mock, api="https://ghes.example.com:443/api/v3")
    github.reads(42, ghes["pull_request"], PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})
    gh = make_client(TOKEN, "https://ghes.example.com/api/v3", retry=None, **NO_PAUSES)

    report = Report.for_pull(
        target.target, "r", record=scenario_record(), problems=SCENARIO_PROBLEMS
    )
    publish_pull_request(gh, report)

    assert all(c.request.url.startswith("https://ghes.example.com:443/api/v3/") for c in mock.calls)
    summary = github.body(5)["body"]
    assert (
        f"https://ghes.example.com/acme/billing/blob/{HEAD1}/specs/billing/money.md#L1" in summary
    )
    assert "https://github.com/" not in summary


@pytest.mark.parametrize(
    ("status", "github_message", "hint"),
    [
        (403, "Resource not accessible by integration", "pull-requests: write"),
        (422, "Unprocessable Entity", "outside the diff"),
        (401, "Bad credentials", "invalid or expired"),
    ],
)
def test_review_refused_leaves_nothing_half_posted(
    gh: Any, github: GitHubMock, status: int, github_message: str, hint: str
) -> None:
    github.reads(42, pr_json(), PR_FILES)
    github.add(
        "POST",
        "/pulls/42/reviews",
        {"message": github_message, "documentation_url": "https://docs.github.com/rest"},
        status,
    )

    with pytest.raises(GitHubApiError) as raised:
        publish_pull_request(gh, scenario())

    assert github.requests() == [*READS, ("POST", "/pulls/42/reviews")]  # no summary, no status
    error = raised.value
    assert error.status == status and error.call == "create the review on pull request #42"
    assert f"HTTP {status}" in str(error) and github_message in str(error)
    assert error.hint is not None and hint in error.hint
    assert TOKEN not in str(error) + error.hint


def test_missing_pull_request_fails_before_any_write(gh: Any, github: GitHubMock) -> None:
    github.pull(
        42, {"message": "Not Found", "documentation_url": "https://docs.github.com"}, status=404
    )

    with pytest.raises(GitHubApiError) as raised:
        publish_pull_request(gh, scenario())

    assert github.requests() == [("GET", "/pulls/42")]
    assert raised.value.status == 404 and "GITHUB_REPOSITORY" in (raised.value.hint or "")


def test_error_text_echoing_the_token_is_redacted(gh: Any, github: GitHubMock) -> None:
    github.pull(42, {"message": f"token {TOKEN} is not valid here"}, status=401)
    with pytest.raises(GitHubApiError) as raised:
        publish_pull_request(gh, scenario())
    assert TOKEN not in str(raised.value) and "***" in str(raised.value)


def test_a_moved_head_posts_nothing(gh: Any, github: GitHubMock) -> None:
    github.reads(42, pr_json("pull_request.synchronize.json"), PR_FILES)
    result, plan = publish_pull_request(gh, scenario())  # the run was for HEAD1
    assert plan is None and result.outcome == "superseded"
    assert [method for method, _ in github.requests()] == ["GET"] * 4


def test_nothing_to_say_posts_no_review(gh: Any, github: GitHubMock) -> None:
    github.reads(42, pr_json(), PR_FILES)
    github.add("POST", "/issues/42/comments", {"id": 1})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})
    report = Report.for_pull(event().target, "no model key: checks only")
    _result, plan = publish_pull_request(gh, report)
    assert ("POST", "/pulls/42/reviews") not in github.requests()
    assert plan is not None and plan.verdict.state == "success"
    assert github.body(5)["state"] == "success"


def test_files_are_read_page_by_page(gh: Any, github: GitHubMock) -> None:
    many = PR_FILES + [file_entry(f"src/gen/m{i}.py", "@@ -1 +1 @@\n-a\n+b") for i in range(150)]
    github.reads(42, pr_json(), many)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})
    publish_pull_request(gh, scenario())
    assert github.requests().count(("GET", "/pulls/42/files")) == 2
