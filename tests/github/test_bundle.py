"""The result bundle: written by the untrusted phase, validated strictly by the trusted one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from specmill.github.bundle import (
    BUNDLE_FILE,
    MAX_BUNDLE_BYTES,
    PATCH_FILE,
    Bundle,
    BundleProblem,
    bundle_event,
    check_bundle_matches,
    check_target_matches,
    read_bundle,
    validate_bundle,
    write_bundle,
)
from specmill.github.errors import BundleError
from specmill.github.events import PullRequestEvent, WorkflowRunEvent, parse_event
from specmill.github.matrix import merge_bundles, read_bundles
from tests.github.gh_support import FORK_HEAD, HEAD1, payload, scenario_record


def fork_target() -> Any:
    event = parse_event("pull_request", payload("pull_request.opened.fork.json"))
    assert isinstance(event, PullRequestEvent)
    return event.target


def workflow_run() -> WorkflowRunEvent:
    event = parse_event("workflow_run", payload("workflow_run.completed.fork.json"))
    assert isinstance(event, WorkflowRunEvent)
    return event


def make(**changes: Any) -> Bundle:
    fields: dict[str, Any] = {
        "specmill_version": "0.1.0",
        "event": bundle_event(fork_target()),
        "reason": "fork pull request: checks only",
        "record": scenario_record(FORK_HEAD),
        "problems": [
            BundleProblem(path="src/billing/tax.py", line=11, kind="hand-edited", message="m")
        ],
        "requirement_lines": {"specs/billing/invoice.md": {"R1": 12}},
        "graph": {"billing.invoice": ["billing.money"]},
        "patch": "diff --git a/x b/x\n",
    }
    fields.update(changes)
    return Bundle(**fields)


@pytest.mark.parametrize("name", ["bundle.json", "bundle-dir"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    bundle = make()
    written = write_bundle(bundle, tmp_path / name)
    assert read_bundle(written) == bundle
    if name == "bundle-dir":
        assert sorted(p.name for p in written.iterdir()) == [BUNDLE_FILE, PATCH_FILE]
        assert (written / PATCH_FILE).read_text(encoding="utf-8") == bundle.patch


def raw(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(make().model_dump_json())
    data.update(changes)
    return data


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(BundleError, match="Extra inputs are not permitted"):
        validate_bundle(json.dumps(raw(token="x")).encode())
    data = raw()
    data["record"]["modules"][0]["sneaky"] = True
    with pytest.raises(BundleError, match=r"record\.modules\.0\.sneaky"):
        validate_bundle(json.dumps(data).encode())


def test_wrong_format_version_is_refused() -> None:
    with pytest.raises(BundleError, match="format"):
        validate_bundle(json.dumps(raw(format="specmill-bundle/2")).encode())


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/etc/passwd", "a/../../b", ".git/config", "a\\b", "a\nb"]
)
def test_unsafe_paths_are_refused(path: str) -> None:
    data = raw()
    data["record"]["modules"][1]["findings"][1]["file"] = path
    with pytest.raises(BundleError, match="unsafe path"):
        validate_bundle(json.dumps(data).encode())


def test_bad_sha_is_refused() -> None:
    data = raw()
    data["event"]["head_sha"] = "not-a-sha"
    with pytest.raises(BundleError, match=r"event\.head_sha"):
        validate_bundle(json.dumps(data).encode())


def test_size_limit(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="more than"):
        validate_bundle(b" " * (MAX_BUNDLE_BYTES + 1))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_BUNDLE_BYTES + 1))
    with pytest.raises(BundleError, match="larger than"):
        read_bundle(big)


def test_directory_with_a_stray_file_or_a_symlink_is_refused(tmp_path: Path) -> None:
    directory = write_bundle(make(), tmp_path / "b")
    (directory / "extra.sh").write_text("echo hi", encoding="utf-8")
    with pytest.raises(BundleError, match=r"unexpected 'extra\.sh'"):
        read_bundle(directory)
    os.remove(directory / "extra.sh")
    (directory / BUNDLE_FILE).rename(tmp_path / "real.json")
    (directory / BUNDLE_FILE).symlink_to(tmp_path / "real.json")
    with pytest.raises(BundleError, match="not a regular file"):
        read_bundle(directory)


def test_bundle_must_match_the_workflow_run() -> None:
    check_bundle_matches(make(), workflow_run())  # the fork's run: no pull_requests listed
    other = make(event=make().event.model_copy(update={"head_sha": HEAD1}))
    with pytest.raises(BundleError, match="head SHA"):
        check_bundle_matches(other, workflow_run())
    elsewhere = make(event=make().event.model_copy(update={"head_repository": "acme/billing"}))
    with pytest.raises(BundleError, match="head repository"):
        check_bundle_matches(elsewhere, workflow_run())
    listed = workflow_run().model_copy(update={"pull_requests": (12,)})
    with pytest.raises(BundleError, match="#57 is not the run's"):
        check_bundle_matches(make(), listed)


def test_pull_request_must_still_be_at_the_bundles_head() -> None:
    check_target_matches(make(), fork_target())
    moved = fork_target().model_copy(update={"head_sha": HEAD1})
    with pytest.raises(BundleError, match="a newer run will report"):
        check_target_matches(make(), moved)


def test_matrix_bundles_merge_into_one(tmp_path: Path) -> None:
    record = scenario_record(FORK_HEAD)
    money, invoice = record.modules
    one = make(record=record.model_copy(update={"modules": [money], "run_id": "a"}), patch="diff a")
    two = make(
        record=record.model_copy(update={"modules": [invoice], "run_id": "b"}), patch="diff b\n"
    )
    write_bundle(one, tmp_path / "all" / "specmill-bundle-money")
    write_bundle(two, tmp_path / "all" / "specmill-bundle-invoice")
    merged = merge_bundles(read_bundles(tmp_path / "all"))
    assert merged.record is not None
    assert sorted(m.module for m in merged.record.modules) == ["billing.invoice", "billing.money"]
    assert len(merged.problems) == 1  # the same check result from every job, once
    assert merged.patch in ("diff b\ndiff a\n", "diff a\ndiff b\n")
    with pytest.raises(BundleError, match="more than one bundle"):
        merge_bundles([one, one])
    elsewhere = make(event=make().event.model_copy(update={"number": 58}))
    with pytest.raises(BundleError, match="different pull requests"):
        merge_bundles([one, elsewhere])
