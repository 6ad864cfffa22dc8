"""Everything a run will post on a pull request, decided before anything is posted.

Pure: ``plan_publish`` takes what the run found (``Report``) and what is on GitHub now
(``PullState``, read by the adapter) and returns the ``PublishPlan`` that
``specmill.github.publish.post`` carries out: the new inline comments (one review, or none),
the summary comment's body and whether to create or edit it, and the check's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from specmill.core.records import RunRecord
from specmill.github.events import PullTarget
from specmill.github.render import render
from specmill.github.review import (
    ChangedFile,
    ExistingComment,
    InlineComment,
    Note,
    ProblemLike,
    collect_notes,
    new_comments,
    plan_review,
)
from specmill.github.summary import (
    SUMMARY_MARKER,
    CheckVerdict,
    Delivery,
    SummaryInput,
    decide_verdict,
    render_summary,
    workflow_commands,
)


@dataclass(frozen=True)
class Report:
    """What one run found, for one pull request (or one pushed commit: ``target`` None)."""

    repository: str
    html_url: str
    head_sha: str
    reason: str  # RunDecision.reason
    target: PullTarget | None = None
    base_sha: str | None = None
    record: RunRecord | None = None
    problems: Sequence[ProblemLike] = ()
    requirement_lines: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    graph: Mapping[str, Sequence[str]] = field(default_factory=dict)
    pending: Sequence[str] = ()  # affected modules not regenerated (fork, draft, no key)
    delivery: Delivery | None = None
    run_url: str | None = None
    unreported: Sequence[str] = ()  # a matrix job's modules whose bundle never arrived
    conflicts: Sequence[str] = ()  # why the matrix's bundles contradict one another
    refused: Sequence[str] = ()  # why a bundle's code is neither delivered nor offered

    @classmethod
    def for_pull(cls, target: PullTarget, reason: str, **found: object) -> Report:
        return cls(
            repository=target.repository,
            html_url=target.html_url,
            head_sha=target.head_sha,
            base_sha=target.base_sha,
            target=target,
            reason=reason,
            **found,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class SummaryComment:
    """An issue comment of the pull request that carries our summary marker."""

    id: int
    body: str


@dataclass(frozen=True)
class PullState:
    """The pull request as GitHub has it now, read before anything is written."""

    head_sha: str
    files: Sequence[ChangedFile]
    review_comments: Sequence[ExistingComment]
    summary: SummaryComment | None


@dataclass(frozen=True)
class PublishPlan:
    comments: tuple[InlineComment, ...]  # new inline comments: one review if any, else none
    review_body: str
    summary_body: str
    summary_id: int | None  # edit this comment; None: create one
    summary_changed: bool
    verdict: CheckVerdict
    annotations: tuple[str, ...]
    step_summary: str

    @property
    def posts_review(self) -> bool:
        return bool(self.comments)


def summarise(report: Report, notes: Sequence[Note], outside: Sequence[Note]) -> SummaryInput:
    why = report.reason
    return SummaryInput(
        repository=report.repository,
        html_url=report.html_url,
        head_sha=report.head_sha,
        base_sha=report.base_sha,
        reason=report.reason,
        record=report.record,
        notes=notes,
        outside=outside,
        verdict=decide_verdict(
            report.record,
            notes,
            report.pending,
            why,
            unreported=report.unreported,
            conflicts=report.conflicts,
            refused=report.refused,
        ),
        graph=report.graph,
        pending=report.pending,
        unreported=report.unreported,
        conflicts=report.conflicts,
        refused=report.refused,
        delivery=report.delivery,
        run_url=report.run_url,
    )


def plan_publish(report: Report, state: PullState) -> PublishPlan:
    notes = collect_notes(report.record, report.problems, report.requirement_lines)
    review = plan_review(notes, state.files)
    summary = summarise(report, notes, review.outside)
    body = render_summary(summary)
    fresh = tuple(new_comments(review.inline, state.review_comments))
    return PublishPlan(
        comments=fresh,
        review_body=render("review_body.md.j2", count=len(fresh)).strip(),
        summary_body=body,
        summary_id=state.summary.id if state.summary else None,
        summary_changed=state.summary is None or state.summary.body != body,
        verdict=summary.verdict,
        annotations=tuple(workflow_commands(notes)),
        step_summary=body.replace(SUMMARY_MARKER, "", 1).lstrip("\n"),
    )


def plan_commit_report(report: Report) -> tuple[CheckVerdict, tuple[str, ...], str]:
    """A push (no pull request): the verdict, the annotations and the step summary."""
    notes = collect_notes(report.record, report.problems, report.requirement_lines)
    summary = summarise(report, notes, notes)
    body = render_summary(summary).replace(SUMMARY_MARKER, "", 1).lstrip("\n")
    return summary.verdict, tuple(workflow_commands(notes)), body
