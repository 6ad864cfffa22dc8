"""The matrix's report: groups merged with the one-phase verdict, duplicates, missing bundles."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from specmill.core.records import ModuleResult, RunRecord, Verdict
from specmill.errors import SpecmillError
from specmill.github import twophase
from specmill.github.bundle import Bundle, BundleProblem, bundle_event, write_bundle
from specmill.github.events import PullRequestEvent, parse_event
from specmill.github.matrix import merge_matrix, parse_matrix, read_named_bundles
from tests.github.gh_support import FORK_HEAD, HEAD1, PR_FILES, GitHubMock, payload
from tests.github.test_app import CONFIG, client, settings

MATRIX = json.dumps(
    {
        "include": [
            {"name": "calc +1", "modules": "calc report"},
            {"name": "other", "modules": "other"},
        ]
    }
)
GRAPH = {"calc": [], "report": ["calc"], "other": []}


def passed(module: str) -> ModuleResult:
    return ModuleResult(
        module=module,
        spec=f"specs/{module}.md",
        inputs_hash="sha256:" + "c" * 64,
        status="passed",
        files=[f"src/{module}.py"],
        verdicts=[
            Verdict(verifier="rev-a", verdict="pass"),
            Verdict(verifier="rev-b", verdict="pass"),
        ],
    )


def stale(module: str) -> BundleProblem:
    return BundleProblem(
        path=f"src/{module}.py", line=1, kind="stale", message="inputs changed", module=module
    )


def job(
    modules: list[str],
    *,
    problems: list[BundleProblem] | None = None,
    event_file: str = "pull_request.opened.json",
) -> Bundle:
    """A matrix job's bundle: its share regenerated, the rest of the head seen as stale."""
    event = parse_event("pull_request", payload(event_file))
    assert isinstance(event, PullRequestEvent)
    others = [m for m in GRAPH if m not in modules]
    record = RunRecord(
        run_id=f"run-{modules[0]}", started_at="2026-01-01T00:00:00Z",
        modules=[passed(m) for m in modules],
    )  # fmt: skip
    return Bundle(
        specmill_version="0.1.0",
        event=bundle_event(event.target),
        reason="pull request opened",
        record=record,
        problems=problems if problems is not None else [stale(m) for m in others],
        graph=GRAPH,
        modules=modules,
        patch="".join(patch_of(m) for m in modules),
    )


def patch_of(module: str) -> str:
    """What a job's `git format-patch` holds for a module: its one output, changed."""
    return (
        f"diff --git a/src/{module}.py b/src/{module}.py\n"
        "index 3b18e51..a8c2f1e 100644\n"
        f"--- a/src/{module}.py\n+++ b/src/{module}.py\n"
        "@@ -1 +1 @@\n-old = 1\n+new = 2\n"
    )


def specs_at(github: GitHubMock, ref: str, modules: Sequence[str] = tuple(GRAPH)) -> None:
    """The specs the report reads to check the patches: each declares src/<module>.py."""
    specs = {f"specs/{m}.md": f"---\noutputs: [src/{m}.py]\n---\n# {m}\n" for m in modules}
    github.base_specs(specs, ref=ref)


def test_a_module_regenerated_by_another_job_is_not_stale_in_the_merge() -> None:
    edit = BundleProblem(path="src/x.py", line=3, kind="hand-edited", message="edited", module="x")
    one = job(["calc", "report"])
    two = job(["other"], problems=[stale("calc"), stale("report"), edit])
    merged = merge_matrix([("bundle-0", one), ("bundle-1", two)], parse_matrix(MATRIX))
    assert merged.bundle is not None and merged.bundle.record is not None
    assert [m.module for m in merged.bundle.record.modules] == ["calc", "report", "other"]
    assert merged.bundle.problems == [edit]  # a hand edit stays: no job answers it
    assert (merged.duplicates, merged.unreported) == ({}, [])
    assert merged.patches == [patch_of("calc") + patch_of("report"), patch_of("other")]


def test_a_module_in_two_bundles_is_named_with_both_and_left_out() -> None:
    split = [("bundle-0", job(["calc", "report"])), ("bundle-1", job(["report"]))]
    merged = merge_matrix([*split, ("bundle-2", job(["other"]))], parse_matrix(MATRIX))
    assert merged.duplicates == {"report": ["bundle-0", "bundle-1"]}
    assert merged.conflicts == ["module 'report' is in more than one bundle: bundle-0, bundle-1"]
    assert merged.bundle is not None and merged.bundle.record is not None
    assert [m.module for m in merged.bundle.record.modules] == ["calc", "other"]


def test_the_modules_of_a_missing_bundle_are_not_reported() -> None:
    merged = merge_matrix([("bundle-1", job(["other"]))], parse_matrix(MATRIX))
    assert merged.unreported == ["calc", "report"]
    nothing = merge_matrix([], parse_matrix(MATRIX))
    assert nothing.bundle is None and nothing.unreported == ["calc", "report", "other"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"include": [{"name": "x"}]}',
        '{"include": 3}',
        '{"include": [{"modules": ["a", "b"]}]}',
        "[" * 100_000,
    ],
)
def test_a_matrix_that_is_not_affected_s_output_is_a_clear_error(text: str) -> None:
    with pytest.raises(SpecmillError, match="not the output of `specmill affected --matrix`"):
        parse_matrix(text)


def report(tmp_path: Path, bundles: Path) -> tuple[int, str]:
    final = settings(tmp_path, "pull_request", "pull_request.opened.json")
    out = io.StringIO()
    code = twophase.report(
        final, CONFIG, bundle_path=bundles, matrix=MATRIX, github=client, out=out
    )
    return code, out.getvalue()


