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

Where git runs: every git command of a delivery, and all that carry the token, run in
a bare repository made for it (``DeliveryRepository``) in a private temporary folder,
after the run's checks have all ended (``engine.checks.running_checks`` is 0: each
check's reaper ended every process it started). It borrows the checkout's objects
(``objects/info/alternates``: what is pushed is named by its hash), and its
configuration is only what specmill wrote: the remote's URL, read from the checkout
before any check ran, and the token. No system or global configuration, no hooks, no
``GIT_*`` variable of the caller's, the git executable found when specmill started. So
nothing a check wrote into the checkout's ``.git/config`` (``protocol.ext.allow``,
``url.<ext::…>.insteadOf``, ``remote.*.receivepack``, an ``include.path``), its hooks
or its refs takes part, whatever list of dangerous settings one could think of.

Credentials: the example workflows check out with ``persist-credentials: false``, so
the checkout holds no token. The token reaches git in that repository's own
configuration file, as an ``http.<server>/.extraheader`` (what actions/checkout itself
sets): in a folder only this user can read, deleted when the delivery ends; never in
an environment variable (``/proc/<pid>/environ``), on a command line, in the
checkout's ``.git/config`` or in output.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from specmill.engine.checks import running_checks
from specmill.engine.provenance import NOTES_REF
from specmill.errors import SpecmillError
from specmill.gitcli import GIT, isolated_environment
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
    url: str | None = None  # the remote's URL, read before any check ran; None: read it now

    def secrets(self) -> list[str]:
        token = self.token.get_secret_value()
        return [token, _basic(token)] if token else []


