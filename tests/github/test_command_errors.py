"""Slash commands that cannot run are answered (issue 11, item 14): before, they got 👀,
then the job exited 1 and nothing was posted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from specmill.core.config import BotConfig
from specmill.errors import SpecmillError
from specmill.github import app
from specmill.github.decide import RunDecision
from tests.github.gh_support import HEAD1, GitHubMock, payload
from tests.github.test_app import FakeWork, client, comment_payload, settings

KNOWN = ["billing.invoice", "billing.money"]


def command(tmp_path: Path, github: GitHubMock, body: str, work: FakeWork, **kw: object) -> int:
    github.pull(42, payload("pull_request.opened.json")["pull_request"])
    path = comment_payload(tmp_path, "MEMBER", body)
    return app.run(
        settings(tmp_path, "issue_comment", path),
        BotConfig(),
        work,
        has_model_key=True,
        github=client,
        out=io.StringIO(),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("/specmill regen a/../../etc", "Not module ids: `a/../../etc`"),
        ("/specmill verify billing.nope", "Not modules of this repository: `billing.nope`"),
        ("/specmill regen $(rm -rf /)", "Not module ids: `$(rm`, `-rf`, `/)`"),
    ],
)
def test_a_command_naming_no_module_is_answered_with_the_known_ones_and_a_status(
    tmp_path: Path, github: GitHubMock, body: str, named: str
) -> None:
    github.add("POST", "/issues/42/comments", {"id": 3})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 4})
    work = FakeWork()

    code = command(tmp_path, github, body, work, known_modules=lambda: KNOWN)

    assert code == 1 and work.decisions == []  # nothing ran, nothing was regenerated
    assert github.requests() == [
        ("GET", "/pulls/42"),
        ("POST", "/issues/42/comments"),  # no 👀: the answer comes at once
        ("POST", f"/statuses/{HEAD1}"),
    ]
    answer = github.body(1)["body"]
    assert named in answer
    assert "Known modules: `billing.invoice`, `billing.money`." in answer
    status = github.body(2)
    assert status["state"] == "failure" and status["context"] == "specmill"
    assert status["description"].startswith(body[:40])


def test_a_failure_after_the_reaction_is_answered_too(tmp_path: Path, github: GitHubMock) -> None:
    class Failing(FakeWork):
        def __call__(self, decision: RunDecision) -> app.Findings:
            raise SpecmillError("unknown module 'billing.tax' (known: billing.invoice)")

    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 3})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 4})

    with pytest.raises(SpecmillError, match="unknown module"):
        command(tmp_path, github, "/specmill regen billing.tax", Failing())

    assert [call for call in github.requests() if call[0] == "POST"] == [
        ("POST", "/issues/comments/1888000111/reactions"),
        ("POST", "/issues/42/comments"),
        ("POST", f"/statuses/{HEAD1}"),
    ]
    answer = github.body(2)["body"]
    assert "did not run `/specmill regen billing.tax`: unknown module 'billing.tax'" in answer
    assert github.body(3)["state"] == "failure"
