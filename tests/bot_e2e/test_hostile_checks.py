"""Issue 18, items 3 and 4, through ``specmill bot run`` with delivery ``commit``.

A pull request's check (a same-repository pull request: its author may change the
checks) plants ``protocol.ext.allow always`` and ``url.<ext::…>.insteadOf <origin>``
in the git configuration it can reach, hooks in the hooks folder git names, and a
process that detaches itself (``setsid``). Before, worktrees shared the checkout's
``.git/config``: specmill's authenticated push ran the check's command with the token
in its environment, and the detached process outlived the run.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import responses
from pydantic import SecretStr

from specmill.engine.checks import RUNNING
from specmill.errors import SpecmillError
from specmill.github.delivery import Remote, deliver
from specmill.github.events import PullRequestEvent, parse_event
from tests.bot_e2e.conftest import BRANCH, MODEL_KEY, PY, FakeGitHub, Scenario
from tests.bot_e2e.test_pull_request import BASIC, regenerate_answers, spec_change
from tests.conftest import git
from tests.engine.test_reaping import kill_if_alive
from tests.github.gh_support import TOKEN, payload

HOOKS = ("pre-push", "reference-transaction", "post-commit", "post-checkout", "pre-auto-gc")


def hostile(scenario: Scenario, git_dir: str) -> str:
    """The check: plant in ``git_dir`` (a shell expression), detach a sleeper, compile."""
    tmp = scenario.tmp
    leak, hooked, pidfile = tmp / "ext-leak", tmp / "hook-leak", tmp / "detached.pid"
    origin = str(scenario.origin)
    steps = [
        f'g="{git_dir}"',
        'git --git-dir="$g" config protocol.ext.allow always',
        f'git --git-dir="$g" config {shlex.quote(f"url.ext::sh -c env>{leak}.insteadOf")}'
        f" {shlex.quote(origin)}",
        'hooks="$g/hooks"; mkdir -p "$hooks"',
        *(
            f"printf '#!/bin/sh\\nenv > {hooked}-{name}\\n' > \"$hooks/{name}\""
            f' && chmod +x "$hooks/{name}"'
            for name in HOOKS
        ),
        f"(setsid sh -c 'echo $$ > {pidfile}; exec sleep 300' &)",
        f"{PY} -m compileall -q src",  # so that it can fail: the sensitivity probe
    ]
    return " && ".join(steps)


def with_check(scenario: Scenario, check: str) -> tuple[str, Path]:
    """The pull request: the invoice spec changes, and the hostile check comes with it."""
    config = scenario.read("specmill.toml")
    scenario.write(
        "specmill.toml", re.sub(r"(?m)^checks = .*$", f"checks = [{json.dumps(check)}]", config)
    )
    head = spec_change(scenario)
    regenerate_answers(scenario)
    checkout = scenario.checkout(head)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event)
    return head, checkout


def nothing_of_the_check_ran_or_survived(scenario: Scenario) -> None:
    leaks = sorted(p.name for p in scenario.tmp.glob("*-leak*"))
    assert leaks == [], f"commands of the check's choosing ran: {leaks}"
    pid = int((scenario.tmp / "detached.pid").read_text())
    assert not kill_if_alive(pid), "the check's detached process outlived specmill bot run"
    for secret in (TOKEN, BASIC, MODEL_KEY):
        assert scenario.leaked(secret) == [], secret


def test_what_a_check_plants_through_git_never_reaches_the_push(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    # the reproduction: the check runs git where it is
    head, checkout = with_check(scenario, hostile(scenario, "$(git rev-parse --git-common-dir)"))
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})

    code, out, err = scenario.specmill(checkout, "bot", "run")

    assert code == 0, out + err
    pushed = scenario.head_of(BRANCH)
    assert git(scenario.origin, "rev-parse", f"{pushed}^").strip() == head  # delivered
    nothing_of_the_check_ran_or_survived(scenario)
    assert "protocol.ext.allow" not in git(checkout, "config", "--list")
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert "process(es) it left running were ended" in summary  # the run says how many


def test_a_check_that_writes_the_checkouts_git_directory_stops_the_delivery(
    scenario: Scenario, api: responses.RequestsMock, monkeypatch: Any
) -> None:
    # deliberate: the check finds the checkout (its repository borrows the checkout's
    # objects) and writes its .git by path
    checkout_git = '$(dirname "$(cat "$(git rev-parse --git-dir)/objects/info/alternates")")'
    head, checkout = with_check(scenario, hostile(scenario, checkout_git))
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)

    code, _, err = scenario.specmill(checkout, "bot", "run")

    assert code == 1
    assert "changed while the checks ran" in err and "protocol.ext.allow" in err
    assert scenario.head_of(BRANCH) == head  # nothing pushed
    assert len(api.calls) == 0  # nothing posted: the error came first
    nothing_of_the_check_ran_or_survived(scenario)
    assert "protocol.ext.allow" in git(checkout, "config", "--list")  # it did plant it


def test_no_delivery_while_a_check_runs() -> None:
    """The last guard: a check still running (another thread's) stops any push."""
    event = parse_event("pull_request", payload("pull_request.opened.json"))
    assert isinstance(event, PullRequestEvent)
    remote = Remote(root=Path("."), token=SecretStr(TOKEN))
    RUNNING.add(999_999)
    try:
        with pytest.raises(SpecmillError, match="a check is still running"):
            deliver(
                "commit", remote, event.target, "c" * 40, start_sha="d" * 40, patch_dir=Path(".")
            )
    finally:
        RUNNING.discard(999_999)