def expect_publish(
    github: GitHubMock, *, review: bool, patched: Sequence[str] = tuple(GRAPH)
) -> None:
    if patched:
        specs_at(github, HEAD1, patched)
        github.head_tree({f"src/{m}.py": "old = 1\n" for m in patched}, commit=HEAD1)
    github.reads(42, payload("pull_request.opened.json")["pull_request"], PR_FILES)
    if review:
        github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})


def test_report_of_a_duplicate_fails_naming_it_and_still_reports_the_rest(
    tmp_path: Path, github: GitHubMock
) -> None:
    hostile = "bundle-@admins <b>"
    write_bundle(job(["calc", "report"]), tmp_path / "bundles" / "bundle-0")
    write_bundle(job(["report"]), tmp_path / "bundles" / hostile)
    write_bundle(job(["other"]), tmp_path / "bundles" / "bundle-2")
    expect_publish(github, review=False)

    code, out = report(tmp_path, tmp_path / "bundles")

    assert code == 1
    summary = github.posted("/issues/42/comments")["body"]
    status = github.posted("/statuses/")
    assert status["state"] == "failure"
    assert status["description"].startswith(
        "module 'report' is in more than one bundle: bundle-0, bundle-@admins <b>"
    )
    assert "### Bundles in conflict" in summary
    assert "bundle-@\u2060admins &lt;b&gt;" in summary and "<b>" not in summary
    assert "`calc` | ✅ passed" in summary and "`other` | ✅ passed" in summary
    assert "`report` |" not in summary
    assert "not committed: the bundles conflict" in summary
    assert "more than one bundle" in out


def test_report_with_a_missing_bundle_fails_and_names_its_modules(
    tmp_path: Path, github: GitHubMock
) -> None:
    write_bundle(job(["other"]), tmp_path / "bundles" / "bundle-1")
    expect_publish(github, review=False, patched=["other"])

    code, _ = report(tmp_path, tmp_path / "bundles")

    assert code == 1
    summary = github.posted("/issues/42/comments")["body"]
    assert (
        "### Not reported" in summary
        and "`calc`, `report`: their matrix job left no bundle" in summary
    )
    assert "specmill regen calc\nspecmill regen report\n" in summary  # reproduce locally
    status = github.posted("/statuses/")
    assert status["state"] == "failure"
    assert status["description"] == "not reported (a matrix job left no bundle): calc, report"


def test_report_when_every_job_died_still_posts_a_failing_status(
    tmp_path: Path, github: GitHubMock
) -> None:
    expect_publish(github, review=False, patched=[])

    code, _ = report(tmp_path, tmp_path / "nothing-downloaded")

    assert code == 1
    assert "calc, report, other" in github.posted("/statuses/")["description"]


def test_read_named_bundles_names_each_by_its_artifact(tmp_path: Path) -> None:
    write_bundle(job(["other"]), tmp_path / "all" / "specmill-bundle-1")
    assert [name for name, _ in read_named_bundles(tmp_path / "all")] == ["specmill-bundle-1"]


def test_a_fork_keeps_patch_delivery_and_its_checkout_is_left_alone(
    tmp_path: Path, github: GitHubMock
) -> None:
    fork = "pull_request.opened.fork.json"
    write_bundle(job(["calc", "report"], event_file=fork), tmp_path / "bundles" / "bundle-0")
    write_bundle(job(["other"], event_file=fork), tmp_path / "bundles" / "bundle-1")
    specs_at(github, payload(fork)["pull_request"]["base"]["sha"])  # a fork's: the base's
    github.head_tree({f"src/{m}.py": "old = 1\n" for m in GRAPH})  # the head's files
    github.reads(57, payload(fork)["pull_request"], PR_FILES)
    github.add("POST", "/issues/57/comments", {"id": 2})
    github.add("POST", f"/statuses/{FORK_HEAD}", {"id": 3})
    checkout = tmp_path / "checkout"
    checkout.mkdir()

    code = twophase.report(
        settings(tmp_path, "pull_request", fork), CONFIG, bundle_path=tmp_path / "bundles",
        matrix=MATRIX, checkout=checkout, github=client, out=io.StringIO(),
    )  # fmt: skip

    assert code == 0
    summary = github.posted("/issues/57/comments")["body"]
    assert (
        "patch: fork pull request: each job's bundle artifact holds its specmill.patch" in summary
    )
    assert github.posted("/statuses/")["state"] == "success"
    assert list(checkout.iterdir()) == []


def test_a_job_s_record_may_not_speak_for_another_job_s_module(
    tmp_path: Path, github: GitHubMock
) -> None:
    """A job whose record claims 'other' (another job's share) to patch src/other.py."""
    claiming = job(["calc", "report"])
    assert claiming.record is not None
    record = claiming.record.model_copy(
        update={"modules": [*claiming.record.modules, passed("other")]}
    )
    claiming = claiming.model_copy(update={"record": record, "patch": patch_of("other")})
    write_bundle(claiming, tmp_path / "bundles" / "bundle-0")
    write_bundle(job(["other"]), tmp_path / "bundles" / "bundle-1")
    specs_at(github, HEAD1, ["other"])
    github.head_tree({"src/other.py": "old = 1\n"}, commit=HEAD1)
    github.reads(42, payload("pull_request.opened.json")["pull_request"], PR_FILES)
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})

    code, out = report(tmp_path, tmp_path / "bundles")

    assert code == 1
    why = (
        "bundle-0: the bundle's patch is refused, and with it the whole bundle: its record has "
        "module 'other', which is not among the job's modules (calc, report)"
    )
    assert f"specmill: refused: {why}" in out
    assert github.posted("/statuses/")["state"] == "failure"
    summary = github.posted("/issues/42/comments")["body"]
    assert "git apply specmill.patch" not in summary and "`other` |" not in summary
