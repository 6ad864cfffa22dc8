"""Two-phase (generate, then report), slash commands, and GitHub refusing a write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.bot_e2e.conftest import BRANCH, MODEL_KEY, FakeGitHub, Scenario, refuse_models
from tests.bot_e2e.test_pull_request import INVOICE_MD, INVOICE_PY, regenerate_answers, spec_change
from tests.conftest import git
from tests.engine.conftest import INVOICE_CODE, PASS
from tests.github.gh_support import DATA, TOKEN


def workflow_run(scenario: Scenario, head: str) -> Path:
    """workflow_run completed for a same-repository pull request (the fork payload, adapted)."""
    data = json.loads((DATA / "workflow_run.completed.fork.json").read_text(encoding="utf-8"))
    run = data["workflow_run"]
    repo = {"id": 880001, "url": "https://api.github.com/repos/acme/billing", "name": "billing"}
    run.update(head_sha=head, head_branch=BRANCH, head_repository=data["repository"])
    run["pull_requests"] = [
        {
            "id": 2100000042,
            "number": 42,
            "url": "https://api.github.com/repos/acme/billing/pulls/42",
            "head": {"ref": BRANCH, "sha": head, "repo": repo},
            "base": {"ref": "main", "sha": scenario.base, "repo": repo},
        }
    ]
    path = scenario.tmp / "workflow_run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_generate_then_report(
    scenario: Scenario, api: responses.RequestsMock, github: FakeGitHub, monkeypatch: Any
) -> None:
    head = spec_change(scenario)
    regenerate_answers(scenario)
    before = scenario.refs()
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event, token=None)  # the untrusted phase gets no token
    bundle = scenario.tmp / "specmill-bundle"

    checkout = scenario.checkout(head)
    args = ["bot", "generate", "--bundle", str(bundle), "--delivery", "patch"]
    code, out, err = scenario.specmill(checkout, *args)

    assert code == 0, out + err
    assert len(api.calls) == 0 and scenario.refs() == before  # no GitHub, no push
    assert sorted(p.name for p in bundle.iterdir()) == ["bundle.json", "specmill.patch"]

    # Phase 2: a workflow_run job with the write token, no model key and no checkout.
    monkeypatch.delenv("OPENAI_API_KEY")
    built = refuse_models(monkeypatch)
    report_job = scenario.tmp / "report-job"
    report_job.mkdir()
    scenario.env("workflow_run", workflow_run(scenario, head))
    github.contents()  # the base's config and specs: what the patch may touch
    github.git_data()  # the head's files the patch applies to (no checkout here)
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})

    code, out, err = scenario.specmill(report_job, "bot", "report", "--bundle", str(bundle))

    assert code == 0, out + err
    assert built == [] and list(report_job.iterdir()) == []
    assert github.calls()[:3] == [
        ("GET", "/pulls/42"),  # the bundle's claim, checked against the API
        ("GET", "/contents/specmill.toml"),  # the base's config and specs, not the fork's
        ("GET", f"/contents/{INVOICE_MD}"),
    ]
    read = [path.split("/")[2] for _, path in github.calls()[3:7]]
    assert read == ["trees", "trees", "trees", "blobs"]  # the head's src/billing/invoice.py
    assert github.calls()[7:] == [
        ("GET", "/pulls/42"),
        ("GET", "/pulls/42/files"),
        ("GET", "/pulls/42/comments"),
        ("GET", "/issues/42/comments"),
        ("POST", "/pulls/42/reviews"),
        ("POST", "/issues/42/comments"),
        ("POST", f"/statuses/{head}"),
    ]
    comments = github.body("POST", "/pulls/42/reviews")["comments"]
    assert [(c["path"], c["line"]) for c in comments] == [(INVOICE_MD, 8)]
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert "file specmill.patch" in summary and "The items are walked twice." in summary
    assert f"each an output its spec declares: `{INVOICE_PY}`." in summary
    fresh = scenario.checkout(head)
    git(fresh, "am", "--quiet", str(bundle / "specmill.patch"))
    assert INVOICE_CODE in (fresh / INVOICE_PY).read_text(encoding="utf-8")
    assert scenario.leaked(TOKEN) == [] and scenario.leaked(MODEL_KEY) == []


def test_generate_refuses_to_push(scenario: Scenario) -> None:
    args = ["bot", "generate", "--bundle", "b", "--delivery", "commit"]
    code, _, err = scenario.specmill(scenario.dev, *args)
    assert code == 2 and "generate has no write token" in err


def comment(scenario: Scenario, body: str, association: str = "MEMBER") -> Path:
    data = json.loads((DATA / "issue_comment.created.json").read_text(encoding="utf-8"))
    data["comment"].update(body=body, author_association=association)
    path = scenario.tmp / "comment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_verify_command_verifies_the_named_module(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    scenario.branch()
    scenario.write("README.md", "# Billing\n")
    scenario.commit("readme")
    head = scenario.push()
    scenario.answers(verifier=[PASS, PASS])
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.pull()  # the comment's pull request: its SHAs, whether it is a fork
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1, "content": "eyes"})
    github.files()
    github.add("GET", "/pulls/42/comments", [])
    github.add("GET", "/issues/42/comments", [])
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    scenario.env("issue_comment", comment(scenario, "/specmill verify billing.invoice"))

    code, out, err = scenario.specmill(scenario.checkout(head), "bot", "run")

    assert code == 0, out + err
    assert github.body("POST", "/issues/comments/1888000111/reactions") == {"content": "eyes"}
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert "`billing.invoice` | ✅ passed" in summary and "`rev-a` pass" in summary
    assert github.body("POST", "/statuses/")["state"] == "success"
    assert scenario.head_of(BRANCH) == head  # verify changes nothing
    assert "verifying billing.invoice" in out


@pytest.mark.parametrize("status", [403, 422])
def test_a_refused_review_stops_the_run_before_the_summary_and_status(
    keyless: Scenario, api: responses.RequestsMock, status: int
) -> None:
    github = FakeGitHub(api, keyless)
    keyless.branch()
    keyless.write(INVOICE_PY, keyless.read(INVOICE_PY).replace("sum(items)", "sum(items) or 0"))
    keyless.commit("quick fix")
    head = keyless.push()
    github.reads()
    refusal = {"message": "Resource not accessible by integration", "status": str(status)}
    github.add("POST", "/pulls/42/reviews", refusal, status=status)
    event = keyless.event("pull_request.opened.json", BASE=keyless.base, HEAD1=head)
    keyless.env("pull_request", event)

    code, _, err = keyless.specmill(keyless.checkout(head), "bot", "run")

    assert code == 1
    assert (
        f"specmill: error: GitHub API: create the review on pull request #42 failed with "
        f"HTTP {status}: Resource not accessible by integration" in err
    )
    assert ("pull-requests: write" if status == 403 else "outside the diff") in err
    assert "Traceback" not in err
    assert [m for m, _ in github.calls()] == ["GET"] * 4 + ["POST"]  # no summary, no status
    assert keyless.step_summary() == ""
    assert keyless.leaked(TOKEN) == []


@pytest.mark.parametrize("module", ["a/../../etc", "billing.nope"])
def test_a_command_for_no_module_is_answered_with_the_checkouts_modules(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any, module: str
) -> None:
    """Issue 11, item 14: this added 👀, exited 1 and posted nothing."""
    scenario.branch()
    scenario.write("README.md", "# Billing\n")
    scenario.commit("readme")
    head = scenario.push()
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.pull()
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    scenario.env("issue_comment", comment(scenario, f"/specmill regen {module}"))

    code, out, err = scenario.specmill(scenario.checkout(head), "bot", "run")

    assert code == 1, out + err
    assert [method for method, _ in github.calls()] == ["GET", "POST", "POST"]
    answer = github.body("POST", "/issues/42/comments")["body"]
    assert f"`{module}`" in answer
    assert "Known modules: `billing.invoice`, `billing.money`." in answer
    status = github.body("POST", "/statuses/")
    assert status["state"] == "failure" and module in status["description"]
    assert scenario.head_of(BRANCH) == head  # nothing regenerated, nothing pushed
