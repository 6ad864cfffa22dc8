"""Patches git applies differently from how a simpler reader sees them (issue 19).

Each attack patch names only ``src/billing/invoice.py`` in its ``diff --git`` line; git
itself (shown first, in a checkout of the head) writes a workflow, deletes one, copies
another file's blob in, or leaves the output executable. Given to ``specmill bot
report`` in a bundle, in the fork two-phase flow and in the matrix flow, each is
refused with the line that does it: the status fails, the summary says why and offers
no ``git apply``, no review is posted, nothing is committed or pushed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specmill.core.records import ModuleResult, RunRecord
from specmill.github.bundle import Bundle, bundle_event, write_bundle
from specmill.github.events import PullRequestEvent, load_event
from tests.bot_e2e.conftest import BRANCH, FakeGitHub, Scenario, refuse_models
from tests.bot_e2e.test_matrix import report_job
from tests.bot_e2e.test_pull_request import INVOICE_MD, INVOICE_PY
from tests.conftest import git

CI = ".github/workflows/ci.yml"
MATRIX = json.dumps({"include": [{"name": "billing.invoice", "modules": "billing.invoice"}]})


def with_workflow(scenario: Scenario) -> None:
    """``main`` gains a workflow, the file an attacker wants to change or delete."""
    scenario.write(CI, "on: push\n")
    scenario.commit("ci")
    scenario.git("push", "--quiet", "origin", "HEAD:refs/heads/main")
    scenario.base = scenario.head_of("main")


def replace_last_line(text: str, new: str) -> list[str]:
    """A hunk that replaces the last line of ``text`` with ``new``."""
    lines = text.splitlines()
    return [f"@@ -1,{len(lines)} +1,{len(lines)} @@", *(" " + x for x in lines[:-1]),
            "-" + lines[-1], "+" + new]  # fmt: skip


def attacks(scenario: Scenario) -> dict[str, tuple[str, str, str]]:
    """name -> (patch, what git stages when it applies it, the refusal it gets)."""
    invoice = scenario.read(INVOICE_PY)
    lines = invoice.splitlines()
    oid = {p: scenario.git("rev-parse", f"HEAD:{p}").strip() for p in (INVOICE_PY, CI)}
    header = f"diff --git a/{INVOICE_PY} b/{INVOICE_PY}"
    evil = ".github/workflows/evil.yml"
    patches = {
        "rename-old-new": (
            [header, "similarity index 90%", f"rename old {INVOICE_PY}", f"rename new {evil}",
             f"--- a/{INVOICE_PY}", f"+++ b/{evil}", *replace_last_line(invoice, "on: push")],
            f"A\t{evil}",
            f"line 1 ('{header}'): '{evil}' is a protected path (.github/**)",
        ),
        "minus-names-a-workflow": (
            [header, "index 1234567..89abcde 100644", f"--- a/{CI}", f"+++ b/{INVOICE_PY}",
             "@@ -1 +1 @@", "-on: push", "+def total(items):"],
            f"D\t{CI}",
            f"line 1 ('{header}'): '{CI}' is a protected path (.github/**)",
        ),
        "files-differ": (
            [header, f"index {oid[INVOICE_PY]}..{oid[CI]} 100644",
             f"Files a/{INVOICE_PY} and b/{INVOICE_PY} differ"],
            f"{oid[CI][:7]} M\t{INVOICE_PY}",  # the workflow's blob, from the object store
            f"line 3 ('Files a/{INVOICE_PY} and b/{INVOICE_PY} differ'): a binary patch",
        ),
        "delete-then-create-executable": (
            [header, "deleted file mode 100644", "index 1234567..0000000", f"--- a/{INVOICE_PY}",
             "+++ /dev/null", f"@@ -1,{len(lines)} +0,0 @@", *("-" + x for x in lines),
             header, "new file mode 100755", "index 0000000..1234567", "--- /dev/null",
             f"+++ b/{INVOICE_PY}", f"@@ -0,0 +1,{len(lines)} @@", *("+" + x for x in lines)],
            ":100644 100755 ",
            f"line {len(lines) + 8} ('new file mode 100755'): '{INVOICE_PY}' changes its mode "
            "(100644 to 100755)",
        ),
        "skipped-header": (
            [f"diff --git a/{CI} b/{CI}", "Touches the invoice only.", header,
             "index 1234567..89abcde 100644", "@@ -1 +1 @@", "-on: push",
             "+on: pull_request_target"],
            f"M\t{CI}",
            f"line 3 ('{header}'): '{CI}' is a protected path (.github/**)",
        ),
    }  # fmt: skip
    return {name: ("\n".join(lines) + "\n", *rest) for name, (lines, *rest) in patches.items()}


def git_applies(checkout: Path, patch: str) -> str:
    """What ``git apply --index`` does with ``patch`` in ``checkout``: the staged change."""
    subprocess.run(["git", "apply", "--index", "-"], cwd=checkout, input=patch.encode(),
                   check=True, capture_output=True)  # fmt: skip
    return git(checkout, "diff", "--cached", "--raw", "--no-renames")


def bundle_with(pull: PullRequestEvent, patch: str, run_id: str = "r") -> Bundle:
    module = ModuleResult(
        module="billing.invoice", spec=INVOICE_MD, inputs_hash="x", status="passed",
        files=[INVOICE_PY],
    )  # fmt: skip
    record = RunRecord(run_id=run_id, started_at="2026-01-01T00:00:00Z", modules=[module])
    return Bundle(
        specmill_version="0", event=bundle_event(pull.target), reason="r", record=record,
        modules=["billing.invoice"], patch=patch,
    )  # fmt: skip


def assert_refused(github: FakeGitHub, number: int, why: str) -> None:
    status = github.body("POST", "/statuses/")
    assert status["state"] == "failure"
    assert why[:40] in status["description"], status["description"]
    summary = github.body("POST", f"/issues/{number}/comments")["body"]
    assert "### Not delivered" in summary and "git apply specmill.patch" not in summary
    assert why.split("'")[0] in summary  # the line number, whatever the escaping after it
    assert ("POST", f"/pulls/{number}/reviews") not in github.calls()


def run_each(
    scenario: Scenario,
    github: FakeGitHub,
    number: int,
    report: Callable[[str, str], tuple[int, str]],
    ref: str = f"refs/heads/{BRANCH}",
) -> None:
    """Every attack: real to git, refused by the report, with nothing pushed."""
    before = scenario.refs()
    head = scenario.git("rev-parse", "HEAD").strip()
    for name, (patch, staged, why) in attacks(scenario).items():
        assert staged in git_applies(scenario.checkout(head, ref), patch), name
        github.mock.calls.reset()

        code, said = report(name, patch)

        assert code == 1 and "Traceback" not in said, said
        refusal = f"the bundle's patch is refused, and with it the whole bundle: {why}"
        assert f"specmill: refused: {refusal}" in said, said
        assert_refused(github, number, why)
        assert scenario.refs() == before  # nothing committed, nothing pushed


def test_each_attack_in_a_fork_two_phase_bundle_is_refused_with_its_line(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    with_workflow(scenario)
    scenario.branch("patch-1")
    scenario.write("README.md", "# Billing, from a fork\n")
    scenario.commit("fork change")
    head = scenario.push("refs/heads/patch-1")
    event = scenario.event("pull_request.opened.fork.json", BASE=scenario.base, FORK_HEAD=head)
    pull = load_event("pull_request", event)
    assert isinstance(pull, PullRequestEvent)
    refuse_models(monkeypatch)
    run = scenario.event("workflow_run.completed.fork.json", FORK_HEAD=head)
    github.pull(57, "pull_request.opened.fork.json", head_ref="patch-1")  # the bundle's claim
    github.contents()  # the base's specs
    github.git_data()  # the head's files: the report job checks out nothing
    github.reads(57, payload="pull_request.opened.fork.json", head_ref="patch-1")
    github.add("POST", "/issues/57/comments", {"id": 1})
    github.add("POST", "/statuses/{sha}", {"id": 2})
    report_dir = scenario.tmp / "report-job"
    report_dir.mkdir()

    def report(name: str, patch: str) -> tuple[int, str]:
        bundle = write_bundle(bundle_with(pull, patch), scenario.tmp / f"bundle-{name}")
        scenario.env("workflow_run", run)  # as each job gets it (specmill drops the token)
        code, out, err = scenario.specmill(report_dir, "bot", "report", "--bundle", str(bundle))
        return code, out + err

    run_each(scenario, github, 57, report, "refs/heads/patch-1")
    assert list(report_dir.iterdir()) == []


def test_each_attack_in_a_matrix_job_bundle_is_refused_with_its_line(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    with_workflow(scenario)
    scenario.branch()
    scenario.write("README.md", "# Billing\n")
    scenario.commit("readme")
    head = scenario.push()
    event = scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    pull = load_event("pull_request", event)
    assert isinstance(pull, PullRequestEvent)
    refuse_models(monkeypatch)
    github.contents()  # the head's specs: a same-repository pull request
    github.reads()
    github.add("POST", "/issues/42/comments", {"id": 1})
    github.add("POST", "/statuses/{sha}", {"id": 2})

    def report(name: str, patch: str) -> tuple[int, str]:
        write_bundle(bundle_with(pull, patch), scenario.tmp / name / "bundle-0")
        return report_job(scenario, head, scenario.tmp / name, MATRIX)

    run_each(scenario, github, 42, report)


def two_jobs(scenario: Scenario, pull: PullRequestEvent, money_patch: str) -> Path:
    """A matrix of two jobs: billing.money's bundle with ``money_patch``, and invoice's."""
    bundles = scenario.tmp / "bundles"
    money = ModuleResult(
        module="billing.money", spec="specs/billing/money.md", inputs_hash="x", status="passed"
    )
    record = RunRecord(run_id="m", started_at="2026-01-01T00:00:00Z", modules=[money])
    write_bundle(
        Bundle(specmill_version="0", event=bundle_event(pull.target), reason="r", record=record,
               modules=["billing.money"], patch=money_patch),
        bundles / "bundle-money",
    )  # fmt: skip
    return bundles


def test_a_matrix_job_s_patch_may_not_change_another_job_s_module(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    scenario.branch()
    scenario.write("README.md", "# Billing\n")
    scenario.commit("readme")
    head = scenario.push()
    pull = load_event(
        "pull_request", scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    )
    assert isinstance(pull, PullRequestEvent)
    invoice = scenario.read(INVOICE_PY)
    into_invoice = "\n".join(
        [f"diff --git a/{INVOICE_PY} b/{INVOICE_PY}", "index 1234567..89abcde 100644",
         f"--- a/{INVOICE_PY}", f"+++ b/{INVOICE_PY}", *replace_last_line(invoice, "    return 0")]
    ) + "\n"  # fmt: skip
    bundles = two_jobs(scenario, pull, into_invoice)  # billing.money's job writes invoice.py
    write_bundle(bundle_with(pull, ""), bundles / "bundle-invoice")
    matrix = json.dumps(
        {"include": [{"name": m, "modules": m} for m in ("billing.money", "billing.invoice")]}
    )
    refuse_models(monkeypatch)
    github.contents()
    github.reads()
    github.add("POST", "/issues/42/comments", {"id": 1})
    github.add("POST", "/statuses/{sha}", {"id": 2})
    before = scenario.refs()

    code, said = report_job(scenario, head, bundles, matrix)

    assert code == 1, said
    why = (
        f"bundle-money: the bundle's patch is refused, and with it the whole bundle: line 1 "
        f"('diff --git a/{INVOICE_PY} b/{INVOICE_PY}'): '{INVOICE_PY}' is not an output of "
        "the bundle's modules"
    )
    assert f"specmill: refused: {why}" in said
    assert github.body("POST", "/statuses/")["state"] == "failure"
    assert scenario.refs() == before


def test_a_matrix_patch_the_commit_refuses_fails_the_run_and_is_not_offered(
    scenario: Scenario, github: FakeGitHub, monkeypatch: Any
) -> None:
    """The patch is fine; the record would forge a trailer: no commit, and a failure."""
    scenario.branch()
    scenario.write("README.md", "# Billing\n")
    scenario.commit("readme")
    head = scenario.push()
    pull = load_event(
        "pull_request", scenario.event("pull_request.opened.json", BASE=scenario.base, HEAD1=head)
    )
    assert isinstance(pull, PullRequestEvent)
    invoice = scenario.read(INVOICE_PY)
    patch = "\n".join(
        [f"diff --git a/{INVOICE_PY} b/{INVOICE_PY}", "index 1234567..89abcde 100644",
         f"--- a/{INVOICE_PY}", f"+++ b/{INVOICE_PY}", *replace_last_line(invoice, "    return 0")]
    ) + "\n"  # fmt: skip
    forged = bundle_with(pull, patch, run_id="r\nSpecmill-Module: billing.money sha256:0")
    write_bundle(forged, scenario.tmp / "bundles" / "bundle-0")
    refuse_models(monkeypatch)
    github.contents()
    github.reads()
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", "/statuses/{sha}", {"id": 3})
    before = scenario.refs()

    code, said = report_job(scenario, head, scenario.tmp / "bundles", MATRIX)

    assert code == 1, said
    assert "not committed: the bundles' run record has a line break in a field" in said
    status = github.body("POST", "/statuses/")
    assert status["state"] == "failure"
    assert status["description"].startswith("the bundles' patches could not be committed")
    summary = github.body("POST", "/issues/42/comments")["body"]
    assert "none: not committed" in summary and "git apply specmill.patch" not in summary
    assert scenario.refs() == before and scenario.head_of(BRANCH) == head


def test_a_bundle_naming_another_pull_request_of_the_same_head_is_refused(
    scenario: Scenario, github: FakeGitHub
) -> None:
    """Two pull requests from one branch (into main and into release) share the head
    repository, branch and SHA: the bundle of the one into release may not report on #57."""
    scenario.branch("patch-1")
    scenario.write("README.md", "# Billing, from a fork\n")
    scenario.commit("fork change")
    head = scenario.push("refs/heads/patch-1")
    event = scenario.event("pull_request.opened.fork.json", BASE=scenario.base, FORK_HEAD=head)
    pull = load_event("pull_request", event)
    assert isinstance(pull, PullRequestEvent)
    release = pull.target.model_copy(update={"base_ref": "release", "base_sha": "2" * 40})
    bundle = bundle_with(pull, "").model_copy(update={"event": bundle_event(release)})
    write_bundle(bundle, scenario.tmp / "bundle")
    scenario.env("workflow_run", scenario.event("workflow_run.completed.fork.json", FORK_HEAD=head))
    github.pull(57, "pull_request.opened.fork.json", head_ref="patch-1")
    report_dir = scenario.tmp / "report-job"
    report_dir.mkdir()

    code, _, err = scenario.specmill(report_dir, "bot", "report", "--bundle",
                                     str(scenario.tmp / "bundle"))  # fmt: skip

    assert code == 1 and "Traceback" not in err
    assert f"pull request #57's base is {scenario.base[:12]}, not the bundle's 222222222222" in err
    assert {method for method, _ in github.calls()} == {"GET"}  # nothing posted
