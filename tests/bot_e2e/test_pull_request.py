"""``specmill bot run`` on pull request events, end to end: checkout, engine, git, GitHub."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import responses

from tests.bot_e2e.conftest import BRANCH, MODEL_KEY, FakeGitHub, Scenario
from tests.conftest import git
from tests.engine.conftest import INVOICE, INVOICE_CODE, executor, plan
from tests.github.gh_support import TOKEN, user

INVOICE_PY = "src/billing/invoice.py"
INVOICE_MD = "specs/billing/invoice.md"
MONEY_PY = "src/billing/money.py"
GAP = {
    "kind": "spec-gap",
    "severity": "minor",
    "message": "R2 does not say whether an empty list is allowed.",
    "requirement": "R2",
}
NIT = {
    "kind": "code-defect",
    "severity": "minor",
    "message": "The items are walked twice.",
    "requirement": "R2",
    "file": INVOICE_PY,
    "line": 7,  # `if any(i < 0 …)`: the 5 header lines, then INVOICE_CODE
}
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def regenerate_answers(scenario: Scenario) -> None:
    scenario.answers(
        planner=[plan(INVOICE_PY, requirements=("R1", "R2"))],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[
            {"verdict": "pass", "summary": "R2 is vague", "findings": [GAP]},
            {"verdict": "pass", "summary": "fine", "findings": [NIT]},
        ],
    )


def spec_change(scenario: Scenario) -> str:
    """The pull request: the invoice spec says what total returns. Its head SHA."""
    scenario.branch()
    scenario.write(INVOICE_MD, INVOICE.replace("sum of the items", "sum of the items, an int"))
    scenario.commit("invoice: say what total returns")
    return scenario.push()


def opened(scenario: Scenario, github: FakeGitHub, monkeypatch: Any) -> tuple[str, Path, str]:
    """Replay pull_request opened: returns the head, the checkout and the run's stdout."""
    head = spec_change(scenario)
    regenerate_answers(scenario)
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 90001})
    github.add("POST", "/statuses/{sha}", {"id": 2})
    checkout = scenario.checkout(head)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event)

    code, out, err = scenario.specmill(checkout, "bot", "run")

    assert code == 0, out + err
    return head, checkout, out


