"""Whose comment is the summary (issue 11, item 6): the marker AND the identity we post as.

Before, any ``type: Bot`` comment that opened with the marker was taken as ours: a
``renovate[bot]`` comment made the edit fail with a 403 after the review was posted,
and before the status.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from specmill.core.config import BotConfig
from specmill.errors import SpecmillError
from specmill.github import app
from specmill.github.client import GitHubSettings, make_client
from specmill.github.summary import SUMMARY_MARKER
from tests.github.gh_support import (
    API,
    HEAD1,
    NO_PAUSES,
    PR_FILES,
    TOKEN,
    GitHubMock,
    payload,
    user,
)
from tests.github.test_app import FakeWork, settings

PAT = "ghp_" + "P3rs0nalT0ken" * 3
PR = payload("pull_request.opened.json")["pull_request"]


def comment(number: int, login: str, kind: str, body: str = f"{SUMMARY_MARKER}\nold") -> Any:
    return {"id": number, "body": body, "user": user(login, kind)}


def publish(tmp_path: Path, token: str = TOKEN, **changes: Any) -> tuple[int, str]:
    s = settings(tmp_path, "pull_request", "pull_request.opened.json", token=token)
    s = s.model_copy(update=changes)
    out = io.StringIO()

    def client(_: GitHubSettings) -> Any:
        return make_client(token, None, retry=None, **NO_PAUSES)

    code = app.run(s, BotConfig(), FakeWork(), has_model_key=True, github=client, out=out)
    return code, out.getvalue()


def test_another_bots_comment_with_the_marker_is_not_our_summary(
    tmp_path: Path, github: GitHubMock
) -> None:
    renovate = comment(90000, "renovate[bot]", "Bot")
    ours = comment(90001, "github-actions[bot]", "Bot")
    github.reads(42, PR, PR_FILES, [], [renovate, ours])
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("PATCH", "/issues/comments/90001", ours)
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})

    code, out = publish(tmp_path)  # GITHUB_TOKEN (ghs_): github-actions[bot], no GET /user

    assert code == 1 and "summary edited" in out
    assert ("PATCH", "/issues/comments/90000") not in github.requests()


def test_a_personal_token_asks_who_it_is(tmp_path: Path, github: GitHubMock) -> None:
    github.rsps.add("GET", f"{API}/user", json=user("specmill-ci") | {"site_admin": False})
    impostor = comment(90000, "github-actions[bot]", "Bot")
    ours = comment(90001, "specmill-ci", "User")
    github.reads(42, PR, PR_FILES, [], [impostor, ours])
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("PATCH", "/issues/comments/90001", ours)
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})

    code, out = publish(tmp_path, token=PAT)

    assert code == 1 and "summary edited" in out
    assert github.requests()[0] == ("GET", "https://api.github.com/user")


def test_a_github_app_posts_as_its_slug(tmp_path: Path, github: GitHubMock) -> None:
    actions = comment(90000, "github-actions[bot]", "Bot")
    ours = comment(90001, "specmill-app[bot]", "Bot")
    github.reads(42, PR, PR_FILES, [], [actions, ours])
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("PATCH", "/issues/comments/90001", ours)
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})

    code, out = publish(tmp_path, app_slug="specmill-app")

    assert code == 1 and "summary edited" in out


def test_the_app_slug_comes_from_the_environment_and_must_be_one() -> None:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/e.json",
    }
    slug = GitHubSettings.from_env(env | {"SPECMILL_APP_SLUG": "specmill-app[bot]"}).app_slug
    assert slug == "specmill-app"
    with pytest.raises(SpecmillError, match="is not a GitHub App slug"):
        GitHubSettings.from_env(env | {"SPECMILL_APP_SLUG": "x]\n::error::y"})


def test_a_403_on_the_edit_falls_back_to_a_new_comment(tmp_path: Path, github: GitHubMock) -> None:
    ours = comment(90001, "github-actions[bot]", "Bot")
    github.reads(42, PR, PR_FILES, [], [ours])
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    refused = {"message": "Resource not accessible by integration", "status": "403"}
    github.add("PATCH", "/issues/comments/90001", refused, 403)
    github.add("POST", "/issues/42/comments", {"id": 90002})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})

    code, out = publish(tmp_path)

    assert code == 1 and "summary created" in out
    assert [m for m, _ in github.requests()][-4:] == ["POST", "PATCH", "POST", "POST"]
    assert github.body(6)["body"].startswith(SUMMARY_MARKER)
    assert github.body(7)["state"] == "failure"  # the status still follows the review
