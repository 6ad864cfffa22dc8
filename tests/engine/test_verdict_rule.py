"""One verdict rule: a module whose quorum passed with a dissenter passes in ``regen``,
``verify``, the bundle report and the pull request's status, and the dissent shows."""

from __future__ import annotations

import json

from specmill.core.records import RunRecord
from specmill.github.bundle import Bundle, BundleEvent, read_bundle, write_bundle
from specmill.github.report import PullState, Report, plan_publish
from specmill.github.review import collect_notes
from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, Factory, executor, fail, plan
from tests.engine.test_regen import INVOICE_PY, last_record

HEAD = "a" * 40
BASE = "b" * 40


def with_quorum_of_one(factory: Factory) -> None:
    text = factory.read("specmill.toml").replace("verifiers = [", "quorum = 1\nverifiers = [", 1)
    factory.write("specmill.toml", text)
    factory.commit("quorum of one")


def status_of(record: RunRecord) -> tuple[str, str, str]:
    report = Report(
        repository="acme/billing",
        html_url="https://github.com/acme/billing",
        head_sha=HEAD,
        base_sha=BASE,
        reason="regenerating the affected modules",
        record=record,
    )
    published = plan_publish(report, PullState(HEAD, [], [], None))
    return published.verdict.github_state, published.summary_body, "\n".join(published.annotations)


def test_a_quorum_that_passed_with_one_dissenter_is_a_success_everywhere(
    factory: Factory, tmp_path
) -> None:
    with_quorum_of_one(factory)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, fail(message="rounding looks off")],
    )
    code, out, err = factory.main("regen")
    assert code == 0, err  # regen: passed and committed
    assert "committed" in out
    data = last_record(factory)
    module = data["modules"][0]
    assert module["status"] == "passed" and module["votes_needed"] == 1
    assert len(module["dissent"]) == 1
    record = RunRecord.model_validate(data)

    state, summary, annotations = status_of(record)
    assert state == "success"
    dissenter = module["dissent"][0]
    assert f"**dissent**: `{dissenter}`" in summary
    assert "dissent: voted against the result" in summary
    assert "rounding looks off" in summary  # shown, never hidden
    assert "quorum passed with dissent on billing.invoice" in summary
    assert "::warning" in annotations and "::error" not in annotations
    assert not any(n.blocking for n in collect_notes(record, [], {}))

    bundle = Bundle(
        specmill_version="0",
        event=BundleEvent(
            repository="acme/billing",
            number=7,
            base_sha=BASE,
            head_sha=HEAD,
            head_ref="feature",
            head_repository="acme/billing",
        ),
        reason="regenerating the affected modules",
        record=record,
    )
    carried = read_bundle(write_bundle(bundle, tmp_path / "bundle.json"))
    assert carried.record is not None
    assert status_of(carried.record)[0] == "success"  # the bundle report: the same verdict

    review = sorted((runs_dir(factory.root)).glob("*/review.md"))[-1].read_text()
    assert "the quorum passed, so its findings are comments" in review
    shown = factory.main("runs", data["run_id"])[1]
    assert f"dissent (shown, not blocking): {dissenter}" in shown


def test_reports_apply_the_rule_to_the_recorded_verdicts_again(factory: Factory) -> None:
    """A record claiming a pass that its own votes do not give is reported as a failure."""
    with_quorum_of_one(factory)
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, fail(message="rounding looks off")],
    )
    assert factory.main("regen")[0] == 0
    record = RunRecord.model_validate(last_record(factory))
    assert status_of(record)[0] == "success"
    record.modules[0].votes_needed = 2  # the quorum was two: one pass is not enough
    assert status_of(record)[0] == "failure"


def test_the_same_votes_without_the_quorum_fail_everywhere(factory: Factory) -> None:
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)] * 2,
        verifier=[PASS, fail(message="rounding looks off")] * 2,
    )
    code, _, _ = factory.main("regen")
    assert code == 1  # a majority of two needs both
    record = RunRecord.model_validate(last_record(factory))
    assert record.modules[0].status == "failed" and record.modules[0].votes_needed == 2
    assert status_of(record)[0] == "failure"


def test_verify_applies_the_same_rule_and_shows_the_dissent(factory: Factory) -> None:
    with_quorum_of_one(factory)
    factory.answers(verifier=[PASS, fail(message="rounding looks off")])
    code, out, err = factory.main("verify", "billing.money")
    assert code == 0, err
    assert "dissent: " in out and "voted against the quorum, which passed" in out
    record = json.loads(factory.main("runs", "--json")[1])[0]
    assert record["command"] == "verify" and record["modules"][0]["status"] == "passed"