def _basic(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


NEUTRALISED_CONFIG = (  # for git commands in the checkout (matrix_commit)
    ("core.hooksPath", "/dev/null"),  # no pre-push or reference-transaction hooks
    ("http.proxy", ""),
    ("credential.helper", ""),
    ("core.sshCommand", "ssh"),
    ("core.fsmonitor", "false"),
)
IDENTITY = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def git(remote: Remote, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in the checkout (no token: ``DeliveryRepository.git`` carries it)."""
    env = dict(remote.env or os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password in CI
    return _run(remote, [GIT, *args], remote.root, env)


def _run(
    remote: Remote, command: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpecmillError(f"git {command[1]} failed: {type(exc).__name__}") from None


def remote_url(remote: Remote) -> str:
    """``remote.<name>.url`` as the checkout's own configuration says (no rewriting)."""
    done = git(remote, "config", "--local", "--get", f"remote.{remote.name}.url")
    url = done.stdout.strip()
    if done.returncode != 0 or not url:
        raise SpecmillError(f"delivery failed: the checkout has no remote {remote.name!r}")
    return url


def _quoted(value: str) -> str:
    """``value`` as a quoted git-config subsection name or value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DeliveryRepository:
    """The bare repository a delivery runs git in (module docstring); removed on exit."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        self.folder = Path(tempfile.mkdtemp(prefix="specmill-deliver-"))  # mode 0700
        self.path = self.folder / "repo.git"
        # A home of its own: no ~/.netrc, ~/.ssh or ~/.gitconfig a check may have written.
        self.env = isolated_environment(remote.env or os.environ)
        self.env.update(HOME=str(self.folder), XDG_CONFIG_HOME=str(self.folder))

    def __enter__(self) -> DeliveryRepository:
        try:
            self._make()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _make(self) -> None:
        remote = self.remote
        url = remote.url or remote_url(remote)
        objects = git(remote, "rev-parse", "--path-format=absolute", "--git-common-dir")
        if objects.returncode != 0:
            raise SpecmillError(f"delivery failed: {_said(remote, objects)}")
        made = _run(remote, [GIT, "init", "--bare", "--quiet", "--template=", str(self.path)],
                    self.folder, self.env)  # fmt: skip
        if made.returncode != 0:
            raise SpecmillError(f"delivery failed: git init: {_said(remote, made)}")
        alternates = self.path / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(str(Path(objects.stdout.strip()) / "objects") + "\n")
        lines = [
            f"[remote {_quoted(remote.name)}]",
            f"\turl = {_quoted(url)}",
            "[user]",
            f"\tname = {_quoted(IDENTITY[0])}",
            f"\temail = {_quoted(IDENTITY[1])}",
        ]
        token = remote.token.get_secret_value()
        if token:
            lines += [
                f"[http {_quoted(remote.server_url.rstrip('/') + '/')}]",
                f"\textraheader = AUTHORIZATION: basic {_basic(token)}",
            ]
        with (self.path / "config").open("a", encoding="utf-8") as config:
            config.write("\n".join(lines) + "\n")
        notes = git(remote, "rev-parse", "--verify", "--quiet", NOTES_REF)
        if notes.returncode == 0 and notes.stdout.strip():
            self._git_ok("update-ref", NOTES_REF, notes.stdout.strip())

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run(self.remote, [GIT, *args], self.path, self.env)

    def _git_ok(self, *args: str) -> str:
        done = self.git(*args)
        if done.returncode != 0:
            raise SpecmillError(f"delivery failed: git {args[0]}: {_said(self.remote, done)}")
        return done.stdout

    def require_child(self, commit: str, start_sha: str) -> None:
        """What is delivered is the run's commit, made on the pull request's head."""
        parent = self._git_ok("rev-parse", "--verify", "--quiet", f"{commit}^1").strip()
        if parent != start_sha:
            raise SpecmillError(
                f"delivery refused: commit {commit[:12]} is not a child of the pull"
                f" request's head {start_sha[:12]} (the checkout's HEAD moved during the run)"
            )


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
    if running_checks():
        raise SpecmillError("delivery refused: a check is still running")
    with DeliveryRepository(remote) as out:
        out.require_child(commit, start_sha)
        if mode == "commit":
            return push_to_branch(out, target, commit, start_sha=start_sha, patch_dir=patch_dir)
        if mode == "pull-request":
            return open_companion(out, target, commit, start_sha=start_sha, github=github)
        patch = write_patch(out, commit, start_sha=start_sha, patch_dir=patch_dir)
        return patch_delivery(patch, bundled=bundled)


def push_to_branch(
    out: DeliveryRepository, target: PullTarget, commit: str, *, start_sha: str, patch_dir: Path
) -> Delivered:
    remote = out.remote
    branch = target.head_ref
    for _ in range(2):  # a second try only when another run pushed notes meanwhile
        refspecs = [f"{commit}:refs/heads/{branch}", *_notes_refspecs(out)]
        lease = f"--force-with-lease=refs/heads/{branch}:{start_sha}"
        done = out.git("push", "--atomic", "--porcelain", lease, remote.name, *refspecs)
        if done.returncode == 0:
            detail = f"pushed {commit[:12]} to {branch}, with its git note ({NOTES_REF})"
            return Delivered(Delivery("commit", detail), head_sha=commit)
        failure = SpecmillError(
            f"delivery failed: git push to {branch}: {_said(remote, done)}", hint=PUSH_HINT
        )
        try:
            now = remote_head(out, branch)
        except SpecmillError:
            raise failure from None
        if now != start_sha:
            patch = write_patch(out, commit, start_sha=start_sha, patch_dir=patch_dir)
            moved = f"moved from {start_sha[:12]} to {now[:12] if now else 'nothing (deleted)'}"
            detail = (
                f"not pushed: {branch} {moved} while specmill ran, so nothing was "
                f"overwritten and the run for the new head reports; this run's commit is "
                f"in {patch.path} (`git am {PATCH_FILE}`)"
            )
            return Delivered(Delivery("commit", detail), patch=patch.text)
    raise failure


def open_companion(
    out: DeliveryRepository, target: PullTarget, commit: str, *, start_sha: str, github: Any
) -> Delivered:
    """Push ``specmill/regen-<number>-<sha>`` and open (or reuse) a PR into the PR's branch."""
    remote = out.remote
    branch = f"specmill/regen-{target.number}-{start_sha[:7]}"
    refspecs = [f"+{commit}:refs/heads/{branch}", *_notes_refspecs(out)]
    done = out.git("push", "--atomic", "--porcelain", remote.name, *refspecs)
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


def write_patch(out: DeliveryRepository, commit: str, *, start_sha: str, patch_dir: Path) -> Patch:
    """``git format-patch`` of the run's commit, written to ``patch_dir/specmill.patch``."""
    done = out.git("format-patch", "--stdout", "--no-signature", f"{start_sha}..{commit}")
    if done.returncode != 0:
        raise SpecmillError(f"git format-patch failed: {_said(out.remote, done)}")
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


def remote_head(out: DeliveryRepository, branch: str) -> str | None:
    done = out.git("ls-remote", out.remote.name, f"refs/heads/{branch}")
    if done.returncode != 0:
        raise SpecmillError(f"delivery failed: git ls-remote: {_said(out.remote, done)}")
    line = done.stdout.split()
    return line[0] if line else None


def _notes_refspecs(out: DeliveryRepository) -> list[str]:
    """Merge the remote's notes into ours (theirs + this run's), so the push fast-forwards."""
    remote = out.remote
    if out.git("rev-parse", "--verify", "--quiet", NOTES_REF).returncode != 0:
        return []
    fetched = out.git("fetch", "--quiet", remote.name, f"+{NOTES_REF}:{REMOTE_NOTES}")
    if fetched.returncode == 0:
        merged = out.git(
            "notes", f"--ref={NOTES_REF}", "merge", "--quiet", "-s", "ours", REMOTE_NOTES
        )
        if merged.returncode != 0:
            raise SpecmillError(f"git notes merge failed: {_said(remote, merged)}")
    elif "couldn't find remote ref" not in fetched.stderr:
        raise SpecmillError(
            f"delivery failed: git fetch {NOTES_REF}: {_said(remote, fetched)}", hint=PUSH_HINT
        )
    return [f"{NOTES_REF}:{NOTES_REF}"]
