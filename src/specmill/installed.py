"""Where this copy of specmill came from, for the ``rev:`` that ``specmill init`` writes.

pre-commit fetches hooks by git revision, so the honest revision is the one this copy
was built from: the commit pip recorded (PEP 610's ``direct_url.json``) for a git
install, the checkout's HEAD for an install from a local checkout, else the release
tag of the installed version.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from specmill import __version__
from specmill.gitcli import run_git

REPO_URL = "https://github.com/specmill/specmill"


def installed_revision() -> tuple[str, str, str]:
    """(repo, rev, comment) for a pre-commit config's entry of specmill's hooks."""
    origin = _direct_url()
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        repo = str(origin.get("url", REPO_URL)).removeprefix("git+")
        return repo, vcs["commit_id"], "the commit specmill was installed from"
    source = origin.get("url")
    if isinstance(source, str) and source.startswith("file://"):
        folder = Path(unquote(urlsplit(source).path))
        head = run_git(folder, "rev-parse", "HEAD") if folder.is_dir() else None
        if head:
            sha = head.decode().strip()
            return REPO_URL, sha, "your specmill checkout's commit: push it, or use repo: local"
    return REPO_URL, f"v{__version__}", ""


def _direct_url() -> dict[str, object]:
    try:
        text = metadata.distribution("specmill").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return {}
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
