"""``trace``, ``runs``, ``plan`` and ``verify`` on real repositories, and the demo."""

from __future__ import annotations

import json

import pytest

from tests.conftest import runs_dir
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
    # line 8 = content line 3 (`raise ValueError`) below the 5 header lines
    assert "raise ValueError" in factory.read(INVOICE_PY).splitlines()[7]
    code, out, err = factory.main("trace", f"{INVOICE_PY}:8", "--json")
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
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:9")
    assert "requirement  R1 at specs/billing/invoice.md:7" in out


def test_trace_falls_back_to_the_local_run_record_and_explains_hand_edits(
    factory: Factory,
) -> None:
    regenerated(factory)
    factory.git("update-ref", "-d", "refs/notes/specmill")
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:8", "--json")
    assert json.loads(out)["record_from"].startswith(".git/specmill/runs/")
    factory.write(INVOICE_PY, factory.read(INVOICE_PY).replace("negative", "neg"))
    factory.commit("quick fix")
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:8")
    assert code == 0
    assert "line 8 was changed by commit" in out and "after specmill generated the file" in out
    factory.write(INVOICE_PY, factory.read(INVOICE_PY).replace("sum(items)", "sum(items) + 0"))
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:9")
    assert "line 9 was changed in the working tree" in out
    code, _, err = factory.main("trace", "specs/billing/invoice.md:1")
    assert code == 1 and "not a generated file" in err


