"""Prompt parts measured, cut in the stated order, recorded; and staleness untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from specmill.core.config import Config, ModelsConfig
from specmill.core.project import load_project
from specmill.core.records import Plan
from specmill.engine.agents import Agents, Calls
from specmill.engine.inputs import Brief, Dependency, gather
from specmill.engine.prompt_parts import measure
from specmill.engine.prompts import PromptLibrary
from specmill.errors import SpecmillError
from specmill.llm.scripted import ScriptedBackend
from specmill.llm.tokens import estimate
from tests.conftest import runs_dir
from tests.engine.conftest import PASS, Factory, executor, plan

INVOICE_PY = "src/billing/invoice.py"
MONEY_BODY = "".join(f"    step_{n} = amount * {n}  # BODY\n" for n in range(300))
MONEY_CODE = (
    "RATE = 100\n\n\n"
    'def cents(amount: float) -> int:\n    """Cents of an amount."""\n'
    f"{MONEY_BODY}    return round(amount * RATE)\n"
)


def brief() -> Brief:
    return Brief(
        module="billing.invoice",
        spec_path="specs/billing/invoice.md",
        spec_text="# Invoice\n- **R1** `total(items)` returns the sum.\n",
        requirements=[{"id": "R1", "line": 2, "text": "`total(items)` returns the sum."}],
        outputs=[INVOICE_PY],
        dependencies=[
            Dependency(
                "billing.money",
                "specs/billing/money.md",
                "# Money\n- **M1** `cents(amount)`.\n",
                ["cents(amount: float) -> int"],
                files={"src/billing/money.py": "DEPENDENCY CODE " * 400},
            )
        ],
        context={"docs/guide.md": "CONTEXT TEXT " * 1000},
        governance={"STYLE.md": "# Style\n- Keep it simple.\n"},
        previous={INVOICE_PY: "PREVIOUS CODE " * 300},
    )


PLAN = Plan.model_validate(plan(INVOICE_PY))


def agents(tmp_path: Path, limit: int | None) -> Agents:
    config = Config(models=ModelsConfig(backend="scripted", max_prompt_tokens=limit))
    backend = ScriptedBackend({}, models=config.models)
    return Agents(config, backend, PromptLibrary(tmp_path), Calls())


def test_each_part_is_measured() -> None:
    b = brief()
    parts = measure({**b.variables(), "feedback": None}, estimate)
    assert parts == {
        "spec": estimate(b.spec_text),
        "governance": estimate("# Style\n- Keep it simple.\n"),
        "dependencies": estimate("# Money\n- **M1** `cents(amount)`.\n")
        + estimate("cents(amount: float) -> int")
        + estimate("DEPENDENCY CODE " * 400),
        "context": estimate("CONTEXT TEXT " * 1000),
        "previous": estimate("PREVIOUS CODE " * 300),
    }
    feedback = {
        "attempt": 1,
        "files": {INVOICE_PY: "x" * 40},
        "checks": [],
        "findings": [{"message": "y" * 8}],
        "summaries": ["z" * 4],
    }
    assert measure({**b.variables(), "feedback": feedback}, estimate)["feedback"] == 10 + 2 + 1


def test_a_prompt_within_its_limit_is_sent_whole(tmp_path: Path) -> None:
    prepared = agents(tmp_path, None).prepare("executor", brief(), "m", plan=PLAN, feedback=None)
    assert prepared.cut == []
    user = prepared.prompt.messages[1]["content"]
    assert "CONTEXT TEXT" in user and "DEPENDENCY CODE" in user and "PREVIOUS CODE" in user


def test_parts_are_cut_in_the_stated_order_and_said(tmp_path: Path) -> None:
    whole = agents(tmp_path, None).prepare("executor", brief(), "m", plan=PLAN, feedback=None)
    total = sum(estimate(m["content"]) for m in whole.prompt.messages)
    context = whole.parts["context"]
    dependencies = whole.parts["dependencies"]
    # Just too long: the context files go first, nothing else.
    one = agents(tmp_path, total - 100).prepare("executor", brief(), "m", plan=PLAN, feedback=None)
    assert one.cut == [f"context ({context:,} tokens)"]
    user = one.prompt.messages[1]["content"]
    assert "CONTEXT TEXT" not in user and "DEPENDENCY CODE" in user
    # Shorter still: then the dependencies' code; their specs and public API stay.
    limit = total - context - 100
    two = agents(tmp_path, limit).prepare("executor", brief(), "m", plan=PLAN, feedback=None)
    assert two.cut == [f"context ({context:,} tokens)", f"dependencies ({dependencies:,} tokens)"]
    user = two.prompt.messages[1]["content"]
    assert "DEPENDENCY CODE" not in user and "PREVIOUS CODE" in user
    assert "cents(amount: float) -> int" in user and "**M1** `cents(amount)`" in user
    assert "**R1** `total(items)` returns the sum." in user  # the spec is never cut


def test_a_prompt_too_long_without_every_part_that_may_be_cut_is_an_error(tmp_path: Path) -> None:
    feedback = {
        "attempt": 1,
        "candidate": 1,
        "files": {INVOICE_PY: "REJECTED " * 50},
        "checks": [],
        "findings": [],
        "summaries": [],
        "others": [],
        "error": None,
    }
    with pytest.raises(SpecmillError) as raised:
        agents(tmp_path, 50).prepare("executor", brief(), "m", plan=PLAN, feedback=feedback)
    message = raised.value.message
    assert message.startswith("the executor prompt for billing.invoice is ")
    cut = re.search(r"over its limit of 50 even without (.*)", message)
    assert cut is not None
    assert re.findall(r"(\w+) \([\d,]+ tokens\)", cut.group(1)) == [
        "context",
        "dependencies",
        "previous",
        "governance",
        "feedback",
    ]
    assert "max_prompt_tokens" in (raised.value.hint or "")


def test_the_record_lists_the_parts_and_what_was_cut(factory: Factory) -> None:
    toml = factory.read("specmill.toml")
    factory.write("specmill.toml", toml + "max_prompt_tokens = 900\n")  # in [specmill.models]
    factory.write("docs/guide.md", "# Guide\n" + "Long prose. " * 600)
    spec = factory.read("specs/billing/invoice.md").replace(
        "depends_on:", "context: [docs/guide.md]\ndepends_on:"
    )
    factory.write("specs/billing/invoice.md", spec)
    factory.commit("context")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, "def total(items):\n    return sum(items)\n")],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    # said on the progress display as well as in the record
    assert "billing.invoice: planner prompt cut to " in err
    assert " tokens to fit its limit: left out context (" in err
    runs = sorted((runs_dir(factory.root)).glob("*/record.json"))
    calls = json.loads(runs[-1].read_text())["calls"]
    for call in calls:
        assert {"spec", "governance", "dependencies", "context"} <= set(call["prompt_parts"])
        assert call["prompt_cut"][0].startswith("context (")
        assert call["token_count"]
    transcript = next(runs[-1].parent.glob("calls/*-planner.md")).read_text()
    assert "cut to fit: context (" in transcript and "Long prose." not in transcript


# --- what makes a module stale is unchanged ------------------------------------------


def test_the_inputs_hash_is_not_made_of_what_agents_are_shown(factory: Factory) -> None:
    def invoice_hash() -> str:
        project = load_project(factory.root, cache=False)
        return project.inputs_hash(project.by_id["billing.invoice"])

    before = invoice_hash()
    project = load_project(factory.root, cache=False)
    shown_before = gather(project, project.by_id["billing.invoice"], project.read)
    # The dependency's body and interface change, and the prompt settings too: the
    # dependent's inputs are the same (its dependency's *spec* is one of them, not code).
    header, _ = factory.read("src/billing/money.py").split("def cents", 1)
    factory.write("src/billing/money.py", header + MONEY_CODE.split("\n\n\n", 1)[1])
    toml = factory.read("specmill.toml").replace(
        "max_attempts = 2", "max_attempts = 2\nedit_threshold_lines = 10"
    )
    factory.write("specmill.toml", toml + "max_prompt_tokens = 100000\n")
    assert invoice_hash() == before
    project = load_project(factory.root, cache=False)
    shown = gather(project, project.by_id["billing.invoice"], project.read)
    (dep,) = shown.dependencies
    assert dep.forms == {"src/billing/money.py": "interface"}
    assert "def cents(amount: float) -> int:" in dep.files["src/billing/money.py"]
    assert "BODY" not in dep.files["src/billing/money.py"]
    assert shown.dependencies != shown_before.dependencies
    # A context file is an input, as before: changing it makes the module stale.
    spec = factory.read("specs/billing/invoice.md").replace(
        "depends_on:", "context: [docs/guide.md]\ndepends_on:"
    )
    factory.write("specs/billing/invoice.md", spec)
    factory.write("docs/guide.md", "# Guide\n")
    with_context = invoice_hash()
    factory.write("docs/guide.md", "# Guide, changed\n")
    assert invoice_hash() != with_context


def test_a_dependency_output_named_in_context_is_shown_whole(factory: Factory) -> None:
    header, _ = factory.read("src/billing/money.py").split("def cents", 1)
    factory.write("src/billing/money.py", header + MONEY_CODE)
    spec = factory.read("specs/billing/invoice.md").replace(
        "depends_on:", "context: [src/billing/money.py]\ndepends_on:"
    )
    factory.write("specs/billing/invoice.md", spec)
    project = load_project(factory.root, cache=False)
    shown = gather(project, project.by_id["billing.invoice"], project.read)
    assert shown.dependencies[0].files == {}  # not twice
    assert shown.context["src/billing/money.py"] == MONEY_CODE
    assert shown.context_forms == {"src/billing/money.py": "text"}


def test_a_context_code_file_is_shown_by_interface_and_prose_as_text(factory: Factory) -> None:
    factory.write("tools/helpers.py", MONEY_CODE)
    factory.write("docs/guide.md", "# Guide\n\ndef not_code(): pass\n")
    spec = factory.read("specs/billing/invoice.md").replace(
        "depends_on:", "context: [tools/helpers.py, docs/guide.md]\ndepends_on:"
    )
    factory.write("specs/billing/invoice.md", spec)
    project = load_project(factory.root, cache=False)
    shown = gather(project, project.by_id["billing.invoice"], project.read)
    assert shown.context_forms == {"tools/helpers.py": "interface", "docs/guide.md": "text"}
    assert "def cents(amount: float) -> int:" in shown.context["tools/helpers.py"]
    assert "BODY" not in shown.context["tools/helpers.py"]
    assert shown.context["docs/guide.md"] == "# Guide\n\ndef not_code(): pass\n"
