"""Forged bundles (issue 11): a patch beyond the declared outputs, module ids that inject
Mermaid, bundles that would take the merge quadratic time, a bundle naming another PR."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from specmill.core.config import BotConfig
from specmill.core.records import ModuleResult, RunRecord
from specmill.github import twophase
from specmill.github.bundle import (
    Bundle,
    bundle_event,
    check_bundle_matches,
    check_target_matches,
    validate_bundle,
    write_bundle,
)
from specmill.github.errors import BundleError
from specmill.github.matrix import MAX_BUNDLES, MAX_TOTAL_BYTES, merge_bundles, read_bundles
from specmill.github.patch_tree import local_tree
from specmill.github.patchguard import PatchRefused, check_patch
from specmill.github.report import Report
from specmill.github.summary import render_summary
from tests.github.gh_support import (
    FORK_HEAD,
    INVOICE_PATCH,
    MONEY_SPEC,
    PR_FILES,
    GitHubMock,
    payload,
    scenario_record,
)
from tests.github.test_app import client, settings
from tests.github.test_bundle import fork_target, make, raw, workflow_run

OUTPUTS = {"src/billing/invoice.py", "tests/billing/test_invoice.py", "src/billing/money.py"}
PROTECTED = (".git/**", ".github/**", "specmill.toml", ".specmill/**", "specs/**")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def format_patch(tmp_path: Path, change: Any) -> str:
    """``git format-patch`` of one commit that ``change(worktree)`` makes: a real patch."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    (repo / "src" / "billing").mkdir(parents=True)
    (repo / "src" / "billing" / "invoice.py").write_text("def total(items):\n    return 1\n")
    (repo / "src" / "billing" / "money.py").write_text("def cents(x):\n    return x\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")
    change(repo)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "specmill: regenerate")
    return git(repo, "format-patch", "--stdout", "--no-signature", "--binary", "-M", "HEAD~1")


def pwn(repo: Path) -> None:
    """The attack of issue 11: a workflow, and a symbolic link to the runner's SSH key."""
    (repo / "src" / "billing" / "invoice.py").write_text("def total(items):\n    return 2\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "pwn.yml").write_text("on: push\n")
    (repo / "src" / "billing" / "key").symlink_to("/home/runner/.ssh/id_rsa")


def head_of(repo: Path) -> Any:
    """The tree the patch of ``format_patch`` applies to (its base commit)."""
    return lambda paths: local_tree(repo, "HEAD~1", paths)


def test_a_fork_bundle_whose_patch_adds_a_workflow_and_a_symlink_is_refused_as_a_failure(
    tmp_path: Path, github: GitHubMock
) -> None:
    """Nothing of the bundle is posted or offered: only the refusal, and a failing status."""
    bundle = make(patch=format_patch(tmp_path, pwn))
    write_bundle(bundle, tmp_path / "bundle")
    fork_pr = payload("pull_request.opened.fork.json")["pull_request"]
    github.pull(57, fork_pr)
    github.base_specs()
    github.reads(57, fork_pr, PR_FILES)
    github.add("POST", "/issues/57/comments", {"id": 1})
    github.add("POST", f"/statuses/{FORK_HEAD}", {"id": 2})
    report = settings(tmp_path, "workflow_run", "workflow_run.completed.fork.json")
    out = io.StringIO()

    code = twophase.report(report, BotConfig(), bundle_path=tmp_path / "bundle", github=client,
                           out=out)  # fmt: skip

    assert code == 1
    refusal = (
        "the bundle's patch is refused, and with it the whole bundle: line 14 "
        "('diff --git a/.github/workflows/pwn.yml b/.github/workflows/pwn.yml'): "
        "'.github/workflows/pwn.yml' is a protected path (.github/**)"
    )
    assert f"specmill: refused: {refusal}" in out.getvalue()
    assert ("POST", "/pulls/57/reviews") not in github.requests()  # no finding of the bundle
    assert ("GET", "/contents/specs/billing/invoice.md") in github.requests()  # the base's
    status = github.posted("/statuses/")
    assert status["state"] == "failure" and status["description"].startswith(refusal[:60])
    summary = github.posted("/issues/57/comments")["body"]
    assert "### Not delivered" in summary and "line 14" in summary
    assert "git apply specmill.patch" not in summary and "billing.money" not in summary


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda r: (
                (r / "src/billing/invoice.py").unlink()
                or (r / "src/billing/invoice.py").symlink_to("/home/runner/.ssh/id_rsa")
            ),
            "line 19 ('diff --git a/src/billing/invoice.py b/src/billing/invoice.py'): "
            "mode 120000: regular files only",
        ),
        (
            lambda r: (r / "src/billing/money.py").chmod(0o755),
            "line 13 ('new mode 100755'): "
            "'src/billing/money.py' changes its mode (100644 to 100755)",
        ),
        (
            lambda r: (r / "src/billing/money.py").write_bytes(bytes(range(256))),
            "line 12 ('GIT binary patch'): a binary patch",
        ),
        (
            lambda r: (r / "src/billing/money.py").rename(r / "src/billing/evil.py"),
            "'src/billing/evil.py' is not an output of the bundle's modules",
        ),
        (
            lambda r: (r / "specmill.toml").write_text("[specmill]\n"),
            "'specmill.toml' is a protected path (specmill.toml)",
        ),
        (
            lambda r: (r / "SPECS").mkdir() or (r / "SPECS/x.md").write_text("x\n"),
            "'SPECS/x.md' is a protected path (specs/**)",
        ),
    ],
    ids=["symlink-on-an-output", "mode-change", "binary", "rename-out", "config", "case"],
)
def test_patches_that_are_not_plain_edits_of_declared_outputs_are_refused(
    tmp_path: Path, change: Any, reason: str
) -> None:
    patch = format_patch(tmp_path, change)
    allowed = OUTPUTS | {"SPECS/x.md", "specmill.toml"}
    with pytest.raises(PatchRefused, match="refused") as raised:
        check_patch(patch, allowed, PROTECTED, head_of(tmp_path / "repo"))
    assert reason in str(raised.value)


