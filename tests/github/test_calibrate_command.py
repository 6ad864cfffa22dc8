"""``/specmill calibrate [MODULE…]``: parsed, permitted like the other commands, and
answered with the report as a comment."""

from __future__ import annotations

from pathlib import Path

from specmill.core.calibration import (
    Agreement,
    CalibrationReport,
    ModuleCalibration,
    MutantCounts,
    VerifierScore,
)
from specmill.core.config import BotConfig
from specmill.core.records import RunRecord
from specmill.core.verifier_flags import CalibrationFlag
from specmill.errors import SpecmillError
from specmill.github import app
from specmill.github.decide import RunDecision, decide
from specmill.github.events import PullRequestEvent, load_event, parse_command
from tests.github.gh_support import DATA, PR_FILES, GitHubMock, payload
from tests.github.test_app import FakeWork, comment_payload, run, settings

HOSTILE = "evil` | <img src=x onerror=alert(1)> @everyone"


def report(flag: CalibrationFlag = "rubber-stamp") -> CalibrationReport:
    return CalibrationReport(
        modules=["calc"],
        mutants=MutantCounts(seeded=8, discarded=1, killed_by_checks=3, reviewed=4),
        verifiers=[
            VerifierScore(
                verifier="strict",
                seeded=4,
                caught=4,
                located=3,
                recall=1.0,
                clean_runs=1,
                false_blocks=0,
                flag="ok",
            ),
            VerifierScore(
                verifier=HOSTILE,
                seeded=4,
                caught=0,
                located=0,
                recall=0.0,
                clean_runs=1,
                false_blocks=0,
                flag=flag,
            ),
        ],
        agreement=[Agreement(a="strict", b=HOSTILE, same_verdict=0.2)],
        calls=10,
        tokens=11000,
        per_module=[
            ModuleCalibration(
                module="calc",
                seeded=8,
                discarded=1,
                killed_by_checks=3,
                reviewed=4,
                test_kill_rate=0.4286,
            ),
        ],
    )


def found(calibration: CalibrationReport) -> app.Findings:
    record = RunRecord(
        run_id="20260101-000000-abcdef",
        started_at="2026-01-01T00:00:00Z",
        command="calibrate",
        calibration=calibration,
    )
    return app.Findings(record=record)


def test_the_command_is_parsed_with_its_modules() -> None:
    command = parse_command("Please\n/specmill calibrate calc billing.money\n")
    assert command is not None
    assert (command.name, command.modules) == ("calibrate", ("calc", "billing.money"))
    hostile = parse_command("/specmill calibrate ../etc")  # never run: answered as rejected
    assert hostile is not None and (hostile.modules, hostile.rejected) == ((), ("../etc",))


def test_the_same_permission_rule_as_the_other_commands(tmp_path: Path) -> None:
    pull = load_event("pull_request", str(DATA / "pull_request.opened.json"))
    assert isinstance(pull, PullRequestEvent)
    config = BotConfig()

    fork = load_event("pull_request", str(DATA / "pull_request.opened.fork.json"))
    assert isinstance(fork, PullRequestEvent)

    def decision(association: str, key: bool = True, on_fork: bool = False) -> RunDecision:
        path = comment_payload(tmp_path, association, "/specmill calibrate calc")
        event = load_event("issue_comment", str(path))
        target = fork.target if on_fork else pull.target
        return decide(event, config, has_model_key=key, target=target)

    member = decision("MEMBER")
    assert (member.action, member.modules, member.needs_model) == ("calibrate", ("calc",), True)
    assert decision("CONTRIBUTOR").action == "refuse"
    assert decision("OWNER", key=False).action == "check"  # no model key: checks only
    assert decision("OWNER", on_fork=True).action == "check"  # a fork: checks only


def test_the_report_comes_back_as_a_comment(tmp_path: Path, github: GitHubMock) -> None:
    pr = payload("pull_request.opened.json")["pull_request"]
    github.pull(42, pr)
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1, "content": "eyes"})
    github.add("POST", "/issues/42/comments", {"id": 2})
    work = FakeWork(found(report()))
    path = comment_payload(tmp_path, "OWNER", "/specmill calibrate calc")
    code, _ = run(settings(tmp_path, "issue_comment", path), work)
    assert code == 1  # a verifier is flagged, as `specmill calibrate` exits
    assert [d.action for d in work.decisions] == ["calibrate"]
    body = github.body(2)["body"]
    assert "| `strict` | 4 | 4 | 100% | 3 | 0/1 | 0 | ok |" in body
    assert "⚠️ **rubber-stamp**" in body and "raise models.quorum" in body
    assert "is flagged **rubber-stamp**: recall " in body
    assert "test kill rate 43%" in body and "8 seeded, 1 discarded, 3 killed" in body
    in_table = "``" + HOSTILE.replace("|", "\\|") + "``"
    in_text = "``" + HOSTILE + "``"
    assert in_table in body and in_text in body  # literal code spans, never HTML or a mention
    rest = body.replace(in_table, "").replace(in_text, "")
    assert "<img" not in rest and "@everyone" not in rest
    assert not any(method == "POST" and "/statuses/" in url for method, url in github.requests())
    assert PR_FILES  # no review, no status: only the comment


def test_a_module_that_is_not_fresh_is_answered_in_the_comment(
    tmp_path: Path, github: GitHubMock
) -> None:
    pr = payload("pull_request.opened.json")["pull_request"]
    github.pull(42, pr)
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1, "content": "eyes"})
    github.add("POST", "/issues/42/comments", {"id": 2})

    def refusing(decision: RunDecision) -> app.Findings:
        raise SpecmillError("calc is not fresh (stale): <b>regenerate</b> it first")

    path = comment_payload(tmp_path, "OWNER", "/specmill calibrate calc")
    code, _ = run(settings(tmp_path, "issue_comment", path), refusing)  # type: ignore[arg-type]
    assert code == 1
    body = github.body(2)["body"]
    assert "Nothing was calibrated: calc is not fresh (stale): &lt;b&gt;regenerate" in body


def test_what_an_unusable_verifiers_server_said_is_inert_in_the_comment(
    tmp_path: Path, github: GitHubMock
) -> None:
    """The first error of an unusable verifier quotes a server or a model: untrusted."""
    pr = payload("pull_request.opened.json")["pull_request"]
    github.pull(42, pr)
    github.add("POST", "/issues/comments/1888000111/reactions", {"id": 1, "content": "eyes"})
    github.add("POST", "/issues/42/comments", {"id": 2})
    calibration = report("unusable")
    hostile = calibration.verifiers[1]
    hostile.seeded = hostile.clean_runs = hostile.caught = 0
    hostile.recall, hostile.errors = None, 5
    hostile.first_error = f"HTTP 500: {HOSTILE}\n# heading\n[link](https://evil.example)"
    work = FakeWork(found(calibration))
    path = comment_payload(tmp_path, "OWNER", "/specmill calibrate calc")
    code, _ = run(settings(tmp_path, "issue_comment", path), work)
    assert code == 1
    body = github.body(2)["body"]
    assert "| 5 | ⚠️ **unusable** |" in body
    assert "is flagged **unusable**: 5 of its 5 reviews were errors" in body
    in_table = "``" + HOSTILE.replace("|", "\\|") + "``"
    in_text = "``" + HOSTILE + "``"
    rest = body.replace(in_table, "").replace(in_text, "")
    assert "<img" not in rest and "@everyone" not in rest and "[link](https" not in rest
    assert "\n# heading" not in rest
    assert "what to do: run `specmill doctor` for its endpoint" in body  # ours: not escaped
