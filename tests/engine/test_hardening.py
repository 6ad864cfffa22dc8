"""Issue 11, runtime items, end to end through the real CLI: what a check (model or pull
request code), a model answer and a flaky runner can still do to a run."""

from __future__ import annotations

import pytest

from tests.cli.test_workflow_commands import obeyed
from tests.engine.conftest import PASS, Factory, executor, plan

INVOICE_PY = "src/billing/invoice.py"


def test_a_check_command_from_the_config_never_reaches_the_log_as_a_command(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull request's config names check commands; the progress and the failure
    report print them, and a newline in one forged a command in the trusted job's log."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    forged = "::set-output name=verdict::success"
    factory.configure(checks=[f"exit 1\n{forged}", "false\r  ::add-mask::y"])
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return 0\n")] * 2,
        verifier=[PASS, PASS] * 2,
    )
    code, out, err = factory.main("regen")
    assert code == 1
    assert "set-output name=verdict::success" in out + err  # shown, but inert
    assert obeyed(out) == [] and obeyed(err) == []
