"""Done when: a module whose quorum passed with one dissenting verifier gets a ``success``
status on the pull request, with the dissent shown in the summary (issue 9)."""

from __future__ import annotations

from pathlib import Path

from specmill.core.records import Finding, ModuleResult, RunRecord, Verdict
from specmill.github import app
from tests.github.gh_support import HEAD1, PR_FILES, REQUIREMENT_LINES, GitHubMock, payload
from tests.github.test_app import FakeWork, run, settings

DEFECT = Finding(
    kind="code-defect",
    severity="major",
    message="Discount is subtracted after rounding; R1 requires rounding last.",
    requirement="R1",
    file="src/billing/invoice.py",
    line=20,
)


def dissent_record() -> RunRecord:
    module = ModuleResult(
        module="billing.invoice",
        spec="specs/billing/invoice.md",
        inputs_hash="sha256:" + "a" * 64,
        status="passed",
        attempts=1,
        files=["src/billing/invoice.py"],
        verdicts=[
            Verdict(verifier="gpt-4.1", verdict="pass", summary="meets R1-R3"),
            Verdict(verifier="o4-mini", verdict="fail", summary="R1 violated", findings=[DEFECT]),
        ],
        findings=[DEFECT],
        disagreement=True,
        dissent=["o4-mini"],
        votes_needed=1,
    )
    return RunRecord(run_id="20260101-000000-abcdef", started_at="2026-01-01T00:00:00Z",
                     command="regen", modules=[module])  # fmt: skip


def test_a_passed_quorum_with_a_dissenter_is_a_success_status(
    tmp_path: Path, github: GitHubMock
) -> None:
    github.reads(42, payload("pull_request.opened.json")["pull_request"], PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 90001})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})
    work = FakeWork(app.Findings(record=dissent_record(), requirement_lines=REQUIREMENT_LINES))

    code, out = run(settings(tmp_path, "pull_request", "pull_request.opened.json"), work)

    assert code == 0, out
    status = github.body(6)
    assert status["state"] == "success"
    assert "quorum passed with dissent on billing.invoice" in status["description"]
    summary = github.body(5)["body"]
    assert "## ✅ specmill: success" in summary
    assert "**dissent**: `o4-mini`" in summary
    assert "**o4-mini**: fail (dissent: voted against the result" in summary
    (comment,) = github.body(4)["comments"]  # the dissenter's finding, shown inline
    assert (
        "⚠️ major" in comment["body"]
        and "a comment: the module passed its quorum" in comment["body"]
    )
    assert "::warning title=specmill code-defect,file=src/billing/invoice.py,line=20::" in out
    assert "::error" not in out
