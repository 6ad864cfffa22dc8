"""Stale messages name the input that changed (issue 12, item 7), after a real regen."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from specmill.hooks.stale import main as stale_hook
from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, Factory, executor, plan
from tests.hooks.support import run_main

INVOICE_PY = "src/billing/invoice.py"


def regenerated(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen", "billing.invoice")
    assert code == 0, err


def append(path: str, text: str) -> Callable[[Factory], None]:
    return lambda f: f.write(path, f.read(path) + text)


CHANGES = {
    "governance file STYLE.md changed": append("STYLE.md", "- No globals.\n"),
    "the spec of dependency billing.money (specs/billing/money.md) changed": append(
        "specs/billing/money.md", "- **M2** Rounds half-even.\n"
    ),
    "its spec specs/billing/invoice.md changed": append(
        "specs/billing/invoice.md", "- **R3** An empty list totals 0.\n"
    ),
    "template override .specmill/templates/prompts/planner.j2 was added, changed or removed": (
        lambda f: f.write(".specmill/templates/prompts/planner.j2", "Plan {{ module }}.\n")
    ),
    "the model configuration ([specmill.models]) changed": (
        lambda f: f.write("specmill.toml", f.read("specmill.toml").replace("rev-b", "rev-c"))
    ),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_check_and_the_hook_name_the_input_that_changed(factory: Factory, what: str) -> None:
    regenerated(factory)
    CHANGES[what](factory)
    code, out, _ = factory.main("check", INVOICE_PY)
    assert code == 1
    assert f"{INVOICE_PY}:1: stale: generated from older inputs: {what}" in out.splitlines()
    code, lines = run_main(stale_hook, factory.root)
    assert code == 1
    assert f"  changed: {what}" in lines


def test_the_git_note_names_it_when_the_local_record_is_gone(factory: Factory) -> None:
    regenerated(factory)
    shutil.rmtree(runs_dir(factory.root))
    CHANGES["governance file STYLE.md changed"](factory)
    code, out, _ = factory.main("check", INVOICE_PY)
    assert code == 1
    assert "stale: generated from older inputs: governance file STYLE.md changed" in out


def test_an_adopted_module_says_why_the_input_is_not_known(factory: Factory) -> None:
    code, out, _ = factory.main("check", INVOICE_PY)  # the fixture's invoice spec changed
    assert code == 1
    assert (
        f"{INVOICE_PY}:1: stale: generated from older inputs than specs/billing/invoice.md and "
        "its dependencies now give (which one changed is not known: an adoption records no "
        "inputs)"
    ) in out.splitlines()
