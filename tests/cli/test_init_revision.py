"""``specmill init`` pins the hooks to a revision that exists: where this copy came from."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from specmill import __version__, installed
from tests.conftest import Project, git

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def init_config(tmp_path: Path) -> tuple[dict, str]:
    root = tmp_path / "new"
    root.mkdir()
    git(root, "init", "--quiet")
    code, out, err = Project(root).main("init")
    assert code == 0, err
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    return config["repos"][0], out


def test_a_git_install_pins_the_commit_pip_recorded(tmp_path, monkeypatch) -> None:
    origin = {
        "url": "https://github.com/acme/specmill-fork",
        "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "main"},
    }
    monkeypatch.setattr(installed, "_direct_url", lambda: origin)
    repo, _ = init_config(tmp_path)
    assert (repo["repo"], repo["rev"]) == ("https://github.com/acme/specmill-fork", SHA)


def test_a_local_checkout_pins_its_head(tmp_path, monkeypatch) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    git(checkout, "init", "--quiet")
    (checkout / "f").write_text("x\n")
    git(checkout, "add", "f")
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "x")
    head = git(checkout, "rev-parse", "HEAD").strip()
    origin = {"url": checkout.as_uri(), "dir_info": {"editable": True}}
    monkeypatch.setattr(installed, "_direct_url", lambda: origin)
    repo, _ = init_config(tmp_path)
    assert repo["rev"] == head
    text = (tmp_path / "new/.pre-commit-config.yaml").read_text()
    assert "push it, or use repo: local" in text


@pytest.mark.parametrize("origin", [{}, {"url": "file:///nonexistent", "dir_info": {}}])
def test_a_release_pins_its_version_tag(tmp_path, monkeypatch, origin) -> None:
    monkeypatch.setattr(installed, "_direct_url", lambda: origin)
    repo, out = init_config(tmp_path)
    assert repo["rev"] == f"v{__version__}"
    assert "src/example/greeting.py as missing: only a model call generates it" in out


def test_this_installation_is_described_truthfully(tmp_path) -> None:
    """No monkeypatching: whatever this test environment installed, the rev exists."""
    repo, _ = init_config(tmp_path)
    checkout = Path(__file__).resolve().parents[2]
    if repo["rev"] != f"v{__version__}":
        assert git(checkout, "cat-file", "-t", repo["rev"]).strip() == "commit"