NO_TREE = lambda paths: pytest.fail(f"the tree was read for {paths}: the reader refuses first")  # noqa: E731


@pytest.mark.parametrize(
    ("extended", "reason"),
    [
        (
            "similarity index 100%\nrename from .github/workflows/ci.yml\n"
            "rename to src/billing/money.py\n",
            "'.github/workflows/ci.yml' is a protected path",
        ),
        (
            "similarity index 100%\ncopy from .env\ncopy to src/billing/money.py\n",
            "'.env' is not an output",
        ),
        (
            "new file mode 160000\nindex 0000000..1234567\n",
            "mode 160000: regular files only",
        ),
    ],
    ids=["rename", "copy", "submodule"],
)
def test_hand_made_git_headers_are_checked_too(extended: str, reason: str) -> None:
    """git applies ``rename``/``copy`` lines and modes whatever the ``diff --git`` line
    says: a forged header naming an output must not smuggle other paths past the check."""
    forged = "diff --git a/src/billing/money.py b/src/billing/money.py\n" + extended
    with pytest.raises(PatchRefused) as raised:
        check_patch(forged, OUTPUTS, PROTECTED, NO_TREE)
    assert "line 1 ('diff --git a/src/billing/money.py b/src/billing/money.py')" in str(
        raised.value
    )
    assert reason in str(raised.value)


@pytest.mark.parametrize("end", [" \n", "\r\n"], ids=["space", "carriage-return"])
def test_a_symlink_mode_that_a_simpler_reader_misses_is_refused_too(end: str) -> None:
    """git reads ``new file mode 120000`` followed by a space or a ``\\r`` as a mode
    (``strtoul``, then any white space); unidiff's patterns did not match such a line."""
    patch = (
        "diff --git a/src/billing/money.py b/src/billing/money.py\n"
        f"new file mode 120000{end}"
        "--- /dev/null\n+++ b/src/billing/money.py\n"
        "@@ -0,0 +1 @@\n+/home/runner/.ssh/id_rsa\n"
    )
    with pytest.raises(PatchRefused, match="mode 120000: regular files only"):
        check_patch(patch, OUTPUTS, PROTECTED, NO_TREE)


def test_a_regular_patch_of_outputs_is_accepted_and_its_files_listed(tmp_path: Path) -> None:
    def regenerate(repo: Path) -> None:
        (repo / "src" / "billing" / "invoice.py").write_text("def total(items):\n    return 3\n")
        (repo / "tests" / "billing").mkdir(parents=True)
        (repo / "tests" / "billing" / "test_invoice.py").write_text("def test(): pass\n")

    patch = format_patch(tmp_path, regenerate)
    assert check_patch(patch, OUTPUTS, PROTECTED, head_of(tmp_path / "repo")) == (
        "src/billing/invoice.py",
        "tests/billing/test_invoice.py",
    )


def test_a_patch_for_a_module_the_base_has_no_spec_for_is_refused(
    tmp_path: Path, github: GitHubMock
) -> None:
    write_bundle(make(patch=INVOICE_PATCH), tmp_path / "bundle")
    fork_pr = payload("pull_request.opened.fork.json")["pull_request"]
    github.pull(57, fork_pr)
    github.base_specs({"specs/billing/money.md": MONEY_SPEC, "specs/billing/invoice.md": None})
    github.reads(57, fork_pr, PR_FILES)
    github.add("POST", "/issues/57/comments", {"id": 1})
    github.add("POST", f"/statuses/{FORK_HEAD}", {"id": 2})
    report = settings(tmp_path, "workflow_run", "workflow_run.completed.fork.json")

    code = twophase.report(
        report, BotConfig(), bundle_path=tmp_path / "bundle", github=client, out=io.StringIO()
    )

    assert code == 1
    status = github.posted("/statuses/")
    assert status["state"] == "failure"
    summary = github.posted("/issues/57/comments")["body"]
    assert "has no spec" in summary and "git apply" not in summary.replace("for `git apply`", "")


