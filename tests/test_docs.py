"""The manual holds together: README's links reach the docs pages (GitHub renders them;
MkDocs never reads README), and ``mkdocs build --strict`` refuses what would break the
site: a link to a missing page or heading, a page left out of ``nav``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """A heading's anchor as GitHub and MkDocs' toc both make it, for the headings we write."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_every_relative_link_in_the_readme_reaches_a_file_and_heading() -> None:
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    relative = [t for t in LINK.findall(readme) if not re.match(r"[a-z]+:", t)]
    assert any(t.startswith("docs/") for t in relative), "README links to no docs page"
    for target in relative:
        path, _, anchor = target.partition("#")
        assert (CHECKOUT / path).is_file(), f"README.md links to missing {path}"
        if anchor:
            assert anchor in anchors(CHECKOUT / path), f"README.md: no heading #{anchor} in {path}"


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # warnings on stderr, the verdict on stdout
        text=True,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    pytest.importorskip("material", reason="mkdocs-material comes with the dev extra")
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(CHECKOUT / "mkdocs.yml", root)
    shutil.copytree(CHECKOUT / "docs", root / "docs")
    return root


def test_the_docs_build_strictly(docs_copy: Path, tmp_path: Path) -> None:
    result = build(docs_copy, tmp_path / "site")
    assert result.returncode == 0, result.stdout
    assert (tmp_path / "site" / "configuration" / "index.html").is_file()


def test_a_broken_link_a_missing_heading_and_an_orphan_page_fail_the_build(
    docs_copy: Path, tmp_path: Path
) -> None:
    hooks = docs_copy / "docs" / "hooks.md"
    text = hooks.read_text(encoding="utf-8")
    text += "\n[gone](no-such-page.md) and [nowhere](specs.md#no-such-heading)\n"
    hooks.write_text(text, encoding="utf-8")
    (docs_copy / "docs" / "forgotten.md").write_text("# Not in nav\n", encoding="utf-8")

    result = build(docs_copy, tmp_path / "site")

    assert result.returncode == 1
    assert "Aborted with 3 warnings in strict mode" in result.stdout
    assert "'no-such-page.md', but the target is not found" in result.stdout
    assert "does not contain an anchor '#no-such-heading'" in result.stdout
    assert 'not included in the "nav" configuration:\n  - forgotten.md' in result.stdout
