"""Entry points of ``specmill bot generate`` and ``specmill bot report``.

``generate`` is the untrusted phase: it runs where PR code runs, with no write token,
and only writes a bundle. ``report`` is the trusted phase: it reads bundles, checks them
against the event GitHub delivered, and posts one review; it runs no PR code. It serves
the two-phase workflow (a ``workflow_run`` event, fork pull requests included) and the
matrix's final job (a ``pull_request`` event: the bundles of all jobs, merged).
"""

from __future__ import annotations

import sys
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
from specmill.github.client import GitHubSettings
from specmill.github.decide import decide
from specmill.github.events import PullRequestEvent, PullTarget, WorkflowRunEvent, load_event
from specmill.github.matrix import merge_bundles, read_bundles
from specmill.github.patchguard import check_patch, declared_outputs, refused
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

    ``modules`` (a matrix job's share of ``specmill affected --matrix``) narrows the run.
    """
    with redacted(settings):
        event = load_event(settings.event_name, settings.event_path)
        decision = decide(event, config, has_model_key=has_model_key)
        print(f"specmill: {decision.reason}", file=out)
        target = decision.target
        if decision.action == "skip" or target is None:
            return 0
        if modules:
            decision = decision.model_copy(update={"modules": tuple(modules)})
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
    github: ClientFactory = default_client,
    bot_login: str | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Validate the bundle(s) against the event, then post one review; runs no PR code."""
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
        bundle = merge_bundles(read_bundles(bundle_path))
        gh: Any = None
        target: PullTarget
        if isinstance(event, WorkflowRunEvent):
            bundles.check_bundle_matches(bundle, event)
            gh = github(settings)  # the PR number is the bundle's claim: ask GitHub
            target = fetch_pull_target(gh, event.repository, event.html_url, bundle.event.number)
        else:
            target = event.target
        bundles.check_target_matches(bundle, target)
        gh = gh or github(settings)
        touched = _checked_patch(gh, target, bundle)  # before anything is posted
        patch = "in this run's bundle artifact, file specmill.patch"
        found = Findings(
            problems=bundle.problems,
            record=bundle.record,
            requirement_lines=bundle.requirement_lines,
            graph=bundle.graph,
            pending=bundle.pending,
            delivery=Delivery("patch", patch, touched) if bundle.patch else None,
        )
        return publish_findings(gh, target, bundle.reason, found, settings, out, bot_login)


def _checked_patch(gh: Any, target: PullTarget, bundle: bundles.Bundle) -> tuple[str, ...]:
    """The files the bundle's patch touches, each an output the base's specs declare."""
    if not bundle.patch:
        return ()
    modules = bundle.record.modules if bundle.record else []
    if not modules:
        raise refused("the bundle has a patch but no module that could have made it")
    # A fork's specs could declare anything: its patch may touch only what the base
    # commit declares. A same-repository head is the repository's own (its author can
    # push anyway), so a new module there keeps its patch.
    if target.is_fork:
        ref, where = target.base_sha, "the base commit"
    else:
        ref, where = target.head_sha, "the pull request's head"
    allowed, protected = declared_outputs(gh, target.repository, ref, modules, where=where)
    return check_patch(bundle.patch, allowed, protected)
