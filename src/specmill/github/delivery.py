"""Delivery of regenerated code: a commit on the pull request's branch, a companion pull
request, or a patch file.

The engine has already committed on top of the pull request's head in the checkout
(trailers, and the run record as a git note under ``refs/notes/specmill``); this module
only moves that commit. ``commit`` pushes it to the pull request's branch only if the
branch is still at the SHA the run started from (``--force-with-lease`` with that SHA,
in one ``--atomic`` push with the note), else says so and stops: nothing on the branch is
overwritten. ``pull-request`` pushes ``specmill/regen-<number>-<sha>`` and opens a pull
request against the pull request's branch. ``patch`` writes ``git format-patch`` output
(``git am specmill.patch``); it is the only mode for forks and the generate phase.

Credentials: the example workflows check out with ``persist-credentials: false``, so
git holds no token. The git commands that talk to the remote get it as an
``http.<server>/.extraheader`` (what actions/checkout itself sets), passed through
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` in the environment of
that one git process: the same as ``git -c``, but not on a command line, which every
user of the machine can read (``ps``) and which git and GitPython repeat in errors.
Nothing is written to ``.git/config``; nothing is printed; checks never see it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from specmill.engine.provenance import NOTES_REF
from specmill.errors import SpecmillError
from specmill.github.client import redact
from specmill.github.events import PullTarget
from specmill.github.publish import fetch_pull_target, github_call
from specmill.github.render import render
from specmill.github.summary import Delivery

Mode = Literal["commit", "pull-request", "patch"]
PATCH_FILE = "specmill.patch"
REMOTE_NOTES = "refs/specmill/remote-notes"  # the remote's notes, fetched to merge ours in
GIT_TIMEOUT = 300
PUSH_HINT = (
    "delivery by commit or pull-request needs `permissions: contents: write` and the "
    "token of this repository (GITHUB_TOKEN); delivery: patch needs neither"
)


@dataclass(frozen=True)
class Delivered:
    delivery: Delivery
    head_sha: str | None = None  # the pull request's new head, when pushed to its branch
    patch: str | None = None


@dataclass(frozen=True)
class Remote:
    """The checkout's ``origin`` and how to authenticate to it."""

    root: Path
    token: SecretStr
    server_url: str = "https://github.com"  # GITHUB_SERVER_URL: GitHub Enterprise Server too
    env: Mapping[str, str] = field(default_factory=dict)  # base environment, secrets removed
    name: str = "origin"

    def secrets(self) -> list[str]:
        token = self.token.get_secret_value()
        return [token, _basic(token)] if token else []


