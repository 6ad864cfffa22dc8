"""Delivery end to end: a moved branch, the token on the wire, companion PRs, patches."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import responses

from specmill.core.config import Config
from specmill.engine.checks import scrubbed_environment
from specmill.github.render import text
from tests.bot_e2e.conftest import BRANCH, MODEL_KEY, FakeGitHub, Scenario
from tests.bot_e2e.test_pull_request import INVOICE_PY, regenerate_answers, spec_change
from tests.conftest import git
from tests.engine.conftest import INVOICE_CODE
from tests.github.gh_support import TOKEN

BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def start(scenario: Scenario, monkeypatch: Any) -> tuple[str, Path]:
    head = spec_change(scenario)
    regenerate_answers(scenario)
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY)
    checkout = scenario.checkout(head)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event)
    return head, checkout


@pytest.mark.parametrize("how", ["pushed on top", "rewound"])
def test_a_branch_that_moved_is_not_pushed_to(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any, how: str
) -> None:
    head, checkout = start(scenario, monkeypatch)
    # The author pushes while specmill runs (the checkout is at the old head): a new
    # commit (a plain push would be refused anyway), or the branch force-pushed back
    # to its base (a plain push would fast-forward over it; the lease refuses).
    if how == "rewound":
        scenario.git("reset", "--quiet", "--hard", scenario.base)
    else:
        scenario.write("README.md", "# Billing\n")
        scenario.commit("readme")
    moved = scenario.push()
    github.reads()  # read, see the new head, post nothing: the newer run reports

    code, out, err = scenario.specmill(checkout, "bot", "run")

    assert code == 0, out + err
    assert scenario.head_of(BRANCH) == moved
    assert f"not pushed: {BRANCH} moved from {head[:12]} to {moved[:12]}" in out
    assert f"the head moved from {head[:12]} to {moved[:12]}" in out
    assert [method for method, _ in github.calls()] == ["GET"] * 4
    patch = (scenario.runner / "specmill.patch").read_text(encoding="utf-8")
    assert "Specmill-Run: " in patch and "+    if any(i < 0 for i in items):" in patch
    assert "refs/notes/specmill" not in scenario.refs()  # the atomic push sent nothing


def test_delivery_waits_until_github_shows_the_pushed_head() -> None:
    from types import SimpleNamespace

    from specmill.github.delivery import await_pull_head
    from specmill.github.events import parse_event
    from tests.github.gh_support import payload

    event = parse_event("pull_request", payload("pull_request.opened.json"))
    target = event.target  # type: ignore[union-attr]
    heads = iter([target.head_sha, target.head_sha, "c" * 40])
    repo = SimpleNamespace(full_name="acme/billing")

    def get_pull(number: int) -> Any:
        head = SimpleNamespace(ref=BRANCH, sha=next(heads), repo=repo)
        base = SimpleNamespace(ref="main", sha="b" * 40)
        return SimpleNamespace(draft=False, base=base, head=head)

    gh = SimpleNamespace(get_repo=lambda name: SimpleNamespace(get_pull=get_pull))
    pauses: list[float] = []
    assert await_pull_head(gh, target, "c" * 40, pause=pauses.append)
    assert pauses == [1, 2]
    heads = iter([target.head_sha] * 3)
    assert not await_pull_head(gh, target, "c" * 40, tries=3, pause=pauses.append)


def test_checks_never_see_the_token() -> None:
    env = {"GITHUB_TOKEN": TOKEN, "OPENAI_API_KEY": MODEL_KEY, "PATH": "/usr/bin"}
    assert scrubbed_environment(env, Config()) == {"PATH": "/usr/bin"}


class _RefusingGitServer(http.server.BaseHTTPRequestHandler):
    """A git server on GitHub Enterprise Server that refuses, after noting the headers."""

    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(403)
        self.end_headers()
        self.wfile.write(b"Permission denied")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ghes() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingGitServer)
    _RefusingGitServer.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_push_authenticates_and_a_refusal_leaks_no_token(
    scenario: Scenario, api: responses.RequestsMock, ghes: str, monkeypatch: Any
) -> None:
    _, checkout = start(scenario, monkeypatch)
    git(checkout, "remote", "set-url", "origin", f"{ghes}/acme/billing.git")
    monkeypatch.setenv("GITHUB_SERVER_URL", ghes)

    code, _, err = scenario.specmill(checkout, "bot", "run")

    assert code == 1
    assert "specmill: error: delivery failed: git fetch refs/notes/specmill: " in err
    assert "The requested URL returned error: 403" in err and "contents: write" in err
    assert _RefusingGitServer.seen and set(_RefusingGitServer.seen) == {f"basic {BASIC}"}
    assert len(api.calls) == 0  # the error came before anything was posted
    for secret in (TOKEN, BASIC, MODEL_KEY):
        assert scenario.leaked(secret) == [], secret
    assert "extraheader" not in git(checkout, "config", "--list")


def test_pull_request_delivery_opens_a_companion(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    head, checkout = start(scenario, monkeypatch)
    branch = f"specmill/regen-42-{head[:7]}"
    github.add("GET", "/pulls", [])  # no companion open yet
    github.add("POST", "/pulls", {"number": 43, "html_url": "https://github.com/x/pull/43"})
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})

    code, out, err = scenario.specmill(checkout, "bot", "run", "--delivery", "pull-request")

    assert code == 0, out + err
    assert scenario.head_of(BRANCH) == head  # the author's branch is left alone
    companion = scenario.head_of(branch)
    assert git(scenario.origin, "rev-parse", f"{companion}^").strip() == head
    assert git(scenario.origin, "notes", "--ref=specmill", "show", companion).startswith("{")
    opened = github.body("POST", "/pulls")
    assert opened["head"] == branch and opened["base"] == BRANCH
    assert github.calls()[0] == ("GET", "/pulls")
    assert "companion pull request \\#43" in github.body("POST", "/issues/42/comments")["body"]
    assert github.calls()[-1] == ("POST", f"/statuses/{head}")


def test_patch_delivery_writes_a_patch_that_git_am_applies(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    head, checkout = start(scenario, monkeypatch)
    before = scenario.refs()
    github.reads()
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})

    code, out, err = scenario.specmill(checkout, "bot", "run", "--delivery", "patch")

    assert code == 0, out + err
    assert scenario.refs() == before
    patch = scenario.runner / "specmill.patch"
    summary = github.body("POST", "/issues/42/comments")["body"]
    detail = f"specmill.patch (written to {patch}); apply it with `git am specmill.patch`"
    assert text(detail) in summary  # delivery details name branches: inert text
    fresh = scenario.checkout(head)
    git(fresh, "am", "--quiet", str(patch))
    assert INVOICE_CODE in (fresh / INVOICE_PY).read_text(encoding="utf-8")
    assert "Specmill-Run: " in git(fresh, "log", "-1", "--format=%B")
