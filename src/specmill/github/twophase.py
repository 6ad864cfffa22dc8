"""Entry points of ``specmill bot generate`` and ``specmill bot report``.

``generate`` is the untrusted phase: it runs where PR code runs, with no write token,
and only writes a bundle. ``report`` is the trusted phase: it reads bundles, checks them
against the event GitHub delivered, and posts one review; it runs no PR code. It serves
the two-phase workflow (a ``workflow_run`` event, fork pull requests included) and the
matrix's final job (a ``pull_request`` event: the bundles of all jobs, merged).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import specmill
from specmill.core.config import BotConfig
from specmill.errors import SpecmillError
from specmill.github import bundle as bundles
from specmill.github.app import (
    ClientFactory,
    Findings,
    Work,
    default_client,
    publish_findings,
    redacted,
)
from specmill.github.bundle_patches import check_bundle_patches
from specmill.github.client import GitHubSettings
from specmill.github.decide import decide
from specmill.github.delivery import Delivered, Remote, await_pull_head, deliver
from specmill.github.events import PullRequestEvent, PullTarget, WorkflowRunEvent, load_event
from specmill.github.matrix import MatrixMerge, merge_matrix, parse_matrix, read_named_bundles
from specmill.github.publish import fetch_pull_target
from specmill.github.summary import Delivery


def generate(
    settings: GitHubSettings,
    config: BotConfig,
    work: Work,
    *,
    has_model_key: bool,
    bundle_path: str | Path,
    modules: Sequence[str] = (),
    out: TextIO = sys.stdout,
) -> int:
    """No GitHub writes, no write token needed: ``work``'s findings go into a bundle.

    ``modules`` (a matrix job's share of ``specmill affected --matrix``) narrows the run
    to exactly those modules: their dependents are other jobs' or not affected.
    """
    with redacted(settings):
        event = load_event(settings.event_name, settings.event_path)
        decision = decide(event, config, has_model_key=has_model_key)
        print(f"specmill: {decision.reason}", file=out)
        target = decision.target
        if decision.action == "skip" or target is None:
            return 0
        if modules:
            decision = decision.model_copy(update={"modules": tuple(modules), "exact": True})
        found = work(decision)
        bundle = bundles.Bundle(
            specmill_version=specmill.__version__,
            event=bundles.bundle_event(target),
            reason=decision.reason,
            record=found.record,
            problems=[
                bundles.BundleProblem.model_validate(p, from_attributes=True)
                for p in found.problems
            ],
            requirement_lines={k: dict(v) for k, v in found.requirement_lines.items()},
            graph={k: list(v) for k, v in found.graph.items()},
            pending=list(found.pending),
            modules=list(modules),
            patch=found.patch,
        )
        written = bundles.write_bundle(bundle, bundle_path)
        print(f"specmill: bundle written to {written}", file=out)
        return 0


def report(
    settings: GitHubSettings,
    config: BotConfig,
    *,
    bundle_path: str | Path,
    matrix: str | None = None,
    checkout: Path | None = None,
    patch_dir: Path | None = None,
    github: ClientFactory = default_client,
    bot_login: str | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Validate the bundle(s) against the event, then post one review; runs no PR code.

    A bundle whose patch is refused (``specmill.github.bundle_patches``) is reported as
    the refusal alone, a failure: none of its findings, nothing committed or offered.

    ``matrix`` (the output of ``specmill affected --matrix``) names the groups whose
    bundles are expected: a missing one makes its modules "not reported". ``checkout``
    (the head, checked out in the report job) lets the matrix deliver by commit.
    """
    with redacted(settings):
        event = load_event(settings.event_name, settings.event_path)
        decision = decide(event, config, has_model_key=False)
        print(f"specmill: {decision.reason}", file=out)
        if decision.action == "skip":
            return 0
        if not isinstance(event, (WorkflowRunEvent, PullRequestEvent)):
            raise SpecmillError(
                "`specmill bot report` runs on workflow_run (two-phase) "
                "or pull_request (the matrix's final job) events"
            )
        expected = parse_matrix(matrix) if matrix is not None else None
        if expected is not None and not isinstance(event, PullRequestEvent):
            raise SpecmillError("--matrix is for the matrix's final job (a pull_request event)")
        named = read_named_bundles(bundle_path, allow_none=expected is not None)
        merged = merge_matrix(named, expected)
        bundle = merged.bundle
        gh: Any = None
        target: PullTarget
        if isinstance(event, WorkflowRunEvent):
            assert bundle is not None  # read_named_bundles refuses an empty directory
            bundles.check_bundle_matches(bundle, event)
            gh = github(settings)  # the PR number is the bundle's claim: ask GitHub
            target = fetch_pull_target(gh, event.repository, event.html_url, bundle.event.number)
        else:
            target = event.target
        if bundle is not None:
            bundles.check_target_matches(bundle, target)
        for line in merged.conflicts:
            print(f"specmill: {line}", file=out)
        if merged.unreported:
            print(f"specmill: not reported: {', '.join(merged.unreported)}", file=out)
        gh = gh or github(settings)
        checked = check_bundle_patches(gh, target, named, checkout)  # before any post
        if checked.refused:  # the whole bundle is refused: only the refusal is reported
            for line in checked.refused:
                print(f"specmill: refused: {line}", file=out)
            refusal = Findings(refused=checked.refused)
            return publish_findings(gh, target, decision.reason, refusal, settings, out, bot_login)
        delivered, not_committed = None, None
        if bundle is not None and merged.patches:
            commit = isinstance(event, PullRequestEvent) and config.delivery != "patch"
            where = Delivery(
                "patch", "in this run's bundle artifact(s), file specmill.patch", checked.files
            )
            delivered, not_committed = (
                deliver_merged(settings, config, target, merged, checkout, patch_dir, gh, out)
                if commit
                else (Delivered(where), None)
            )
            if delivered.delivery.mode == "patch":  # the summary lists what a patch touches
                listed = dataclasses.replace(delivered.delivery, files=checked.files)
                delivered = dataclasses.replace(delivered, delivery=listed)
        found = Findings(
            problems=bundle.problems if bundle else [],
            record=bundle.record if bundle else None,
            requirement_lines=bundle.requirement_lines if bundle else {},
            graph=bundle.graph if bundle else {},
            pending=bundle.pending if bundle else [],
            delivery=delivered.delivery if delivered else None,
            unreported=merged.unreported,
            conflicts=merged.conflicts,
            refused=[not_committed] if not_committed else [],
        )
        if delivered is not None and delivered.head_sha:  # report on the pushed commit
            target = target.model_copy(update={"head_sha": delivered.head_sha})
        reason = bundle.reason if bundle else decision.reason
        return publish_findings(gh, target, reason, found, settings, out, bot_login)


def deliver_merged(
    settings: GitHubSettings,
    config: BotConfig,
    target: PullTarget,
    merged: MatrixMerge,
    checkout: Path | None,
    patch_dir: Path | None,
    gh: Any,
    out: TextIO,
) -> tuple[Delivered, str | None]:
    """The matrix's code as one commit on the pull request's branch (or a companion PR),
    and why it could not be committed, if it could not (the verdict then fails).

    Like the one-phase mode: pushed only if the branch is still at the head SHA, else
    written to ``patch_dir`` for an artifact; fork pull requests get the patch only.
    """
    from specmill.github.matrix_commit import commit_patches
    from specmill.github.work import ensure_identity

    artifacts = "each job's bundle artifact holds its specmill.patch"
    record = merged.bundle.record if merged.bundle else None
    if target.is_fork:
        return Delivered(Delivery("patch", f"fork pull request: {artifacts}")), None
    if merged.conflicts:  # nothing committed, and no patch of a module in two bundles offered
        return Delivered(Delivery("none", "not committed: the bundles conflict")), None
    if checkout is None or record is None:
        why = "the report job has no checkout of the head" if record else "no run record"
        return Delivered(Delivery("patch", f"not committed: {why}; {artifacts}")), None
    ensure_identity(checkout)
    remote = Remote(
        root=checkout, token=settings.token, server_url=settings.server_url, env=dict(os.environ)
    )
    try:
        commit = commit_patches(remote, target, record, merged.patches)
    except SpecmillError as exc:  # nothing committed: its patches are not offered either
        print(f"specmill: not committed: {exc.message}", file=out)
        why = f"the bundles' patches could not be committed: {exc.message}"
        return Delivered(Delivery("none", f"not committed: {exc.message}")), why
    delivered = deliver(
        config.delivery,
        remote,
        target,
        commit,
        start_sha=target.head_sha,
        patch_dir=patch_dir or Path(tempfile.gettempdir()),
        github=gh,
    )
    print(f"specmill: delivery {delivered.delivery.mode}: {delivered.delivery.detail}", file=out)
    head = delivered.head_sha
    if head and not await_pull_head(gh, target, head):
        print(f"specmill: GitHub does not show {head[:12]} as the head yet", file=out)
    return delivered, None
