"""The example matrix workflow wires what the README promises (actionlint/zizmor aside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def test_only_the_report_job_may_write_contents_and_it_runs_when_a_job_died() -> None:
    workflow = load("examples/workflows/specmill-matrix.yml")
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    writers = [name for name, job in jobs.items() if job["permissions"].get("contents") == "write"]
    assert writers == ["report"]
    assert jobs["report"]["if"].startswith("always() && needs.affected.result == 'success'")
    generate = jobs["regenerate"]["steps"][1]["with"]
    assert generate["modules"] == "${{ matrix.modules }}" and generate["mode"] == "generate"
    assert "api-key" in generate and "github-token" not in generate
    checkout, _, report, _ = jobs["report"]["steps"]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert checkout["with"]["persist-credentials"] is False
    assert report["with"]["mode"] == "report" and report["with"]["delivery"] == "commit"
    assert report["with"]["matrix"] == "${{ needs.affected.outputs.matrix }}"
    assert "api-key" not in report["with"]


def test_the_action_passes_the_matrix_and_delivery_to_the_report() -> None:
    action = load("action.yml")
    assert "matrix" in action["inputs"]
    script = next(s for s in action["runs"]["steps"] if s.get("id") == "specmill")["run"]
    report = script[script.index("report)") : script.index("affected)")]
    assert 'args+=(--matrix "$SPECMILL_MATRIX")' in report
    assert 'args+=(--delivery "$SPECMILL_DELIVERY")' in report


def test_the_two_phase_report_reads_what_it_checks_the_patch_against_and_writes_no_code() -> None:
    """The base's specs and the head's files come through the API: contents: read only."""
    report = load("examples/workflows/specmill-two-phase-report.yml")["jobs"]["report"]
    assert report["permissions"]["contents"] == "read"
    assert not any("actions/checkout" in step.get("uses", "") for step in report["steps"])