# --- item 5: module ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    ['x"]\n  click m0 href "javascript:alert(1)"\n  y["', "a/../../etc", "a b", ""],
)
def test_module_ids_in_a_bundle_follow_the_spec_rule(module: str) -> None:
    data = raw()
    data["record"]["modules"][0]["module"] = module
    with pytest.raises(BundleError, match=r"module id .* is not valid"):
        validate_bundle(json.dumps(data).encode())
    data = raw(graph={"billing.invoice": [module]})
    with pytest.raises(BundleError, match=r"module id .* is not valid"):
        validate_bundle(json.dumps(data).encode())


def test_mermaid_labels_keep_only_allowed_characters() -> None:
    """Even a module id that reached the summary another way cannot leave its label."""
    record = scenario_record(FORK_HEAD)
    hostile = record.modules[0].model_copy(
        update={"module": 'x"]\n  click m0 href "javascript:alert(1)"\n  y["'}
    )
    record = record.model_copy(update={"modules": [hostile]})
    report = Report.for_pull(fork_target(), "r", record=record)
    from specmill.github.report import summarise

    body = render_summary(summarise(report, [], []))
    diagram = body[body.index("```mermaid") : body.index("```", body.index("```mermaid") + 3)]
    assert "click" not in diagram.replace("x  click m0 href javascriptalert1  y", "")
    assert '"' not in diagram.replace('m0["', "").replace(' ➖"]', "").replace(' ✅"]', "")
    assert 'm0["x  click m0 href javascriptalert1  y ' in diagram  # one inert label


# --- item 8: merge ----------------------------------------------------------------------


def modules_bundle(prefix: str, count: int) -> Bundle:
    modules = [
        ModuleResult(
            module=f"{prefix}{i}", spec=f"specs/{prefix}{i}.md", inputs_hash="x", status="passed"
        )
        for i in range(count)
    ]
    record = RunRecord(run_id=prefix, started_at="2026-01-01T00:00:00Z", modules=modules)
    return Bundle(
        specmill_version="0", event=bundle_event(fork_target()), reason="r", record=record
    )


def test_merging_many_modules_is_linear_and_the_total_is_capped() -> None:
    merged = merge_bundles([modules_bundle(p, 1_250) for p in "abcd"])  # was quadratic
    assert merged.record is not None and len(merged.record.modules) == 5_000
    with pytest.raises(BundleError, match="the bundles hold 5001 modules, more than 5000"):
        merge_bundles([modules_bundle("a", 2_500), modules_bundle("b", 2_501)])


def test_the_number_and_total_size_of_bundles_are_capped(tmp_path: Path) -> None:
    many = tmp_path / "many"
    for i in range(MAX_BUNDLES + 1):
        (many / f"b{i:03}").mkdir(parents=True)
    with pytest.raises(BundleError, match=f"{MAX_BUNDLES + 1} bundles, more than {MAX_BUNDLES}"):
        read_bundles(many)
    big = tmp_path / "big"
    for i in range(5):
        path = write_bundle(make(), big / f"b{i}")
        with (path / "specmill.patch").open("ab") as handle:
            handle.truncate(15 * 1024 * 1024)
    with pytest.raises(BundleError, match=f"more than {MAX_TOTAL_BYTES}"):
        read_bundles(big)


# --- item 15: a bundle naming another pull request --------------------------------------


def test_a_bundle_naming_another_pull_request_is_refused_as_a_forgery_not_a_race() -> None:
    bundle = make()  # the fork's run: mallory/billing, branch patch-1
    check_bundle_matches(bundle, workflow_run())
    other_pull = fork_target().model_copy(
        update={"number": 12, "head_repository": "acme/billing", "head_ref": "main"}
    )
    with pytest.raises(BundleError) as raised:
        check_target_matches(bundle, other_pull)
    message = str(raised.value)
    assert "names pull request #12, whose head is not the bundle's" in message
    assert "'acme/billing:main', not 'mallory/billing:patch-1'" in message
    assert "newer run" not in message
    moved = fork_target().model_copy(update={"head_sha": "1" * 40})
    with pytest.raises(BundleError, match="a newer run will report"):
        check_target_matches(bundle, moved)  # the same branch, moved on: a race


def test_a_bundle_claiming_another_branch_than_the_run_is_refused() -> None:
    forged = make(event=make().event.model_copy(update={"head_ref": "main"}))
    with pytest.raises(
        BundleError, match="head branch 'main' does not match the workflow run's 'patch-1'"
    ):
        check_bundle_matches(forged, workflow_run())
