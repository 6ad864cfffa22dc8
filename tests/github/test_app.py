"""``run``, ``generate`` and ``report`` end to end: a payload file, mocked GitHub, a fake engine."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from specmill.core.config import BotConfig
from specmill.github import app, twophase
from specmill.github.bundle import read_bundle
from specmill.github.client import GitHubSettings, make_client
from specmill.github.decide import RunDecision
from specmill.github.errors import BundleError, GitHubApiError
from specmill.github.summary import Delivery
from tests.github.gh_support import (
    DATA,
    FORK_HEAD,
    GRAPH,
    HEAD1,
    HEAD2,
    INVOICE_PATCH,
    NO_PAUSES,
    PR_FILES,
    REQUIREMENT_LINES,
    SCENARIO_PROBLEMS,
    TOKEN,
    GitHubMock,
    payload,
    scenario_record,
    user,
)

CONFIG = BotConfig()


class FakeWork:
    """Stands in for the engine: records the decisions it gets, returns canned findings."""

    def __init__(self, findings: app.Findings | None = None) -> None:
        self.decisions: list[RunDecision] = []
        self.findings = findings or app.Findings(
            problems=SCENARIO_PROBLEMS,
            record=scenario_record(),
            requirement_lines=REQUIREMENT_LINES,
            graph=GRAPH,
            delivery=Delivery("commit", "pushed 1a2b3c4 to invoice-half-even"),
            patch="diff --git a/src/billing/invoice.py b/src/billing/invoice.py\n",
        )

    def __call__(self, decision: RunDecision) -> app.Findings:
        self.decisions.append(decision)
        return self.findings


def settings(
    tmp_path: Path, event: str, payload_file: str | Path, token: str = TOKEN
) -> GitHubSettings:
    return GitHubSettings(
        token=token,  # type: ignore[arg-type]
        repository="acme/billing",
        event_name=event,
        event_path=str(DATA / payload_file),
        step_summary=str(tmp_path / "step-summary.md"),
        run_id="555",
    )


def client(_: GitHubSettings) -> Any:
    return make_client(TOKEN, None, retry=None, **NO_PAUSES)


def run(s: GitHubSettings, work: FakeWork, key: bool = True) -> tuple[int, str]:
    out = io.StringIO()
    code = app.run(s, CONFIG, work, has_model_key=key, github=client, out=out)
    return code, out.getvalue()


def test_pull_request_end_to_end_then_the_next_push(tmp_path: Path, github: GitHubMock) -> None:
    github.reads(42, payload("pull_request.opened.json")["pull_request"], PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 90001})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 2})
    work = FakeWork()

    code, out = run(settings(tmp_path, "pull_request", "pull_request.opened.json"), work)

    assert code == 1  # a hand edit fails the check
    assert work.decisions[0].action == "regenerate"
    assert "3 new inline comment(s), summary created, status failure" in out
    assert "::error title=specmill hand-edited,file=src/billing/tax.py,line=11::" in out
    step = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert step.startswith("## ❌ specmill: failure") and "<!-- specmill:summary -->" not in step
    assert "pushed 1a2b3c4" in github.body(5)["body"]
    assert github.body(6)["target_url"] == "https://github.com/acme/billing/actions/runs/555"
    posted = [
        {
            "id": 7000 + i,
            "body": c["body"],
            "path": c["path"],
            "line": c["line"],
            "user": user("github-actions[bot]", "Bot"),
        }
        for i, c in enumerate(github.body(4)["comments"])
    ]
    summary = {
        "id": 90001,
        "body": github.body(5)["body"],
        "user": user("github-actions[bot]", "Bot"),
    }
    github.rsps.reset()

    github.reads(
        42, payload("pull_request.synchronize.json")["pull_request"], PR_FILES, posted, [summary]
    )
    github.add("PATCH", "/issues/comments/90001", summary)
    github.add("POST", f"/statuses/{HEAD2}", {"id": 3})
    code, out = run(settings(tmp_path, "pull_request", "pull_request.synchronize.json"), work)

    assert code == 1 and "0 new inline comment(s), summary edited" in out
    assert [m for m, _ in github.requests()] == ["GET", "GET", "GET", "GET", "PATCH", "POST"]
    assert TOKEN not in out + (tmp_path / "step-summary.md").read_text(encoding="utf-8")


def test_fork_pull_request_makes_no_write(tmp_path: Path, github: GitHubMock) -> None:
    work = FakeWork(app.Findings(problems=SCENARIO_PROBLEMS[:1]))
    code, out = run(settings(tmp_path, "pull_request", "pull_request.opened.fork.json"), work)
    assert github.requests() == []  # the read-only token of a fork PR writes nothing
    assert work.decisions[0].action == "check" and work.decisions[0].delivery == "patch"
    assert code == 1 and "::error title=specmill hand-edited" in out
    assert "specmill: failure" in (tmp_path / "step-summary.md").read_text(encoding="utf-8")


def comment_payload(tmp_path: Path, association: str, body: str) -> Path:
    data = payload("issue_comment.created.json")
    data["comment"].update(author_association=association, body=body)
    path = tmp_path / "comment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_authorised_slash_command(tmp_path: Path, github: GitHubMock) -> None:
    pr = payload("pull_request.opened.json")["pull_request"]
    github.pull(42, pr)  # the comment's pull request: SHAs and fork
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1, "content": "eyes"})
    github.reads(42, pr, PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})
    work = FakeWork()

    path = comment_payload(tmp_path, "MEMBER", "/specmill regen billing.invoice")
    run(settings(tmp_path, "issue_comment", path), work)

    assert github.body(1) == {"content": "eyes"}
    assert work.decisions[0].modules == ("billing.invoice",)
    assert github.requests()[:2] == [
        ("GET", "/pulls/42"),
        ("POST", "/issues/comments/1888000111/reactions"),
    ]


def test_unauthorised_slash_command_gets_a_polite_refusal(
    tmp_path: Path, github: GitHubMock
) -> None:
    github.add("POST", "/issues/42/comments", {"id": 3})
    work = FakeWork()
    path = comment_payload(tmp_path, "CONTRIBUTOR", "/specmill regen")
    code, _ = run(settings(tmp_path, "issue_comment", path), work)
    assert code == 0 and work.decisions == []
    assert github.requests() == [("POST", "/issues/42/comments")]
    body = github.body(0)["body"]
    assert "@alice-dev" in body and "OWNER, MEMBER, COLLABORATOR" in body and "CONTRIBUTOR" in body


def test_help_command(tmp_path: Path, github: GitHubMock) -> None:
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 3})
    code, _ = run(
        settings(tmp_path, "issue_comment", comment_payload(tmp_path, "OWNER", "/specmill help")),
        FakeWork(),
    )
    assert code == 0 and github.body(0) == {"content": "+1"}
    assert "/specmill regen [MODULE…]" in github.body(1)["body"]


def test_push_sets_the_status_only(tmp_path: Path, github: GitHubMock) -> None:
    github.add("POST", f"/statuses/{HEAD2}", {"id": 1})
    code, out = run(
        settings(tmp_path, "push", "push.json"),
        FakeWork(app.Findings(problems=SCENARIO_PROBLEMS)),
        key=False,
    )
    assert code == 1 and github.body(0)["state"] == "failure"
    assert "::error title=specmill stale,file=specs/billing/money.md,line=1::" in out


def test_unsupported_event_is_a_neutral_no_op(tmp_path: Path, github: GitHubMock) -> None:
    work = FakeWork()
    code, out = run(settings(tmp_path, "release", "push.json"), work)
    assert code == 0 and work.decisions == [] and github.requests() == []
    assert "does not handle 'release' events" in out


def test_token_never_leaks_into_errors(tmp_path: Path, github: GitHubMock) -> None:
    github.pull(42, {"message": f"Bad credentials for {TOKEN}"}, status=401)
    with pytest.raises(GitHubApiError) as raised:
        run(settings(tmp_path, "pull_request", "pull_request.opened.json"), FakeWork())
    assert TOKEN not in str(raised.value) and "HTTP 401" in str(raised.value)


def test_two_phase_generate_then_report(tmp_path: Path, github: GitHubMock) -> None:
    work = FakeWork(
        app.Findings(
            problems=SCENARIO_PROBLEMS, record=scenario_record(FORK_HEAD), patch=INVOICE_PATCH
        )
    )
    generate = settings(tmp_path, "pull_request", "pull_request.opened.fork.json", token="")
    code = twophase.generate(
        generate,
        CONFIG,
        work,
        has_model_key=False,
        bundle_path=tmp_path / "bundle",
        out=io.StringIO(),
    )
    assert code == 0 and github.requests() == []  # the untrusted phase never calls GitHub
    assert read_bundle(tmp_path / "bundle").event.head_sha == FORK_HEAD

    fork_pr = payload("pull_request.opened.fork.json")["pull_request"]
    github.pull(57, fork_pr)  # the number comes from the bundle: verify it against the API
    github.base_specs()  # the patch may touch only what the base's specs declare
    github.head_tree({"src/billing/invoice.py": "def total(items):\n    return sum(items)\n"})
    github.reads(57, fork_pr, PR_FILES)
    github.add("POST", "/pulls/57/reviews", {"id": 1})
    github.add("POST", "/issues/57/comments", {"id": 1})
    github.add("POST", f"/statuses/{FORK_HEAD}", {"id": 2})
    out = io.StringIO()
    report = settings(tmp_path, "workflow_run", "workflow_run.completed.fork.json")
    code = twophase.report(report, CONFIG, bundle_path=tmp_path / "bundle", github=client, out=out)

    assert code == 1
    assert [m for m, _ in github.requests()] == ["GET"] * 13 + ["POST"] * 3
    assert len(github.body(13)["comments"]) == 2  # no requirement lines: the spec gap is outside
    summary = github.body(14)["body"]
    assert "specmill.patch" in summary
    assert (
        "only these files, each an output its spec declares: `src/billing/invoice.py`." in summary
    )


def test_report_refuses_a_bundle_for_another_head(tmp_path: Path, github: GitHubMock) -> None:
    work = FakeWork(app.Findings())
    generate = settings(tmp_path, "pull_request", "pull_request.opened.json", token="")
    twophase.generate(
        generate,
        CONFIG,
        work,
        has_model_key=False,
        bundle_path=tmp_path / "b.json",
        out=io.StringIO(),
    )
    report = settings(tmp_path, "workflow_run", "workflow_run.completed.fork.json")
    with pytest.raises(BundleError, match="does not match the workflow run"):
        twophase.report(
            report, CONFIG, bundle_path=tmp_path / "b.json", github=client, out=io.StringIO()
        )
    assert github.requests() == []


def test_matrix_final_job_posts_one_review_for_all_bundles(
    tmp_path: Path, github: GitHubMock
) -> None:
    record = scenario_record()
    generate = settings(tmp_path, "pull_request", "pull_request.opened.json", token="")
    for module in record.modules:
        work = FakeWork(
            app.Findings(
                problems=SCENARIO_PROBLEMS,
                record=record.model_copy(update={"modules": [module]}),
                requirement_lines=REQUIREMENT_LINES,
                graph=GRAPH,
                patch=INVOICE_PATCH.replace("invoice", module.module.split(".")[1]),
            )
        )
        path = tmp_path / "bundles" / module.module
        code = twophase.generate(
            generate, CONFIG, work, has_model_key=True, bundle_path=path,
            modules=[module.module], out=io.StringIO(),
        )  # fmt: skip
        assert code == 0 and work.decisions[0].modules == (module.module,)
    github.base_specs(ref=HEAD1)  # a same-repository head: its own specs
    before = "def total(items):\n    return sum(items)\n"
    github.head_tree({f"src/billing/{m}.py": before for m in ("invoice", "money")}, HEAD1)
    github.reads(42, payload("pull_request.opened.json")["pull_request"], PR_FILES)
    github.add("POST", "/pulls/42/reviews", {"id": 1})
    github.add("POST", "/issues/42/comments", {"id": 2})
    github.add("POST", f"/statuses/{HEAD1}", {"id": 3})
    final = settings(tmp_path, "pull_request", "pull_request.opened.json")
    final = final.model_copy(update={"output": str(tmp_path / "output")})

    code = twophase.report(
        final, CONFIG, bundle_path=tmp_path / "bundles", github=client, out=io.StringIO()
    )

    assert code == 1 and len(github.posted("/pulls/42/reviews")["comments"]) == 3
    summary = github.posted("/issues/42/comments")["body"]
    assert "billing.money" in summary and "billing.invoice" in summary
    assert "`src/billing/invoice.py`, `src/billing/money.py`." in summary
    outputs = (tmp_path / "output").read_text(encoding="utf-8")
    assert outputs == 'verdict=failure\naffected=["billing.money", "billing.invoice"]\n'


def test_regen_command_on_a_fork_only_checks_but_reports(
    tmp_path: Path, github: GitHubMock
) -> None:
    data = payload("issue_comment.created.json")
    data["issue"]["number"] = 57
    path = tmp_path / "fork-comment.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    fork_pr = payload("pull_request.opened.fork.json")["pull_request"]
    github.pull(57, fork_pr)
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1})
    github.reads(57, fork_pr, PR_FILES)
    github.add("POST", "/pulls/57/reviews", {"id": 2})
    github.add("POST", "/issues/57/comments", {"id": 3})
    github.add("POST", f"/statuses/{FORK_HEAD}", {"id": 4})
    work = FakeWork(app.Findings(problems=SCENARIO_PROBLEMS[:1]))

    code, _ = run(settings(tmp_path, "issue_comment", path), work)

    assert work.decisions[0].action == "check"  # fork code never runs next to the model key
    assert code == 1 and len(github.body(6)["comments"]) == 1
