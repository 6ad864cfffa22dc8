"""``specmill monitor`` through the real CLI, on the session's history (no browser):
the page's numbers, a fresh clone with the notes, the ranges, and bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.monitor.conftest import (
    HOSTILE_MODULE,
    History,
    recorded_runs,
    run_cli,
    total_cost,
    verifier_numbers,
    with_hostile_note,
)
from tests.monitor.page import Page


def build(history: History, out: Path, *args: str, cwd: Path | None = None) -> Page:
    code, output, err = run_cli(cwd or history.root, "monitor", "--out", str(out), *args)
    assert code == 0, output + err
    assert str(out / "index.html") in output
    return Page((out / "index.html").read_text(encoding="utf-8"))


def test_the_page_shows_what_the_records_say(history: History, tmp_path: Path) -> None:
    page = build(history, tmp_path / "site")
    runs = recorded_runs(history.root)
    assert len(runs) == 4  # regen passed, regen failed, regen with candidates, calibrate
    assert page.by_id("total-runs").text == "4"
    assert page.by_id("total-cost").text == total_cost(runs)
    assert set(page.rows("data-run")) >= set(runs)
    for name, numbers in verifier_numbers(runs).items():
        row = page.all("tr", data_verifier=name)[0]
        assert {k: row.cells[k] for k in numbers} == numbers, name
    modules = page.table_rows("modules-table")
    states = {row.attrs["data-module"]: row.cells["state-cell"] for row in modules}
    assert states == {
        "billing.money": "stale",
        "billing.invoice": "stale",
        "billing.receipt": "hand-edited",
    }


def test_a_fresh_clone_with_the_notes_shows_the_committed_runs(
    history: History, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(history.root), str(clone)], check=True)
    assert not (clone / ".specmill" / "runs").exists()

    before = build(history, tmp_path / "before", cwd=clone)
    assert before.by_id("total-runs").text == "0"  # a clone does not fetch notes by itself

    history.git("fetch", "--quiet", "origin", "refs/notes/specmill:refs/notes/specmill", cwd=clone)
    page = build(history, tmp_path / "after", cwd=clone)
    committed = recorded_runs(history.root, local=False)
    assert len(committed) == 2  # the failed run and the calibration were not committed
    assert page.by_id("total-runs").text == "2"
    assert page.by_id("total-cost").text == total_cost(committed)
    assert set(page.rows("data-run")) == set(committed)
    assert all("git note" in row.text for row in page.rows("data-run").values())


def test_dates_and_commit_ranges_choose_the_runs(history: History, tmp_path: Path) -> None:
    runs = sorted(recorded_runs(history.root).values(), key=lambda r: r["started_at"])
    first_commit = runs[0]["commit"]
    page = build(history, tmp_path / "range", "--commits", f"{first_commit}~1..{first_commit}")
    assert set(page.rows("data-run")) == {runs[0]["run_id"]}

    future = build(history, tmp_path / "future", "--since", "2999-01-01")
    assert future.by_id("total-runs").text == "0"
    everything = build(history, tmp_path / "all", "--until", "2999-01-01T00:00:00+00:00")
    assert everything.by_id("total-runs").text == "4"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--since", "last tuesday"), 2, "is not a date"),
        (("--commits", "no-such-branch..main"), 1, "unknown commit range"),
        (("--commits", "--output=/tmp/x"), 1, "is not a commit range"),
        (("--link-base", "javascript:alert(1)//"), 2, "must start with https://"),
    ],
)
def test_bad_options_get_a_clear_error(
    history: History, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    got, out, err = run_cli(history.root, "monitor", "--out", str(tmp_path / "site"), *args)
    assert got == code, out + err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "site" / "index.html").exists()


def test_a_page_specmill_did_not_write_is_never_replaced(history: History, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>my home page</h1>\n")
    code, _out, err = run_cli(history.root, "monitor", "--out", str(tmp_path))
    assert code == 1
    assert "was not written by specmill monitor; nothing was written" in err
    assert (tmp_path / "index.html").read_text() == "<h1>my home page</h1>\n"
    build(history, tmp_path / "mine")  # and its own page, it rewrites
    build(history, tmp_path / "mine")


def test_by_default_nothing_lands_in_the_working_tree(history: History) -> None:
    before = history.git("status", "--porcelain", "--untracked-files=all")
    code, out, err = run_cli(history.root, "monitor")
    assert code == 0, err
    page = Path(out.split()[0])
    assert page.is_file() and ".git" in page.parts
    assert history.git("status", "--porcelain", "--untracked-files=all") == before


def test_open_hands_the_page_to_the_browser(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import click

    opened: list[str] = []
    monkeypatch.setattr(click, "launch", lambda url, **_: opened.append(url) or 0)
    run_cli(history.root, "monitor", "--out", str(tmp_path), "--open")
    assert opened == [(tmp_path / "index.html").resolve().as_uri()]


def test_a_note_that_is_not_a_run_record_is_skipped_and_named(
    history: History, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(history.root, repo)
    head = history.git("rev-parse", "HEAD", cwd=repo).strip()
    history.git("notes", "--ref=refs/notes/specmill", "add", "-m", "not json {", head, cwd=repo)
    code, _out, err = run_cli(repo, "monitor", "--out", str(tmp_path / "site"))
    assert code == 0, err
    assert (
        f"note: skipped git note refs/notes/specmill on {head[:12]}: unreadable run record" in err
    )
    page = Page((tmp_path / "site" / "index.html").read_text(encoding="utf-8"))
    assert page.by_id("total-runs").text == "4"


def _inline_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_untrusted_text_is_inert_in_the_html(history: History, tmp_path: Path) -> None:
    """The findings and ambiguity the scripted models wrote carry <script>, an onerror
    image and javascript: links; the page holds them as text, and runs only its own code."""
    repo = with_hostile_note(history, tmp_path / "repo")
    page = build(history, tmp_path / "site", cwd=repo)
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert HOSTILE_MODULE in page.by_id("modules-table").text  # shown, as text
    scripts = page.all("script")
    assert len(scripts) == 2  # the data block and the page's own script, nothing else
    assert scripts[0].attrs == {"type": "application/json", "id": "monitor-data"}
    json.loads(scripts[0].text)  # still valid JSON, with no "<" left to end the block
    assert "<" not in scripts[0].text and "&" not in scripts[0].text
    assert not page.all("img")
    for element in page.elements:
        for name, value in element.attrs.items():
            assert not name.startswith("on"), element
            assert "javascript:" not in value.lower() or name.startswith("data-"), element
    assert "<script>window.pwned" not in html and 'onerror="window' not in html
    assert "empty invoices &lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    csp = page.all("meta", http_equiv="Content-Security-Policy")[0].attrs["content"]
    assert csp.startswith("default-src 'none'; script-src 'sha256-")
    assert _inline_hash(scripts[1].text) in csp
    assert _inline_hash(page.all("style")[0].text) in csp
    assert "unsafe-inline" not in csp and "http" not in csp
