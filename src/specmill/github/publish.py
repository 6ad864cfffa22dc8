"""The PyGithub adapter: reads the pull request, then posts what ``plan_publish`` decided.

Order, so that a failure leaves nothing half-posted: every read first (pull request,
its files, review comments, issue comments, all pages), then the pure plan, then the
writes: the one review (a single request: all inline comments or none), the summary
comment (edited in place, found by its marker), and last the ``specmill`` commit status.

Why a commit status and not a check run: statuses work with any token that has
``statuses: write`` (GITHUB_TOKEN, a PAT, GitHub Enterprise Server), including the
workflow_run job that reports on fork pull requests, whereas a check run created with
GITHUB_TOKEN lands in the workflow's own check suite and a PAT cannot create one at all.
A status has no "neutral": neutral is posted as success, its description saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from specmill.github.client import redact
from specmill.github.errors import GitHubApiError
from specmill.github.events import PullTarget
from specmill.github.render import render
from specmill.github.report import PublishPlan, PullState, Report, SummaryComment, plan_publish
from specmill.github.review import ChangedFile, ExistingComment
from specmill.github.summary import STATUS_CONTEXT, SUMMARY_MARKER, CheckVerdict

_HINTS = {
    401: "the token is invalid or expired: check the action's github-token input",
    403: "the token lacks a permission: give the job `permissions:` `pull-requests: write` "
    "and `statuses: write` (fork pull requests get a read-only token: use the two-phase "
    "workflow)",
    404: "not found: check GITHUB_REPOSITORY and the pull request number, and that the token "
    "can see the repository",
    422: "GitHub refused the request as invalid (e.g. a review comment on a line outside the "
    "diff, or a commit that is not the pull request's)",
}


@dataclass(frozen=True)
class PublishResult:
    outcome: Literal["posted", "superseded"]
    review_comments: int  # inline comments posted in the one review (0: no review)
    summary: Literal["created", "edited", "unchanged", "none"]
    verdict: CheckVerdict | None
    detail: str = ""


@contextmanager
def github_call(call: str) -> Iterator[None]:
    """Turn PyGithub's and requests' errors into a ``GitHubApiError`` naming the call."""
    from github import GithubException
    from requests import RequestException

    try:
        yield
    except GithubException as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        said = str(data.get("message") or exc.message or "no message")
        errors = data.get("errors")
        if errors:
            said += f" ({errors})"
        message = redact(f"GitHub API: {call} failed with HTTP {exc.status}: {said}")
        raise GitHubApiError(
            message, call=call, status=exc.status, hint=_HINTS.get(exc.status)
        ) from None
    except RequestException as exc:
        message = redact(f"GitHub API: {call} failed: {type(exc).__name__}: {exc}")
        raise GitHubApiError(
            message, call=call, status=None, hint="check GITHUB_API_URL and the network"
        ) from None


ACTIONS_BOT = "github-actions[bot]"  # who GITHUB_TOKEN posts as


def bot_identity(gh: Any, token: str, app_slug: str | None = None) -> str:
    """The login our comments are posted under: a comment is ours only if it is by us.

    ``ghs_`` tokens are installation tokens (GITHUB_TOKEN, or a GitHub App's): they
    post as ``github-actions[bot]``, or as ``<slug>[bot]`` for an app, and cannot call
    ``GET /user``. Any other token (a PAT, ``ghp_``/``github_pat_``; OAuth and
    user-to-server tokens) is a user's: ``GET /user`` says who.
    """
    if app_slug:
        return f"{app_slug}[bot]"
    if token.startswith("ghs_"):
        return ACTIONS_BOT
    try:
        with github_call("GET /user (who posts the comments)"):
            return str(gh.get_user().login)
    except GitHubApiError as exc:
        if exc.status == 403:  # "Resource not accessible by integration": an installation
            return ACTIONS_BOT
        raise


def _ours(user: Any, bot_login: str) -> bool:
    return user is not None and user.login == bot_login


def fetch_pull_target(gh: Any, repository: str, html_url: str, number: int) -> PullTarget:
    """A comment event's pull request (the payload of issue_comment lacks its SHAs)."""
    with github_call(f"GET pull request #{number}"):
        pr = gh.get_repo(repository).get_pull(number)
        head_repo = pr.head.repo
        return PullTarget(
            repository=repository,
            html_url=html_url,
            number=number,
            draft=bool(pr.draft),
            base_ref=pr.base.ref,
            base_sha=pr.base.sha,
            head_ref=pr.head.ref,
            head_sha=pr.head.sha,
            head_repository=head_repo.full_name if head_repo else None,
        )


def read_pull(gh: Any, target: PullTarget, *, bot_login: str = ACTIONS_BOT) -> PullState:
    """Every read a publish needs, all pages, before any write."""
    repo = gh.get_repo(target.repository)
    with github_call(f"GET pull request #{target.number}"):
        pr = repo.get_pull(target.number)
        head_sha = pr.head.sha
    with github_call(f"list the files of pull request #{target.number}"):
        files = [ChangedFile(f.filename, f.patch) for f in pr.get_files()]
    with github_call(f"list the review comments of pull request #{target.number}"):
        comments = [
            ExistingComment(c.body or "", c.line, _ours(c.user, bot_login))
            for c in pr.get_review_comments()
        ]
    with github_call(f"list the comments of pull request #{target.number}"):
        summary = next(
            (
                SummaryComment(c.id, c.body)
                for c in pr.get_issue_comments()
                # our summary opens with the marker; quoted further down (a reply that
                # cites a command, another bot echoing text) it marks nothing
                if (c.body or "").lstrip().startswith(SUMMARY_MARKER) and _ours(c.user, bot_login)
            ),
            None,
        )
    return PullState(head_sha, files, comments, summary)


def post(
    gh: Any, target: PullTarget, plan: PublishPlan, *, target_url: str | None = None
) -> PublishResult:
    repo = gh.get_repo(target.repository)
    commit = repo.get_commit(target.head_sha)
    number = target.number
    if plan.posts_review:
        with github_call(f"create the review on pull request #{number}"):
            repo.get_pull(number).create_review(
                commit=commit,
                body=plan.review_body,
                event="COMMENT",
                comments=[c.as_review_comment() for c in plan.comments],
            )
    summary: Literal["created", "edited", "unchanged"] = "unchanged"
    if plan.summary_id is None:
        with github_call(f"create the summary comment on pull request #{number}"):
            repo.get_issue(number).create_comment(plan.summary_body)
        summary = "created"
    elif plan.summary_changed:
        try:
            with github_call(f"edit the summary comment {plan.summary_id}"):
                repo.get_issue(number).get_comment(plan.summary_id).edit(plan.summary_body)
            summary = "edited"
        except GitHubApiError as exc:
            if exc.status != 403:
                raise
            # not ours to edit after all (another app's): the review is posted, so the
            # summary and the status must follow; a new comment is ours from now on
            with github_call(f"create the summary comment on pull request #{number}"):
                repo.get_issue(number).create_comment(plan.summary_body)
            summary = "created"
    post_status(gh, target.repository, target.head_sha, plan.verdict, target_url=target_url)
    return PublishResult("posted", len(plan.comments), summary, plan.verdict)


def publish_pull_request(
    gh: Any, report: Report, *, bot_login: str = ACTIONS_BOT
) -> tuple[PublishResult, PublishPlan | None]:
    """Read, plan, post. A pull request whose head moved on is left to the newer run."""
    target = report.target
    if target is None:
        raise ValueError("publish_pull_request needs a report with a pull request target")
    state = read_pull(gh, target, bot_login=bot_login)
    if state.head_sha != target.head_sha:
        moved = f"{target.head_sha[:12]} to {state.head_sha[:12]}"
        detail = f"the head moved from {moved}; the newer run reports"
        return PublishResult("superseded", 0, "none", None, detail), None
    plan = plan_publish(report, state)
    return post(gh, target, plan, target_url=report.run_url), plan


def post_status(
    gh: Any, repository: str, sha: str, verdict: CheckVerdict, *, target_url: str | None = None
) -> None:
    optional = {"target_url": target_url} if target_url else {}
    with github_call(f"set the {STATUS_CONTEXT} status on {sha[:12]}"):
        gh.get_repo(repository).get_commit(sha).create_status(
            state=verdict.github_state,
            description=verdict.description,
            context=STATUS_CONTEXT,
            **optional,
        )


def react(gh: Any, repository: str, number: int, comment_id: int, reaction: str) -> None:
    with github_call(f"add a {reaction} reaction to comment {comment_id}"):
        gh.get_repo(repository).get_issue(number).get_comment(comment_id).create_reaction(reaction)


def reply(gh: Any, repository: str, number: int, template: str, **context: object) -> None:
    """A comment on the pull request from one of the templates (refusal, help)."""
    body = render(template, **context)
    with github_call(f"comment on pull request #{number}"):
        gh.get_repo(repository).get_issue(number).create_comment(body)
