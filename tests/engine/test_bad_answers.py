"""Bad endpoints and bad answers end readably: exit 1, what went wrong, nothing written,
no worktree left, no traceback (Ctrl-C: exit 130). Issue 5, item 7."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from specmill.llm import backend as backends
from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, PY, Factory, executor, plan
from tests.engine.openai_server import Endpoint, Reply

INVOICE_PY = "src/billing/invoice.py"


def regen_fails(factory: Factory, *expected: str, code: int = 1) -> str:
    """Run regen; assert the exit code, the message, and that nothing changed."""
    before = factory.snapshot()
    exit_code, out, err = factory.main("regen")
    assert exit_code == code, err
    for text in expected:
        assert text in err, err
    assert "Traceback" not in out + err
    assert factory.snapshot() == before
    assert factory.worktrees() == []
    return err


def test_prose_instead_of_json(factory: Factory) -> None:
    factory.answers(planner=["I would start with a function.", "Sure!", "Here is my plan: …"])
    regen_fails(factory, "planner call for billing.invoice", "no valid Plan after 3 answer(s)")


def test_truncated_json(factory: Factory) -> None:
    cut = '{"files": [{"path": "src/billing/invoice.py", "content": "def tot'
    factory.answers(planner=[plan(INVOICE_PY)], executor=[cut, cut, cut])
    regen_fails(factory, "no valid ExecutorOutput", "not valid JSON")


def test_schema_valid_nonsense(factory: Factory) -> None:
    empty = {"files": [], "notes": "all done!"}
    factory.answers(planner=[plan(INVOICE_PY)], executor=[empty, empty])
    regen_fails(factory, "failed: no content for declared output src/billing/invoice.py")


def test_paths_outside_the_outputs_or_into_github_are_refused(factory: Factory) -> None:
    sneaky = {
        "files": [
            {"path": INVOICE_PY, "content": INVOICE_CODE},
            {"path": ".github/workflows/steal.yml", "content": "on: push\n"},
            {"path": "../outside.py", "content": "x = 1\n"},
            {"path": "/tmp/absolute.py", "content": "x = 1\n"},
            {"path": "src/billing/money.py", "content": "x = 1\n"},
            {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\n"},
        ],
        "notes": "",
    }
    factory.answers(planner=[plan(INVOICE_PY)], executor=[sneaky, sneaky])
    err = regen_fails(factory, "refused to write '.github/workflows/steal.yml'")
    assert "protected path (.github/**)" in err
    assert not (factory.root.parent / "outside.py").exists()
    review = next((runs_dir(factory.root)).glob("*/review.md")).read_text()
    for path in ("../outside.py", "/tmp/absolute.py", "src/billing/money.py", ".git/hooks"):
        assert f"refused to write '{path}" in review
    assert "path-refused" in review


def test_an_exhausted_budget_stops_the_run(factory: Factory) -> None:
    factory.write(
        "specmill.toml", factory.read("specmill.toml") + "\n[specmill.budget]\nmax_tokens = 100\n"
    )
    factory.answers(planner=[plan(INVOICE_PY)])
    err = regen_fails(factory, "budget-exceeded", "budget exhausted", "the call was not made")
    assert "max_tokens = 100" in err
    assert "budget: budget" not in err and "budget-exceeded: budget exhausted: planner call" in err


class Interrupting:
    """A backend that hits Ctrl-C during the second executor call, while the first
    candidate's check runs in its worktree."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.budget = inner.budget
        self.executor_calls = 0
        self.lock = threading.Lock()

    def complete(self, request: Any) -> Any:
        if request.role == "executor":
            with self.lock:
                self.executor_calls += 1
                second = self.executor_calls == 2
            if second:
                time.sleep(0.5)
                raise KeyboardInterrupt
        return self.inner.complete(request)

    def close(self) -> None:
        pass


def test_ctrl_c_mid_run_removes_the_worktrees(factory: Factory, monkeypatch) -> None:
    # fails at once on the sensitivity probe's sabotaged outputs, then takes its time
    factory.configure(candidates=2, checks=[f"{PY} -m compileall -q src && sleep 5"])
    factory.answers(planner=[plan(INVOICE_PY)], executor=[executor(INVOICE_PY, INVOICE_CODE)])
    scripted = backends.BACKENDS["scripted"]
    seen: list[Interrupting] = []

    def interrupting(*args: Any) -> Interrupting:
        seen.append(Interrupting(scripted(*args)))
        return seen[-1]

    monkeypatch.setitem(backends.BACKENDS, "scripted", interrupting)
    started = time.monotonic()
    err = regen_fails(factory, "specmill: interrupted", code=130)
    assert time.monotonic() - started < 4  # the 5 s check was killed, not waited for
    assert seen[0].executor_calls == 2
    assert "error" not in err.lower().replace("specmill: interrupted", "")


# --- the same through the real openai client, against a local server -------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(status=429, headers={"retry-after": "0"}), "HTTP 429"),
        (Reply(status=500), "HTTP 500"),
        (Reply(delay=3.0), "no answer within models.timeout = 0.5 s"),
    ],
    ids=["429-forever", "500", "timeout"],
)
def test_a_failing_endpoint(served: tuple[Factory, Endpoint], reply: Reply, expected: str) -> None:
    factory, endpoint = served
    endpoint.always = reply
    err = regen_fails(factory, expected, "planner call for billing.invoice (m-planner)")
    assert "2 attempts" in err  # max_retries = 1
    assert "sk-engine-test-secret" not in err
    assert len(endpoint.requests) == 2


def test_prose_through_the_real_client_is_reasked(served: tuple[Factory, Endpoint]) -> None:
    factory, endpoint = served
    endpoint.answer("m-planner", "Let me think about it.", plan(INVOICE_PY))
    endpoint.answer("m-fast", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)
    code, _, err = factory.main("regen")
    assert code == 0, err
    second = endpoint.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": "Let me think about it."}
    assert "could not be used" in second[-1]["content"]


def test_a_verifier_that_never_answers_validly_ends_the_module(
    served: tuple[Factory, Endpoint],
) -> None:
    factory, endpoint = served
    endpoint.answer("m-planner", plan(INVOICE_PY))
    endpoint.answer("m-fast", executor(INVOICE_PY, INVOICE_CODE))
    endpoint.answer("m-rev-a", "LGTM", "LGTM!", "Looks good to me.")
    endpoint.answer("m-rev-b", PASS)
    regen_fails(
        factory,
        "the verifiers could not review it: 1/2 verifiers passed, 2 needed"
        " (1 could not give a valid report)",
    )
    assert not endpoint.answers["m-rev-a"]  # re-asked twice (reask_limit = 2), then given up
