"""Issue 11, item 11, on the bot's side: `bot run` and `bot generate` take the
repository's run lock, as `specmill regen` does."""

from __future__ import annotations

import subprocess
import sys

from tests.bot_e2e.conftest import Scenario
from tests.bot_e2e.test_pull_request import spec_change

HOLD = (
    "import pathlib, time\n"
    "from specmill.engine.lock import repository_lock\n"
    "with repository_lock(pathlib.Path('.git'), 'specmill regen elsewhere'):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def test_generate_fails_at_once_with_no_wait_while_another_run_holds_the_lock(
    scenario: Scenario,
) -> None:
    head = spec_change(scenario)
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    scenario.env("pull_request", event, token=None)
    checkout = scenario.checkout(head)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD], cwd=checkout, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        bundle = scenario.tmp / "bundle"
        args = ["bot", "generate", "--bundle", str(bundle), "--no-wait"]
        code, _, err = scenario.specmill(checkout, *args)
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert f"pid {holder.pid} (specmill regen elsewhere, since " in err
    assert not bundle.exists()