def test_trace_works_after_regen_no_commit_and_a_manual_commit(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY, requirements=("R2",))],
        executor=[executor(INVOICE_PY, INVOICE_CODE, LINES)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen", "--no-commit")
    assert code == 0, err
    run_id = next(p.name for p in (runs_dir(factory.root)).iterdir() if p.is_dir())
    assert f"run={run_id}" in factory.read(INVOICE_PY).splitlines()[1]
    for moment in ("before the commit", "after a manual commit"):
        code, out, err = factory.main("trace", f"{INVOICE_PY}:8", "--json")
        assert code == 0, err
        trace = json.loads(out)
        assert trace["run_id"] == run_id, moment
        assert trace["record_from"] == f".git/specmill/runs/{run_id}"
        assert [r["id"] for r in trace["requirements"]] == ["R2"], trace["notes"]
        assert trace["plan_steps"] == ["step 1: implement it (R2)"]
        factory.commit("specmill output, reviewed")
    assert trace["commit"] == factory.git("rev-parse", "HEAD~1").strip()


def test_trace_says_so_when_no_requirement_claims_a_line(factory: Factory) -> None:
    regenerated(factory)
    factory.write(INVOICE_PY, factory.read(INVOICE_PY))  # unchanged
    code, out, _ = factory.main("trace", f"{INVOICE_PY}:2")  # a header line: no claim
    assert code == 0
    assert (
        "  note         no requirement claims this line: the executor mapped lines 6, 7-8, 9 "
        "of the generated file, not this one"
    ) in out.splitlines()
    assert "requirement  " not in out


def test_executor_line_claims_are_checked_against_the_spec_and_the_file(
    factory: Factory,
) -> None:
    claims = [
        {"start": 1, "end": 1, "requirements": ["R1", "R99"]},  # R99: no such requirement
        {"start": 2, "end": 40, "requirements": ["R2"]},  # past the end of the file
        {"start": 50, "end": 60, "requirements": ["R1"]},  # wholly past it
        {"start": 3, "end": 3, "requirements": ["NOPE-1"]},  # nothing valid left
    ]
    factory.answers(
        planner=[plan(INVOICE_PY, requirements=("R2",))],
        executor=[executor(INVOICE_PY, INVOICE_CODE, claims)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen")
    assert code == 0, err
    run_id = next(p.name for p in (runs_dir(factory.root)).iterdir() if p.is_dir())
    record = json.loads((runs_dir(factory.root) / run_id / "record.json").read_text())
    lines = len(factory.read(INVOICE_PY).splitlines())
    assert record["modules"][0]["line_requirements"][INVOICE_PY] == [
        {"start": 6, "end": 6, "requirements": ["R1"]},
        {"start": 7, "end": lines, "requirements": ["R2"]},
    ]


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
    prompt = next((runs_dir(factory.root)).glob("*/calls/*verifier*")).read_text()
    assert "implement it (R2)" in prompt  # the plan came from the run's git note
    factory.answers(verifier=[PASS, PASS])
    assert factory.main("verify", "billing.invoice")[0] == 0


def test_re_verifying_unchanged_code_is_one_review_in_the_stats(factory: Factory) -> None:
    for _ in range(3):
        factory.answers(verifier=[PASS, PASS])
        assert factory.main("verify", "billing.money")[0] == 0
    stats = json.loads(factory.main("runs", "--stats", "--json")[1])
    assert {s["verifier"]: (s["verdicts"], s["runs"]) for s in stats} == {
        "rev-a": (1, 3), "rev-b": (1, 3),
    }  # fmt: skip
    money = factory.read("src/billing/money.py")
    factory.write("src/billing/money.py", money.replace("100", "100.0"))
    factory.answers(verifier=[PASS, PASS])
    factory.main("verify", "billing.money")  # other code: another review
    stats = json.loads(factory.main("runs", "--stats", "--json")[1])
    assert [s["verdicts"] for s in stats] == [2, 2]


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


def test_trace_finds_the_record_of_an_older_header_by_its_inputs_hash(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY, requirements=("R2",))],
        executor=[executor(INVOICE_PY, INVOICE_CODE, LINES)],
        verifier=[PASS, PASS],
    )
    code, _, err = factory.main("regen", "--no-commit")
    assert code == 0, err
    lines = factory.read(INVOICE_PY).splitlines(keepends=True)
    run = lines[1].split("run=")[1].strip()
    lines[1] = lines[1].replace(f" run={run}", "")  # as a header without run= reads
    factory.write(INVOICE_PY, "".join(lines))
    factory.commit("committed by hand")
    code, out, err = factory.main("trace", f"{INVOICE_PY}:8", "--json")
    assert code == 0, err
    trace = json.loads(out)
    assert trace["run_id"] == run
    assert [r["id"] for r in trace["requirements"]] == ["R2"]


def test_a_hostile_run_id_in_a_header_is_not_used_as_a_path(factory: Factory) -> None:
    regenerated(factory)
    (factory.root / "secret").mkdir()
    (factory.root / "secret/record.json").write_text('{"run_id": "x"}', encoding="utf-8")
    text = factory.read(INVOICE_PY)
    run = text.splitlines()[1].split("run=")[1].strip()
    factory.write(INVOICE_PY, text.replace(f"run={run}", "run=../../secret"))
    factory.commit("a forged header")
    code, out, err = factory.main("trace", f"{INVOICE_PY}:8", "--json")
    assert code == 0, err
    assert json.loads(out)["record_from"] != ".git/specmill/runs/../../secret"
    factory.write("STYLE.md", factory.read("STYLE.md") + "- More.\n")
    code, out, err = factory.main("check")
    assert code == 1 and "Traceback" not in err
    assert "which one changed is not known" in out


@pytest.mark.parametrize(
    "spec",
    ["specs/billing/invoice.md", "specs/" + "a-rather-long-folder-name/" * 3 + "invoice.md"],
)
def test_trace_blames_the_header_line_each_generation_rewrites(tmp_path, spec: str) -> None:
    """`run=` moves down when a long spec path fills the first lines: trace follows it."""
    from specmill.core.header import stamp
    from specmill.engine.trace import read_generated

    text = stamp(
        "def total(items):\n    return sum(items)\n",
        "src/invoice.py",
        module="billing.invoice",
        spec=spec,
        inputs="sha256:" + "1" * 32,
        run="20260101-000000-abcdef",
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src/invoice.py").write_text(text, encoding="utf-8")
    _, header, line = read_generated(tmp_path, "src/invoice.py")
    assert " run=20260101-000000-abcdef" in text.splitlines()[line - 1]
    assert header.spec == spec
