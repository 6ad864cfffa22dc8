"""Every template of the bot, rendered with hostile values (issue 11, items 4, 5 and 7).

The Markdown is parsed as GitHub renders it (markdown-it's GFM-like preset, with
GitHub's autolinks: ``https://`` and ``www.``) and must hold only what the template
itself writes: its own headings, links, fences, HTML and lists. Untrusted text
(finding messages, paths, verifier names, branch names, commands, the configuration's
associations) must stay one inert run of text that notifies nobody.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Iterator

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from specmill.core.calibration import (
    Agreement,
    CalibrationReport,
    ModuleCalibration,
    MutantCounts,
    VerifierScore,
)
from specmill.core.records import (
    CallRecord,
    CheckResult,
    Finding,
    ModuleResult,
    RunRecord,
    Verdict,
)
from specmill.core.status import Problem
from specmill.github.render import TEMPLATE_FOLDER, TEMPLATE_PACKAGE, render, text
from specmill.github.report import PullState, Report, plan_publish
from specmill.github.review import ChangedFile, Note, marker
from specmill.github.summary import Delivery
from tests.github.gh_support import HEAD1
from tests.github.test_publish import event

HOSTILE = (
    "ok\n\n## ✅ specmill: success\n```\nfence [x](https://evil.example/a) "
    "![i](https://evil.example/i.png) <img src=x onerror=alert(1)> <!-- specmill:summary --> "
    "--> @acme/everyone www.evil.com https://evil.example/raw *em* _em_ `tick | cell |\n"
    "> quote\n1. one\n- item\n\n| a | b |\n|---|---|\n[ref]: https://evil.example/ref"
)
EVIL_PATH = "src/x](https://evil.example) [src/a.py"
MERMAID_ID = 'x"]\n  click m0 href "javascript:alert(1)"\n  y["'
BRANCH = "@acme/everyone"
OURS = "https://github.com/acme/billing/"
HEADINGS = re.compile(
    r"^(?:[✅❌➖] specmill: (?:success|failure|neutral)|Modules|Not regenerated here|"
    r"Adopted, not generated|Outside the diff|Delivery|Reproduce locally|Not delivered)$"
)
HTML = re.compile(
    r"^(?:<!-- specmill:(?:summary|finding [0-9a-f]{16}) -->|</?details>|<details><summary>|"
    r"</?summary>|<br>|</?sub>)"
)
MERMAID_LINE = re.compile(r'^(?:graph LR|  m\d+\["[A-Za-z0-9_.\- ]* \S+"\]|  m\d+ --> m\d+)$')
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")


def markdown() -> MarkdownIt:
    md = MarkdownIt("gfm-like")
    # GitHub autolinks scheme:// and www. addresses only (www. is checked below).
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    return md


def walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from walk(token.children or [])


def assert_inert(body: str, *, links: str = OURS) -> None:
    tokens = markdown().parse(body)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content.replace("\u2060", "")
            assert HEADINGS.match(heading), f"a heading from untrusted text: {heading!r}"
        if token.type == "fence":
            assert token.info in ("mermaid", "sh"), f"an untrusted fence: {token.info!r}"
            if token.info == "mermaid":
                lines = token.content.rstrip("\n").split("\n")
                strange = [line for line in lines if not MERMAID_LINE.match(line)]
                assert not strange, f"a Mermaid statement from untrusted text: {strange}"
        assert token.type not in ("blockquote_open", "ordered_list_open", "hr")
    for token in walk(tokens):
        assert token.type != "image", "an image from untrusted text"
        if token.type == "link_open":
            href = str(token.attrs["href"])
            assert href.startswith(links) and "://evil" not in href, f"a link to {href}"
        if token.type in ("html_block", "html_inline"):
            assert HTML.match(token.content.strip()), f"untrusted HTML: {token.content!r}"
        if token.type == "text":
            assert not MENTION.search(token.content), f"a mention in {token.content!r}"
            assert "www." not in token.content, f"an autolink in {token.content!r}"
        if token.type == "code_inline":  # literal text: only a newline could break out
            assert "\n" not in token.content


def hostile_report() -> tuple[Report, PullState]:
    finding = Finding(kind="code-defect", severity="major", message=HOSTILE, requirement=HOSTILE)
    on_diff = finding.model_copy(update={"file": "src/billing/invoice.py", "line": 2})
    elsewhere = finding.model_copy(update={"file": EVIL_PATH, "line": 7})
    module = ModuleResult(
        module=MERMAID_ID,
        spec="specs/billing/invoice.md",
        inputs_hash="sha256:" + "a" * 64,
        status="failed",
        attempts=2,
        tier="standard",
        files=["src/billing/invoice.py"],
        verdicts=[
            Verdict(verifier=HOSTILE, verdict="fail", summary=HOSTILE, findings=[on_diff]),
            Verdict(verifier="o4-mini", verdict="pass", summary=HOSTILE),
        ],
        findings=[on_diff, elsewhere, finding],
        disagreement=True,
        checks=[CheckResult(command=HOSTILE, exit_code=1, duration_s=1.0, output=HOSTILE)],
        error=HOSTILE,
    )
    other = ModuleResult(
        module="billing.money", spec="specs/m.md", inputs_hash="x", status="passed"
    )
    call = CallRecord(
        role="verifier", module=MERMAID_ID, model=HOSTILE, template="v.j2", template_sha256="0"
    )
    record = RunRecord(
        run_id="r",
        started_at="2026-01-01T00:00:00Z",
        modules=[other, module],
        calls=[call],
        adopted=[EVIL_PATH, HOSTILE],
    )
    problem = Problem("src/billing/tax.py", 3, "hand-edited", HOSTILE, module=HOSTILE, hint=HOSTILE)
    target = event().target.model_copy(update={"head_ref": BRANCH})
    report = Report.for_pull(
        target,
        HOSTILE,
        record=record,
        problems=[problem],
        graph={MERMAID_ID: ["billing.money"], "billing.money": []},
        pending=[HOSTILE],
        delivery=Delivery("pull-request", f"companion pull request #7 into {BRANCH}", (HOSTILE,)),
        run_url="https://github.com/acme/billing/actions/runs/1",
    )
    diff = "@@ -1,2 +1,3 @@\n a\n+b\n c"
    state = PullState(HEAD1, [ChangedFile("src/billing/invoice.py", diff)], [], None)
    return report, state


def summary_and_comments() -> list[str]:
    plan = plan_publish(*hostile_report())
    assert plan.comments, "the hostile finding on the diff is commented inline"
    return [plan.summary_body, plan.step_summary, plan.review_body] + [
        c.body for c in plan.comments
    ]


NOTE = Note("finding", HOSTILE, HOSTILE, HOSTILE, HOSTILE, EVIL_PATH, 3, HOSTILE, HOSTILE)


def hostile_calibration() -> CalibrationReport:
    """A calibration report whose every text came from a model or a pull request."""
    score = {"seeded": 4, "caught": 1, "located": 1, "recall": 0.25, "clean_runs": 1}
    return CalibrationReport(
        modules=[HOSTILE, MERMAID_ID],
        mutants=MutantCounts(seeded=9, discarded=1, killed_by_checks=3, reviewed=5),
        verifiers=[VerifierScore(verifier=HOSTILE, false_blocks=0, flag="rubber-stamp", **score)],
        agreement=[Agreement(a=HOSTILE, b=EVIL_PATH, same_verdict=0.5)],
        per_module=[ModuleCalibration(module=HOSTILE, skipped=HOSTILE)],
        partial=HOSTILE,
    )


RENDERINGS: dict[str, Callable[[], list[str]]] = {
    "summary.md.j2": summary_and_comments,
    "inline_comment.md.j2": lambda: [
        render("inline_comment.md.j2", note=NOTE, marker=marker(NOTE.fingerprint)),
        *summary_and_comments()[3:],
    ],
    "review_body.md.j2": lambda: [render("review_body.md.j2", count=3)],
    "help.md.j2": lambda: [render("help.md.j2", command=HOSTILE, allowed=[HOSTILE, "OWNER"])],
    "refusal.md.j2": lambda: [
        render(
            "refusal.md.j2", author=BRANCH, association=HOSTILE, allowed=[HOSTILE], command=HOSTILE
        )
    ],
    "companion_pull.md.j2": lambda: [
        render("companion_pull.md.j2", number=42, start_sha=HOSTILE, head_ref=BRANCH)
    ],
    "calibration.md.j2": lambda: [
        render(
            "calibration.md.j2",
            command=HOSTILE,
            error=None,
            report=hostile_calibration(),
            run_id=HOSTILE,
        ),
        render("calibration.md.j2", command=HOSTILE, error=HOSTILE, report=None, run_id=None),
    ],
    "command_error.md.j2": lambda: [
        render(
            "command_error.md.j2",
            command=HOSTILE,
            problem=HOSTILE,
            rejected=[HOSTILE, EVIL_PATH],
            unknown=[HOSTILE],
            known=[HOSTILE, MERMAID_ID],
            more=3,
            head_sha=HOSTILE,
        )
    ],
}


def test_every_template_is_rendered_here() -> None:
    """A new template must be added to RENDERINGS, with hostile values in every field."""
    folder = importlib.resources.files(TEMPLATE_PACKAGE) / TEMPLATE_FOLDER
    templates = {item.name for item in folder.iterdir() if item.name.endswith(".j2")}
    assert templates == set(RENDERINGS)


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_a_template_renders_hostile_values_inertly(name: str) -> None:
    for body in RENDERINGS[name]():
        assert_inert(body)


def test_the_summary_keeps_its_own_structure() -> None:
    body = summary_and_comments()[0]
    tokens = markdown().parse(body)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == "❌ specmill: failure"  # the one verdict heading, first
    assert "✅ specmill: success" not in headings
    assert [t.info for t in tokens if t.type == "fence"] == ["mermaid", "sh"]
    tables: list[list[int]] = []  # per table, the cells of each row (its header first)
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            tables.append([])
        if token.type == "tr_open":
            row = tokens[
                index + 1 : next(
                    j for j in range(index, len(tokens)) if tokens[j].type == "tr_close"
                )
            ]
            tables[-1].append(sum(t.type in ("td_open", "th_open") for t in row))
    assert tables
    for widths in tables:  # markdown-it pads or cuts a row to its header's width: count raw
        assert len(set(widths)) == 1, "an untrusted | split a cell"
    for line in body.splitlines():
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) - 1 in {7, 8}, line


def test_a_verifier_path_outside_the_outputs_and_spec_is_plain_text() -> None:
    report, state = hostile_report()
    plan = plan_publish(report, state)
    links = [
        str(t.attrs["href"])
        for t in walk(markdown().parse(plan.summary_body))
        if t.type == "link_open"
    ]
    assert links and all(link.startswith(OURS) for link in links)
    assert not any("src/x" in link for link in links)  # no link for the made-up path
    assert text(EVIL_PATH) + ":7: ok" in plan.summary_body  # kept, as text


def test_a_branch_named_like_a_team_pings_nobody_in_the_companion_pull_request() -> None:
    body = render("companion_pull.md.j2", number=42, start_sha="a" * 40, head_ref=BRANCH)
    assert "`@acme/everyone`" in body  # in a code span: shown, never a mention
    refusal = render("refusal.md.j2", author=BRANCH, association="NONE", allowed=[], command="x")
    assert "@acme" not in refusal and "@\u2060acme/everyone" in refusal
    polite = render(
        "refusal.md.j2", author="alice-dev", association="NONE", allowed=[], command="x"
    )
    assert polite.startswith("Thanks for the suggestion, @alice-dev!")  # the author, notified


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("a\n\n## ✅ specmill: success", "a \\#\\# ✅ specmill: success"),
        ("```python\nx", "\\`\\`\\`python x"),
        ("1. one", "1\\. one"),
        ("- item", "\\- item"),
        ("> quote", "&gt; quote"),
        ("===", "\\==="),
        ("![i](https://e.example/i.png)", "\\!\\[i\\](https:\u2060//e.example/i.png)"),
        ("www.e.example", "www\u2060.e.example"),
        ("@acme/everyone", "@\u2060acme/everyone"),
        ("<!-- specmill:summary -->", "&lt;\\!-- specmill:summary --&gt;"),
    ],
)
def test_the_text_filter(value: str, rendered: str) -> None:
    assert text(value) == rendered


@pytest.mark.parametrize("with_record", [False, True], ids=["refusal-only", "not-committed"])
def test_a_refused_patch_renders_its_hostile_line_inertly_and_offers_no_patch(
    with_record: bool,
) -> None:
    """Issue 19: a refusal quotes the patch's line and the bundle's artifact name."""
    refused = [
        f"bundle-@acme/everyone <b>: the bundle's patch is refused: line 3 ({HOSTILE!r})",
        f"{EVIL_PATH}: {HOSTILE}",
    ]
    report = Report.for_pull(
        event().target,
        "pull request opened",
        record=hostile_report()[0].record if with_record else None,
        delivery=Delivery("patch", HOSTILE, (EVIL_PATH,)),
        refused=refused,
    )
    plan = plan_publish(report, PullState(HEAD1, [], [], None))
    assert_inert(plan.summary_body)
    assert plan.verdict.state == "failure" and "bundle-@acme" in plan.verdict.description
    assert "### Not delivered" in plan.summary_body
    assert "git apply specmill.patch" not in plan.summary_body