def test_opened_regenerates_pushes_and_posts_one_review(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    head, checkout, out = opened(scenario, github, monkeypatch)

    pushed = scenario.head_of(BRANCH)
    assert git(scenario.origin, "rev-parse", f"{pushed}^").strip() == head
    message = git(scenario.origin, "log", "-1", "--format=%B", pushed)
    assert message.startswith("specmill: regenerate billing.invoice")
    assert "Specmill-Run: " in message and "Specmill-Module: billing.invoice sha256:" in message
    note = json.loads(git(scenario.origin, "notes", "--ref=specmill", "show", pushed))
    assert note["modules"][0]["module"] == "billing.invoice"
    assert INVOICE_CODE in git(scenario.origin, "show", f"{pushed}:{INVOICE_PY}")

    assert github.calls() == [
        ("GET", "/pulls/42"),  # after the push: GitHub shows the pushed commit as the head
        ("GET", "/pulls/42"),
        ("GET", "/pulls/42/files"),
        ("GET", "/pulls/42/comments"),
        ("GET", "/issues/42/comments"),
        ("POST", "/pulls/42/reviews"),
        ("POST", "/issues/42/comments"),
        ("POST", f"/statuses/{pushed}"),
    ]
    review = github.body("POST", "/pulls/42/reviews")
    assert review["commit_id"] == pushed and review["event"] == "COMMENT"
    placed = sorted((c["path"], c["line"], c["side"]) for c in review["comments"])
    assert placed == [(INVOICE_MD, 8, "RIGHT"), (INVOICE_PY, 7, "RIGHT")]
    code_comment = next(c for c in review["comments"] if c["path"] == INVOICE_PY)
    assert "walked twice" in code_comment["body"]
    spec_comment = next(c for c in review["comments"] if c["path"] == INVOICE_MD)
    assert "an empty list" in spec_comment["body"]
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert summary.startswith("<!-- specmill:summary -->") and "billing.invoice" in summary
    assert f"pushed {pushed[:12]} to {BRANCH}" in summary
    status = github.body("POST", "/statuses/")
    assert status["state"] == "success" and status["context"] == "specmill"
    assert "verdict=success" in (scenario.tmp / "github-output").read_text(encoding="utf-8")
    assert "1 module(s) regenerated and verified" in out

    # The checks ran on the pull request's code without any secret in their environment.
    check_env = json.loads(scenario.env_dump.read_text(encoding="utf-8"))
    assert "GITHUB_TOKEN" not in check_env and "OPENAI_API_KEY" not in check_env
    assert TOKEN not in json.dumps(check_env) and MODEL_KEY not in json.dumps(check_env)
    assert "extraheader" not in git(checkout, "config", "--list")
    for secret in (TOKEN, BASIC, MODEL_KEY):
        assert scenario.leaked(secret) == [], secret


def test_a_hand_edited_module_is_reported_not_overwritten(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    scenario.branch()
    scenario.write(INVOICE_MD, INVOICE.replace("sum of the items", "sum of the items, an int"))
    money = scenario.read(MONEY_PY).replace("* 100)", "* 100)  # hand fix")
    scenario.write(MONEY_PY, money)
    scenario.commit("invoice spec, and a quick fix to money")
    head = scenario.push()
    regenerate_answers(scenario)  # answers for billing.invoice only: money must not be asked
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event)

    code, out, err = scenario.specmill(scenario.checkout(head), "bot", "run")

    assert code == 1, out + err
    pushed = scenario.head_of(BRANCH)
    assert git(scenario.origin, "show", f"{pushed}:{MONEY_PY}") == money
    assert "regenerating billing.invoice\n" in out
    comments = github.body("POST", "/pulls/42/reviews")["comments"]
    assert (MONEY_PY, 7, "hand-edited") in [
        (c["path"], c["line"], "hand-edited" if "hand-edited" in c["body"] else "")
        for c in comments
    ]
    status = github.body("POST", "/statuses/")
    assert status["state"] == "failure" and github.calls()[-1] == ("POST", f"/statuses/{pushed}")


def test_synchronize_edits_the_summary_in_place(
    scenario: Scenario, api: responses.RequestsMock, github: FakeGitHub, monkeypatch: Any
) -> None:
    opened(scenario, github, monkeypatch)
    review = github.body("POST", "/pulls/42/reviews")
    summary = github.body("POST", "/issues/42/comments")["body"]
    bot = user("github-actions[bot]", "Bot")
    posted = [
        {"id": 7000 + i, "body": c["body"], "path": c["path"], "line": c["line"], "user": bot}
        for i, c in enumerate(review["comments"])
    ]
    first = scenario.head_of(BRANCH)
    api.reset()

    # The author pulls the bot's commit and pushes another spec change.
    scenario.git("pull", "--quiet", "--ff-only", "origin", BRANCH)
    scenario.write(INVOICE_MD, scenario.read(INVOICE_MD).replace("rejects", "refuses"))
    scenario.commit("invoice: refuses")
    head = scenario.push()
    regenerate_answers(scenario)  # the same findings again: already posted, not reposted
    github.reads(
        review_comments=posted,
        issue_comments=[{"id": 90001, "body": summary, "user": bot}],
        payload="pull_request.synchronize.json",
    )
    github.add("PATCH", "/issues/comments/90001", {"id": 90001, "body": "edited"})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    event = scenario.event(
        "pull_request.synchronize.json", BASE=scenario.base, HEAD1=first, HEAD2=head
    )
    scenario.env("pull_request", event)

    code, out, err = scenario.specmill(scenario.checkout(head), "bot", "run")

    assert code == 0, out + err
    second = scenario.head_of(BRANCH)
    assert git(scenario.origin, "rev-parse", f"{second}^").strip() == head
    assert github.calls() == [
        ("GET", "/pulls/42"),
        ("GET", "/pulls/42"),
        ("GET", "/pulls/42/files"),
        ("GET", "/pulls/42/comments"),
        ("GET", "/issues/42/comments"),
        ("PATCH", "/issues/comments/90001"),
        ("POST", f"/statuses/{second}"),
    ]
    edited = github.body("PATCH", "/issues/comments/90001")["body"]
    assert edited.startswith("<!-- specmill:summary -->") and second[:12] in edited
    assert "0 new inline comment(s), summary edited" in out
    # The notes of both runs are on origin: the second push merged the first's in.
    noted = git(scenario.origin, "notes", "--ref=specmill", "list").split()
    assert first in noted and second in noted


def test_hand_edit_without_a_model_key_fails_on_the_edited_line(
    keyless: Scenario, api: responses.RequestsMock, no_model: list[str]
) -> None:
    github = FakeGitHub(api, keyless)
    keyless.branch()
    edited = keyless.read(INVOICE_PY).replace("return sum(items)", "return sum(items) or 0")
    keyless.write(INVOICE_PY, edited)
    keyless.commit("quick fix")
    head = keyless.push()
    before = keyless.refs()
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    event = keyless.event("pull_request.opened.json", BASE=keyless.base, HEAD1=head)
    keyless.env("pull_request", event)

    code, out, err = keyless.specmill(keyless.checkout(head), "bot", "run")

    assert code == 1, out + err
    assert "no model key: checks only" in out
    assert no_model == []
    assert keyless.refs() == before  # nothing pushed
    comments = github.body("POST", "/pulls/42/reviews")["comments"]
    assert [(c["path"], c["line"]) for c in comments] == [(INVOICE_PY, 7)]
    assert "hand-edited" in comments[0]["body"]
    status = github.body("POST", "/statuses/")
    assert status["state"] == "failure" and "hand-edited" in status["description"]
    assert github.calls()[-1] == ("POST", f"/statuses/{head}")
    assert f"::error title=specmill hand-edited,file={INVOICE_PY},line=7::" in out


def test_adoption_in_a_pull_request_is_reported(
    keyless: Scenario, api: responses.RequestsMock, no_model: list[str]
) -> None:
    github = FakeGitHub(api, keyless)
    keyless.branch()
    keyless.write("specs/billing/tax.md", "---\noutputs: [src/billing/tax.py]\n---\n# Tax\n")
    keyless.write("src/billing/tax.py", "RATE = 0.2\n")
    keyless.specmill(keyless.dev, "adopt", "src/billing/tax.py")
    keyless.commit("adopt tax")
    head = keyless.push()
    github.reads()
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    event = keyless.event("pull_request.opened.json", BASE=keyless.base, HEAD1=head)
    keyless.env("pull_request", event)

    code, out, err = keyless.specmill(keyless.checkout(head), "bot", "run")

    assert code == 0, out + err
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert "### Adopted, not generated" in summary
    # the header (5 lines) and the code: a reviewer sees how much came in unreviewed
    assert "- `src/billing/tax.py`: +6 −0 lines, new file" in summary.splitlines()
    assert "Adopted, not generated" in keyless.step_summary()


def test_fork_pull_request_writes_nothing_and_uses_no_secret(
    scenario: Scenario, api: responses.RequestsMock, no_model: list[str], monkeypatch: Any
) -> None:
    scenario.branch("patch-1")
    scenario.write(INVOICE_MD, INVOICE.replace("sum of the items", "sum of the items, an int"))
    scenario.commit("invoice: say what total returns")
    head = scenario.push("refs/pull/57/head")  # what GitHub keeps of a fork's branch
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)  # even if a workflow passed one
    before = scenario.refs()
    event = scenario.event("pull_request.opened.fork.json", BASE=scenario.base, FORK_HEAD=head)
    scenario.env("pull_request", event)
    checkout = scenario.checkout(head, "refs/pull/57/head")

    code, out, err = scenario.specmill(checkout, "bot", "run")

    assert code == 1, out + err  # the fork leaves billing.invoice stale
    assert len(api.calls) == 0  # no GitHub request at all, let alone a write
    assert no_model == []
    assert scenario.refs() == before
    assert "fork pull request: checks only" in out
    step = scenario.step_summary()
    assert "### Not regenerated here" in step and "`billing.invoice`" in step
    assert "::error title=specmill stale" in out

    # The generate phase of the two-phase workflow: no token, a bundle, still no secret.
    scenario.env("pull_request", event, token=None)
    bundle = scenario.tmp / "bundle"
    code, out, err = scenario.specmill(checkout, "bot", "generate", "--bundle", str(bundle))
    assert code == 0, out + err
    data = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    assert data["event"]["head_repository"] == "mallory/billing"
    assert data["pending"] == ["billing.invoice"] and data["patch"] is None
    assert len(api.calls) == 0 and no_model == [] and scenario.refs() == before
    assert scenario.leaked(MODEL_KEY) == [] and scenario.leaked(TOKEN) == []