def _basic(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


NEUTRALISED_CONFIG = (
    ("core.hooksPath", "/dev/null"),  # no pre-push or reference-transaction hooks
    ("http.proxy", ""),
    ("credential.helper", ""),
    ("core.sshCommand", "ssh"),
    ("core.fsmonitor", "false"),
)


def auth_environment(env: Mapping[str, str], token: str, server_url: str) -> dict[str, str]:
    """``env`` plus the extraheader for ``server_url`` as one more ``GIT_CONFIG_*`` entry."""
    out = dict(env)
    if not token:
        return out
    settings = [
        (f"http.{server_url.rstrip('/')}/.extraheader", f"AUTHORIZATION: basic {_basic(token)}"),
        # Checks ran repository code beside this .git: whatever they planted in its config
        # must not run or redirect the one command that carries the token.
        *NEUTRALISED_CONFIG,
    ]
    index = int(out.get("GIT_CONFIG_COUNT", "0") or 0)
    for offset, (key, value) in enumerate(settings):
        out[f"GIT_CONFIG_KEY_{index + offset}"] = key
        out[f"GIT_CONFIG_VALUE_{index + offset}"] = value
    out["GIT_CONFIG_COUNT"] = str(index + len(settings))
    return out


def git(remote: Remote, *args: str, auth: bool = False) -> subprocess.CompletedProcess[str]:
    """Run git in the checkout; with ``auth``, the token rides in this process's env only."""
    env = dict(remote.env or os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password in CI
    if auth:
        env = auth_environment(env, remote.token.get_secret_value(), remote.server_url)
    try:
        return subprocess.run(
            ["git", *args],
            cwd=remote.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpecmillError(f"git {args[0]} failed: {type(exc).__name__}") from None


def _said(remote: Remote, done: subprocess.CompletedProcess[str]) -> str:
    text = (done.stderr or done.stdout or "").strip().splitlines()
    return redact(" / ".join(text[-3:]) or f"exit {done.returncode}", remote.secrets())


def deliver(
    mode: Mode,
    remote: Remote,
    target: PullTarget,
    commit: str,
    *,
    start_sha: str,
    patch_dir: Path,
    bundled: bool = False,
    github: Any = None,
) -> Delivered:
    """Deliver ``commit`` (the engine's, a child of ``start_sha``) as ``mode`` says.

    ``bundled``: the generate phase, whose bundle carries the patch to the report phase.
    """
    if target.is_fork or bundled:
        mode = "patch"  # a fork's branch is not ours to push to; generate has no token
    if mode == "commit":
        return push_to_branch(remote, target, commit, start_sha=start_sha, patch_dir=patch_dir)
    if mode == "pull-request":
        return open_companion(remote, target, commit, start_sha=start_sha, github=github)
    patch = write_patch(remote, commit, start_sha=start_sha, patch_dir=patch_dir)
    return patch_delivery(patch, bundled=bundled)


def push_to_branch(
    remote: Remote, target: PullTarget, commit: str, *, start_sha: str, patch_dir: Path
) -> Delivered:
    branch = target.head_ref
    for _ in range(2):  # a second try only when another run pushed notes meanwhile
        refspecs = [f"{commit}:refs/heads/{branch}", *_notes_refspecs(remote)]
        lease = f"--force-with-lease=refs/heads/{branch}:{start_sha}"
        done = git(
            remote, "push", "--atomic", "--porcelain", lease, remote.name, *refspecs, auth=True
        )
        if done.returncode == 0:
            detail = f"pushed {commit[:12]} to {branch}, with its git note ({NOTES_REF})"
            return Delivered(Delivery("commit", detail), head_sha=commit)
        failure = SpecmillError(
            f"delivery failed: git push to {branch}: {_said(remote, done)}", hint=PUSH_HINT
        )
        try:
            now = remote_head(remote, branch)
        except SpecmillError:
            raise failure from None
        if now != start_sha:
            patch = write_patch(remote, commit, start_sha=start_sha, patch_dir=patch_dir)
            moved = f"moved from {start_sha[:12]} to {now[:12] if now else 'nothing (deleted)'}"
            detail = (
                f"not pushed: {branch} {moved} while specmill ran, so nothing was "
                f"overwritten and the run for the new head reports; this run's commit is "
                f"in {patch.path} (`git am {PATCH_FILE}`)"
            )
            return Delivered(Delivery("commit", detail), patch=patch.text)
    raise failure


def open_companion(
    remote: Remote, target: PullTarget, commit: str, *, start_sha: str, github: Any
) -> Delivered:
    """Push ``specmill/regen-<number>-<sha>`` and open (or reuse) a PR into the PR's branch."""
    branch = f"specmill/regen-{target.number}-{start_sha[:7]}"
    refspecs = [f"+{commit}:refs/heads/{branch}", *_notes_refspecs(remote)]
    done = git(remote, "push", "--atomic", "--porcelain", remote.name, *refspecs, auth=True)
    if done.returncode != 0:
        raise SpecmillError(
            f"delivery failed: git push to {branch}: {_said(remote, done)}", hint=PUSH_HINT
        )
    owner = target.repository.split("/")[0]
    repo = github.get_repo(target.repository)
    with github_call(f"list the open pull requests from {branch}"):
        existing = list(repo.get_pulls(state="open", head=f"{owner}:{branch}"))
    if existing:
        number = existing[0].number
        detail = f"pushed {commit[:12]} to {branch}, companion pull request #{number} updated"
        return Delivered(Delivery("pull-request", detail))
    title = f"specmill: regenerated code for #{target.number}"
    body = render(
        "companion_pull.md.j2",
        number=target.number,
        start_sha=start_sha,
        head_ref=target.head_ref,  # a branch name may be `@acme/everyone`: through a filter
    ).strip()
    with github_call(f"open a pull request from {branch} into {target.head_ref}"):
        pull = repo.create_pull(title=title, body=body, base=target.head_ref, head=branch)
    detail = f"companion pull request #{pull.number} from {branch} into {target.head_ref}"
    return Delivered(Delivery("pull-request", detail))


@dataclass(frozen=True)
class Patch:
    text: str
    path: Path


def write_patch(remote: Remote, commit: str, *, start_sha: str, patch_dir: Path) -> Patch:
    """``git format-patch`` of the run's commit, written to ``patch_dir/specmill.patch``."""
    done = git(remote, "format-patch", "--stdout", "--no-signature", f"{start_sha}..{commit}")
    if done.returncode != 0:
        raise SpecmillError(f"git format-patch failed: {_said(remote, done)}")
    patch_dir.mkdir(parents=True, exist_ok=True)
    path = patch_dir / PATCH_FILE
    path.write_text(done.stdout, encoding="utf-8")
    return Patch(done.stdout, path)


def patch_delivery(patch: Patch, *, bundled: bool) -> Delivered:
    where = "in the result bundle" if bundled else f"written to {patch.path}"
    detail = f"{PATCH_FILE} ({where}); apply it with `git am {PATCH_FILE}`"
    return Delivered(Delivery("patch", detail), patch=patch.text)


def await_pull_head(
    github: Any, target: PullTarget, sha: str, *, tries: int = 5, pause: Any = time.sleep
) -> bool:
    """Wait until GitHub reports ``sha`` as the pull request's head (it lags a push a bit).

    The report goes on the pushed commit; read too early, the pull request would look
    superseded and nothing would be posted, while no newer run is coming (a push made
    with GITHUB_TOKEN starts no workflow).
    """
    for attempt in range(tries):
        if attempt:
            pause(attempt)
        now = fetch_pull_target(github, target.repository, target.html_url, target.number)
        if now.head_sha == sha:
            return True
    return False


def remote_head(remote: Remote, branch: str) -> str | None:
    done = git(remote, "ls-remote", remote.name, f"refs/heads/{branch}", auth=True)
    if done.returncode != 0:
        raise SpecmillError(f"delivery failed: git ls-remote: {_said(remote, done)}")
    line = done.stdout.split()
    return line[0] if line else None


def _notes_refspecs(remote: Remote) -> list[str]:
    """Merge the remote's notes into ours (theirs + this run's), so the push fast-forwards."""
    if git(remote, "rev-parse", "--verify", "--quiet", NOTES_REF).returncode != 0:
        return []
    fetched = git(
        remote, "fetch", "--quiet", remote.name, f"+{NOTES_REF}:{REMOTE_NOTES}", auth=True
    )
    if fetched.returncode == 0:
        merged = git(
            remote, "notes", f"--ref={NOTES_REF}", "merge", "--quiet", "-s", "ours", REMOTE_NOTES
        )
        if merged.returncode != 0:
            raise SpecmillError(f"git notes merge failed: {_said(remote, merged)}")
    elif "couldn't find remote ref" not in fetched.stderr:
        raise SpecmillError(
            f"delivery failed: git fetch {NOTES_REF}: {_said(remote, fetched)}", hint=PUSH_HINT
        )
    return [f"{NOTES_REF}:{NOTES_REF}"]
