"""``trace``, ``runs``, ``plan`` and ``verify`` on real repositories, and the demo."""

from __future__ import annotations

import json

from tests.engine.conftest import INVOICE_CODE, PASS, Factory, executor, fail, make_factory, plan
from tests.engine.openai_server import Endpoint

INVOICE_PY = "src/billing/invoice.py"
LINES = [
    {"start": 1, "end": 1, "requirements": ["R1"]},
    {"start": 2, "end": 3, "requirements": ["R2"]},
    {"start": 4, "end": 4, "requirements": ["R1"]},
]


def regenerated(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY, requirements=("R2",))],
        executor=[executor(INVOICE_PY, INVOICE_CODE, LINES)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err


def test_trace_leads_from_a_generated_line_to_its_requirement(factory: Factory) -> None:
    regenerated(factory)
    # line 6 = content line 3 (`raise ValueError`) below the 3 header lines
    assert "raise ValueError" in factory.read(INVOICE_PY).splitlines()[5]
    code, out, err = factory.main("trace", f"{INVOICE_PY}:6", "--json")
    assert code == 0, err
    trace = json.loads(out)
    assert trace["module"] == "billing.invoice"
    assert trace["spec"] == "specs/billing/invoice.md"
    assert trace["record_from"] == "git note"
    assert trace["requirements"] == [
        {"id": "R2", "spec_line": 8, "text": "`total` rejects negative items with `ValueError`."}
    ]
    assert trace["plan_steps"] == ["step 1: implement it (R2)"]
    assert trace["commit"] == factory.git("rev-parse", "HEAD").strip()
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:7")
    assert "requirement  R1 at specs/billing/invoice.md:7" in out


def test_trace_falls_back_to_the_local_run_record_and_explains_hand_edits(
    factory: Factory,
) -> None:
    regenerated(factory)
    factory.git("update-ref", "-d", "refs/notes/specmill")
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:6", "--json")
    assert json.loads(out)["record_from"].startswith(".specmill/runs/")
    factory.write(INVOICE_PY, factory.read(INVOICE_PY).replace("negative", "neg"))
    factory.commit("quick fix")
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:6")
    assert code == 0
    assert "line 6 was changed by commit" in out and "after specmill generated the file" in out
    factory.write(INVOICE_PY, factory.read(INVOICE_PY).replace("sum(items)", "sum(items) + 0"))
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:7")
    assert "line 7 was changed in the working tree" in out
    code, _, err = factory.main("trace", "specs/billing/invoice.md:1")
    assert code == 1 and "not a generated file" in err


def test_runs_lists_and_shows_records(factory: Factory) -> None:
    regenerated(factory)
    code, out, _ = factory.main("runs")
    assert code == 0
    run_id = out.split()[0]
    assert "1 passed" in out and "4 calls" in out
    code, out, _ = factory.main("runs", run_id)
    assert code == 0
    assert "billing.invoice: passed, 1 attempt(s), fast tier" in out
    assert "planner   billing.invoice" in out and "planner.j2 sha256:" in out
    code, _, err = factory.main("runs", "20000101-000000-abcdef")
    assert code == 1 and "no run '20000101-000000-abcdef'" in err


def test_plan_prints_the_plan_and_writes_nothing(factory: Factory) -> None:
    answer = plan(INVOICE_PY)
    answer["ambiguities"] = [{"requirement": "R1", "question": "Floats too?"}]
    answer["approaches"] = ["iterative", "table-driven"]
    factory.answers(planner=[answer])
    before = factory.snapshot()
    code, out, err = factory.main("plan", "billing.invoice")
    assert code == 0, err
    assert "1. implement it (R1)" in out and "R1: Floats too?" in out
    assert "Approaches (one per candidate, with candidates > 1):\n  - iterative\n" in out
    assert factory.snapshot() == before
    code, _, err = factory.main("plan", "billing.nope")
    assert code == 1 and "unknown module 'billing.nope'" in err


def test_verify_reviews_the_outputs_as_they_are(factory: Factory) -> None:
    regenerated(factory)
    factory.answers(verifier=[PASS, fail(line=6)])
    before = factory.snapshot()
    code, out, err = factory.main("verify", "billing.invoice")
    assert code == 1
    assert "rev-a: pass" in out or "rev-b: pass" in out
    assert "blocker code-defect R2 at src/billing/invoice.py:6: negatives accepted" in out
    assert "the verifiers disagree" in out
    assert "did not pass verification" in err
    assert factory.snapshot() == before
    assert factory.worktrees() == []
    prompt = next((factory.root / ".specmill/runs").glob("*/calls/*verifier*")).read_text()
    assert "implement it (R2)" in prompt  # the plan came from the run's git note
    factory.answers(verifier=[PASS, PASS])
    assert factory.main("verify", "billing.invoice")[0] == 0


def test_regen_through_the_real_openai_client(served: tuple[Factory, Endpoint]) -> None:
    factory, endpoint = served
    endpoint.answer("m-planner", plan(INVOICE_PY, complexity="medium"))
    endpoint.answer("m-standard", executor(INVOICE_PY, INVOICE_CODE, LINES))
    endpoint.answer("m-rev-a", PASS)
    endpoint.answer("m-rev-b", PASS)
    code, out, err = factory.main("regen")
    assert code == 0, err
    assert "4 model call(s), 4,400 tokens, $0.0012" in out
    note = json.loads(factory.git("notes", "--ref=specmill", "show", "HEAD"))
    assert [c["model"] for c in note["calls"][:2]] == ["m-planner", "m-standard"]
    sent = endpoint.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert "Keep it simple." in sent["messages"][1]["content"]  # governance reaches the planner
    # every call carries its role's output limit (models.max_output_tokens' defaults)
    limits = {r["model"]: r["max_tokens"] for r in endpoint.requests}
    assert limits == {"m-planner": 8192, "m-standard": 16384, "m-rev-a": 8192, "m-rev-b": 8192}
    assert "Specmill-Models: m-planner, m-rev-a, m-rev-b, m-standard" in factory.git(
        "log", "-1", "--format=%B"
    )


def test_verify_without_a_key_still_runs_and_reports_the_checks(tmp_path) -> None:
    """No model key: the checks run and are reported, then why the verifiers did not."""
    factory = make_factory(tmp_path, 'verifiers = [{model = "rev-a"}]')
    code, out, err = factory.main("verify", "billing.invoice")
    assert code == 1
    assert "-m compileall -q src: passed" in out
    assert "billing.invoice: the verifiers were skipped" in err
    assert "no API key. Set the environment variable OPENAI_API_KEY" in err
    assert "Traceback" not in err
    assert factory.worktrees() == []
