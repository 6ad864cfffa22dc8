"""The GitHub event a run was started by, parsed from GITHUB_EVENT_NAME and the payload.

Pure: ``parse_event`` takes the event name and the decoded payload and returns one of
the small frozen models below. Payload fields the bot does not use are ignored (webhook
payloads grow all the time); a field it needs that is missing is an ``EventError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from specmill.core.spec import MODULE_ID
from specmill.github.errors import EventError

PULL_REQUEST_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
NULL_SHA = "0" * 40


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str  # owner/name of the repository the workflow runs in
    html_url: str  # that repository's web address (GitHub Enterprise Server aware)


class SlashCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["regen", "verify", "help", "unknown"]
    modules: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()  # arguments that are not module ids: never run, answered
    text: str  # the command line as written, for replies


class PullTarget(_Event):
    """The pull request a run works on: from a pull_request payload or fetched for a comment."""

    number: int
    draft: bool
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repository: str | None  # None when the fork was deleted

    @property
    def is_fork(self) -> bool:
        return self.head_repository != self.repository


class PullRequestEvent(PullTarget):
    kind: Literal["pull_request"] = "pull_request"
    action: str

    @property
    def target(self) -> PullTarget:
        return PullTarget.model_validate(self.model_dump(exclude={"kind", "action"}))


class CommentEvent(_Event):
    kind: Literal["issue_comment"] = "issue_comment"
    action: str
    number: int
    on_pull_request: bool
    comment_id: int
    body: str
    author: str
    author_association: str
    command: SlashCommand | None


class PushEvent(_Event):
    kind: Literal["push"] = "push"
    ref: str
    before: str
    after: str
    default_branch: str

    @property
    def on_default_branch(self) -> bool:
        return self.ref == f"refs/heads/{self.default_branch}"

    @property
    def deleted(self) -> bool:
        return self.after == NULL_SHA


class WorkflowRunEvent(_Event):
    kind: Literal["workflow_run"] = "workflow_run"
    action: str
    run_id: int
    workflow: str
    triggering_event: str  # the event of the run that finished, e.g. pull_request
    conclusion: str | None
    head_sha: str
    head_branch: str | None
    head_repository: str | None
    pull_requests: tuple[int, ...]  # empty for fork pull requests (GitHub's behaviour)


class UnsupportedEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["unsupported"] = "unsupported"
    name: str

    @property
    def message(self) -> str:
        return (
            f"specmill does not handle {self.name!r} events (it handles pull_request, "
            "issue_comment on pull requests, push to the default branch and workflow_run); "
            "nothing to do"
        )


Event = PullRequestEvent | CommentEvent | PushEvent | WorkflowRunEvent | UnsupportedEvent


def load_event(name: str, path: str | Path) -> Event:
    """Read GITHUB_EVENT_PATH and parse it (the only I/O here)."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"cannot read the event payload: {exc}", path=str(path)) from None
    if not isinstance(payload, dict):
        raise EventError("the event payload is not a JSON object", path=str(path))
    return parse_event(name, payload)


def parse_event(name: str, payload: Mapping[str, Any]) -> Event:
    parser = _PARSERS.get(name)
    if parser is None:
        return UnsupportedEvent(name=name or "(none)")
    try:
        return parser(payload)
    except (KeyError, TypeError) as exc:
        raise EventError(f"the {name} event payload lacks {exc}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        raise EventError(f"the {name} event payload is malformed: {error['msg']}") from None


def _repo(payload: Mapping[str, Any]) -> tuple[str, str]:
    repository = payload["repository"]
    return repository["full_name"], repository["html_url"]


def _pull_request(payload: Mapping[str, Any]) -> PullRequestEvent:
    pr = payload["pull_request"]
    head_repo = pr["head"].get("repo")
    repository, html_url = _repo(payload)
    return PullRequestEvent(
        repository=repository,
        html_url=html_url,
        action=payload["action"],
        number=pr["number"],
        draft=bool(pr.get("draft", False)),
        base_ref=pr["base"]["ref"],
        base_sha=pr["base"]["sha"],
        head_ref=pr["head"]["ref"],
        head_sha=pr["head"]["sha"],
        head_repository=head_repo["full_name"] if head_repo else None,
    )


def _issue_comment(payload: Mapping[str, Any]) -> CommentEvent:
    issue, comment = payload["issue"], payload["comment"]
    body = comment.get("body") or ""
    repository, html_url = _repo(payload)
    return CommentEvent(
        repository=repository,
        html_url=html_url,
        action=payload["action"],
        number=issue["number"],
        on_pull_request="pull_request" in issue,
        comment_id=comment["id"],
        body=body,
        author=comment["user"]["login"],
        author_association=comment.get("author_association", "NONE"),
        command=parse_command(body),
    )


def _push(payload: Mapping[str, Any]) -> PushEvent:
    repository, html_url = _repo(payload)
    return PushEvent(
        repository=repository,
        html_url=html_url,
        ref=payload["ref"],
        before=payload["before"],
        after=payload["after"],
        default_branch=payload["repository"]["default_branch"],
    )


def _workflow_run(payload: Mapping[str, Any]) -> WorkflowRunEvent:
    run = payload["workflow_run"]
    head_repo = run.get("head_repository")
    repository, html_url = _repo(payload)
    return WorkflowRunEvent(
        repository=repository,
        html_url=html_url,
        action=payload["action"],
        run_id=run["id"],
        workflow=run.get("name") or "",
        triggering_event=run["event"],
        conclusion=run.get("conclusion"),
        head_sha=run["head_sha"],
        head_branch=run.get("head_branch"),
        head_repository=head_repo["full_name"] if head_repo else None,
        pull_requests=tuple(pr["number"] for pr in run.get("pull_requests") or ()),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "push": _push,
    "workflow_run": _workflow_run,
}

_COMMAND = re.compile(r"^/specmill(?=\s|$)\s*(?P<name>\S+)?(?P<args>.*)$", re.IGNORECASE)


def parse_command(body: str) -> SlashCommand | None:
    """The first ``/specmill …`` line of a comment, outside fenced code and quotes."""
    fenced = False
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else _COMMAND.match(line)
        if match is None:
            continue
        name, args = (match.group("name") or "help").lower(), match.group("args").split()
        if name == "help" and not args:
            return SlashCommand(name="help", text=line)
        if name in ("regen", "verify"):
            kind: Literal["regen", "verify"] = "regen" if name == "regen" else "verify"
            valid = tuple(arg for arg in args if is_module_id(arg))
            rejected = tuple(arg for arg in args if not is_module_id(arg))
            return SlashCommand(name=kind, modules=valid, rejected=rejected, text=line)
        return SlashCommand(name="unknown", text=line)
    return None


def is_module_id(value: str) -> bool:
    """The one rule for module ids, the specs' own (``specmill.core.spec.MODULE_ID``)."""
    return len(value) <= 255 and MODULE_ID.match(value) is not None
