"""The planner's ambiguities reach the pull request: inline on the spec line that holds
their requirement, else under "Questions the spec leaves open" (PyGithub through
``responses``, a replayed pull_request event, a real checkout)."""

from __future__ import annotations

from typing import Any

import responses

from tests.bot_e2e.conftest import BRANCH, MODEL_KEY, FakeGitHub, Scenario
from tests.bot_e2e.test_pull_request import INVOICE_MD, INVOICE_PY, spec_change
from tests.engine.conftest import INVOICE, INVOICE_CODE, PASS, executor, plan
from tests.github.gh_support import user

ON_R1 = "Is an empty list of items allowed, and is its total 0?"
GENERAL = "Which currency are the items in?"


def answers(scenario: Scenario) -> None:
    asked = {
        **plan(INVOICE_PY, requirements=("R1", "R2")),
        "ambiguities": [
            {"requirement": "R1", "question": ON_R1},
            {"requirement": None, "question": GENERAL},
        ],
    }
    scenario.answers(
        planner=[asked], executor=[executor(INVOICE_PY, INVOICE_CODE)], verifier=[PASS, PASS]
    )


def r1_line() -> int:
    return next(n for n, line in enumerate(INVOICE.splitlines(), 1) if "**R1**" in line)


def test_an_ambiguity_lands_on_its_requirement_line_once(
    scenario: Scenario, api: responses.RequestsMock, github: FakeGitHub, monkeypatch: Any
) -> None:
    head = spec_change(scenario)  # changes the R1 line
    answers(scenario)
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 90001})
    github.add("POST", "/statuses/{sha}", {"id": 2})
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event)

    code, out, err = scenario.specmill(scenario.checkout(head), "bot", "run")

    assert code == 0, out + err
    (comment,) = github.body("POST", "/pulls/42/reviews")["comments"]
    assert (comment["path"], comment["line"], comment["side"]) == (INVOICE_MD, r1_line(), "RIGHT")
    assert ON_R1 in comment["body"] and "a question the spec leaves open" in comment["body"]
    assert comment["body"].startswith("<!-- specmill:finding ")
    summary = github.body("POST", "/issues/42/comments")["body"]
    questions = summary.split("### Questions the spec leaves open", 1)[1]
    pushed = scenario.head_of(BRANCH)
    link = f"https://github.com/acme/billing/blob/{pushed}/{INVOICE_MD}"
    assert f"[{INVOICE_MD}]({link}) in `billing.invoice`: {GENERAL}" in questions
    assert ON_R1 not in questions  # it is inline
    assert github.body("POST", "/statuses/")["state"] == "success"  # a question blocks nothing

    # The same question on the next push is not posted again.
    bot = user("github-actions[bot]", "Bot")
    posted = [{"id": 7000, **comment, "user": bot}]
    api.reset()
    scenario.git("pull", "--quiet", "--ff-only", "origin", BRANCH)
    scenario.write(INVOICE_MD, scenario.read(INVOICE_MD).replace("rejects", "refuses"))
    scenario.commit("invoice: refuses")
    second = scenario.push()
    answers(scenario)
    github.reads(
        review_comments=posted,
        issue_comments=[{"id": 90001, "body": summary, "user": bot}],
        payload="pull_request.synchronize.json",
    )
    github.add("PATCH", "/issues/comments/90001", {"id": 90001})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    event = scenario.event(
        "pull_request.synchronize.json", BASE=scenario.base, HEAD1=pushed, HEAD2=second
    )
    scenario.env("pull_request", event)

    code, out, err = scenario.specmill(scenario.checkout(second), "bot", "run")

    assert code == 0, out + err
    assert ("POST", "/pulls/42/reviews") not in github.calls()
    assert "0 new inline comment(s), summary edited" in out
