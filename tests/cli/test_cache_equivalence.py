"""The caches change how fast check, status and affected answer, never what they answer.

Each step edits a real git repository, then runs every command through the real CLI
twice: with the caches (``.git/specmill``), and with ``SPECMILL_NO_CACHE=1``. Output
and exit code must be the same. Files are aged between steps (a file changed within
the last two seconds is never cached), so that the cache is really used and has to
notice each change.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specmill.cli import quick
from specmill.core import affected_cache
from tests.conftest import Project

COMMANDS = [
    ("check",),
    ("check", "--json"),
    ("status",),
    ("status", "--json"),
    ("affected",),
    ("affected", "--json"),
    ("affected", "--base", "main"),
    ("affected", "--base", "main", "--json"),
    ("affected", "--base", "main", "--matrix"),
]

SPEC_REPORT = """\
---
outputs:
  - src/billing/report.py
depends_on: [billing.invoice]
---
# Report
- **P1** `report()` lists the invoices.
"""


def age(root: Path, seconds: float = 60) -> None:
    """Every file and folder of the work tree, ``seconds`` old."""
    past = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        if ".git" not in path.relative_to(root).parts:
            os.utime(path, (past, past), follow_symlinks=False)


def outcomes(project: Project) -> list[tuple[int, str, str]]:
    return [project.main(*command) for command in COMMANDS]


def assert_same_with_and_without_cache(
    project: Project, monkeypatch: pytest.MonkeyPatch, step: str
) -> list[tuple[int, str, str]]:
    monkeypatch.setenv("SPECMILL_NO_CACHE", "1")
    cold = outcomes(project)
    monkeypatch.delenv("SPECMILL_NO_CACHE")
    cached = outcomes(project)  # the cache as the previous step left it
    again = outcomes(project)  # the cache this step wrote
    for command, want, got, got_again in zip(COMMANDS, cold, cached, again, strict=True):
        assert got == want, f"{step}: specmill {' '.join(command)}"
        assert got_again == want, f"{step}: specmill {' '.join(command)} (second run)"
    return cold


@pytest.fixture
def repo(billing: Project) -> Project:
    billing.write("specs/billing/report.md", SPEC_REPORT)
    billing.write("src/billing/report.py", "def report():\n    return []\n")
    billing.write("docs/STYLE.md", "Use type hints.\n")
    billing.write("specmill.toml", '[specmill]\ngovernance = ["docs/STYLE.md"]\n')
    code, _, err = billing.main("adopt", "--force", "src/billing/report.py")
    assert code == 0, err
    for path in ["src/billing/money.py", "src/billing/invoice.py", "tests/billing/test_invoice.py"]:
        billing.main("adopt", "--force", path)
    billing.commit("report, governance")
    billing.git("switch", "--quiet", "-c", "feature")
    return billing


def test_check_status_affected_are_the_same_with_and_without_the_cache(
    repo: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = repo.root / ".git" / "specmill"
    answered: list[str] = []  # steps where the records answered `affected --base`
    real = affected_cache.affected
    current = ["setup"]

    def spy(*args: Any) -> list[str]:
        found = real(*args)
        answered.append(current[0])
        return found

    monkeypatch.setattr(affected_cache, "affected", spy)
    quick_answered: list[str] = []  # steps where they answered before click loaded
    real_quick = quick.quick

    def quick_spy(*args: Any) -> int | None:
        code = real_quick(*args)
        if code is not None:
            quick_answered.append(current[0])
        return code

    monkeypatch.setattr(quick, "quick", quick_spy)

    def step(name: str) -> list[tuple[int, str, str]]:
        current[0] = name
        age(repo.root)
        return assert_same_with_and_without_cache(repo, monkeypatch, name)

    first = step("a clean repository")
    assert [code for code, _, _ in first[:4]] == [0, 0, 0, 0]
    assert "specs/billing/money.md" in (cache / "spec-cache.json").read_text()
    assert "src/billing/money.py" in (cache / "stat-cache.json").read_text()

    repo.write("specmill.toml", '[specmill]\ngovernance = ["docs/STYLE.md"]\nchecks = ["true"]\n')
    step("a config change")
    repo.write("specmill.toml", '[specmill]\ngovernance = ["docs/STYLE.md"]\n')
    step("the config restored")

    repo.write(".specmill/templates/prompts/planner.j2", "Plan {{ spec }} carefully.\n")
    changed = step("a template override added")
    assert changed[0][0] == 1 and "stale" in changed[0][1]
    (repo.root / ".specmill/templates/prompts/planner.j2").unlink()
    step("the template override removed")

    repo.write("docs/STYLE.md", "Use type hints everywhere.\n")
    step("a governance file change")
    repo.write("docs/STYLE.md", "Use type hints.\n")
    step("the governance file restored")

    money = repo.root / "specs/billing/money.md"
    before = os.stat(money)
    money.write_text(money.read_text().replace("is a value", "is a VALUE"), encoding="utf-8")
    os.utime(money, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(money)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert_same_with_and_without_cache(repo, monkeypatch, "same size and mtime, new text")
    edited = repo.main("check")
    assert edited[0] == 1 and "src/billing/money.py" in edited[1]
    money.write_text(money.read_text().replace("is a VALUE", "is a value"), encoding="utf-8")
    step("the spec restored")

    repo.git("mv", "specs/billing/report.md", "specs/billing/summary.md")
    summary = repo.read("specs/billing/summary.md")
    repo.write(
        "specs/billing/summary.md",
        summary.replace("---\noutputs", "---\nid: billing.report\noutputs", 1),
    )
    step("a renamed spec (same module id)")
    repo.git("mv", "specs/billing/summary.md", "specs/billing/report.md")
    repo.write("specs/billing/report.md", SPEC_REPORT)
    step("the spec renamed back")

    (repo.root / "tests/billing/test_invoice.py").unlink()
    deleted = step("a deleted output")
    assert deleted[0][0] == 1 and "missing" in deleted[0][1]
    repo.git("checkout", "--", "tests/billing/test_invoice.py")
    step("the output restored")

    repo.write(
        "specs/billing/report.md", SPEC_REPORT.replace("[billing.invoice]", "[billing.money]")
    )
    moved = step("depends_on changed")
    assert moved[6][1].split() == ["billing.report"]
    repo.write(
        "specs/billing/report.md", SPEC_REPORT.replace("[billing.invoice]", "[billing.nope]")
    )
    broken = step("depends_on names an unknown module")
    assert broken[6][0] == 1
    repo.write("specs/billing/report.md", SPEC_REPORT)
    repo.commit("back")
    step("committed on the branch")

    repo.write("src/billing/money.py", repo.read("src/billing/money.py") + "# edited\n")
    edited_output = step("a hand-edited output")
    assert edited_output[0][0] == 1 and "hand-edited" in edited_output[0][1]
    # the records answered in most steps, so the comparisons above covered them
    assert len(set(answered)) >= 10, answered
    assert len(set(quick_answered)) >= 10, quick_answered


SPEC_DAMAGE: dict[str, Callable[[dict[str, Any]], None]] = {
    "outputs outside the repository": lambda d: d.update(
        outputs="\n".join("../../etc/passwd" for _ in range(d["count"]))
    ),
    "one row's output outside the repository": lambda d: d.update(
        outputs="\n".join(
            "../x.py" if n == 1 else row for n, row in enumerate(d["outputs"].split("\n"))
        )
    ),
    "one row's context on a drive": lambda d: d.update(
        context="\n".join(
            "C:/x.md" if n == 2 else row for n, row in enumerate(d["context"].split("\n"))
        )
    ),
    "one row's module id that is not": lambda d: d.update(
        ids="\n".join(".x" if n == 0 else row for n, row in enumerate(d["ids"].split("\n")))
    ),
    "absolute context paths": lambda d: d.update(
        context="\n".join("/etc/shadow" for _ in range(d["count"]))
    ),
    "huge body lines": lambda d: d.update(body_lines=[10**40] * d["count"]),
    "module ids that are not": lambda d: d.update(ids="\n".join("../x" for _ in range(d["count"]))),
    "digests of the wrong length": lambda d: d.update(digests=d["digests"][1:]),
    "digests that are not hex": lambda d: d.update(digests="z" * len(d["digests"])),
    "an unknown tier": lambda d: d.update(tiers="\n".join("godlike" for _ in range(d["count"]))),
    "checks of the wrong type": lambda d: d.update(checks=[5] * d["count"]),
    "keys of the wrong type": lambda d: d.update(keys=[1, 2, 3]),
    "a count that does not match": lambda d: d.update(count=d["count"] + 1),
    "a negative count": lambda d: d.update(count=-1),
    "a whole entry that is not one": lambda d: d.update(
        whole={str(n): ["billing.money"] for n in range(d["count"])}
    ),
    "a whole entry with a path outside": lambda d: d.update(
        whole={
            str(n): [
                "billing.money",
                None,
                ["x.py"],
                [],
                [],
                "auto",
                None,
                [],
                5,
                ["../x.py"],
                [],
                "sha256:" + "0" * 64,
            ]
            for n in range(d["count"])
        }
    ),
}


@pytest.mark.parametrize(
    "damage", [b"{not json", b"[]", b'{"version": 3}', b"9" * 5000, b"[" * 100_000]
)
def test_a_corrupt_cache_is_ignored(
    repo: Project, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    age(repo.root)
    monkeypatch.setenv("SPECMILL_NO_CACHE", "1")
    want = outcomes(repo)
    monkeypatch.delenv("SPECMILL_NO_CACHE")
    outcomes(repo)  # writes the caches
    for name in ["spec-cache.json", "stat-cache.json"]:
        (repo.root / ".git" / "specmill" / name).write_bytes(damage)
    assert outcomes(repo) == want


@pytest.mark.parametrize("damage", list(SPEC_DAMAGE))
def test_a_hostile_spec_cache_entry_is_not_believed(
    repo: Project, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    age(repo.root)
    monkeypatch.setenv("SPECMILL_NO_CACHE", "1")
    want = outcomes(repo)
    monkeypatch.delenv("SPECMILL_NO_CACHE")
    outcomes(repo)  # writes the caches
    path = repo.root / ".git" / "specmill" / "spec-cache.json"
    data = json.loads(path.read_text())
    assert data["count"] == 3
    SPEC_DAMAGE[damage](data)
    path.write_text(json.dumps(data))
    assert outcomes(repo) == want


def test_hostile_probe_entries_are_not_believed(
    repo: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(repo.root)
    monkeypatch.setenv("SPECMILL_NO_CACHE", "1")
    want = outcomes(repo)
    monkeypatch.delenv("SPECMILL_NO_CACHE")
    outcomes(repo)
    path = repo.root / ".git" / "specmill" / "stat-cache.json"
    data = json.loads(path.read_text())
    garbage = [
        "x",
        "\t\t",
        "a\tb\tc\td\te\tseven\tg\t3\t1\t1",
        "a\tb\tc\td\te\t1\tg\t99999999999999999999\t1\t1",
        "1\tmaybe",
        "0\t1",
        "-1\t1",
    ]
    lines = data["probes"].split("\n")
    for damage in garbage:
        data["probes"] = "\n".join(damage for _ in lines)
        path.write_text(json.dumps(data))
        assert outcomes(repo) == want, damage
        data["keys"] = json.loads(path.read_text())["keys"]  # rewritten from the files


def test_a_cache_that_cannot_be_written_does_not_fail_the_command(
    repo: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(repo.root)
    cache = repo.root / ".git" / "specmill"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "spec-cache.json").mkdir()  # a folder where the file should be
    (cache / "stat-cache.json").mkdir()
    monkeypatch.setenv("SPECMILL_NO_CACHE", "1")
    want = outcomes(repo)
    monkeypatch.delenv("SPECMILL_NO_CACHE")
    assert outcomes(repo) == want
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_an_unreadable_governance_file_answers_as_without_the_cache(
    repo: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A governance file that may not be read fails only the commands that hash inputs:
    with the cache as without it."""
    repo.git("switch", "--quiet", "main")
    (repo.root / "docs/outside.md").symlink_to("/etc/hostname")
    repo.write("specmill.toml", '[specmill]\ngovernance = ["docs/STYLE.md", "docs/outside.md"]\n')
    repo.commit("a governance file outside the repository")
    repo.git("switch", "--quiet", "feature")
    repo.git("merge", "--quiet", "main")
    age(repo.root)
    want = assert_same_with_and_without_cache(repo, monkeypatch, "an unreadable governance file")
    assert want[6] == (0, "", "")  # nothing affected: nothing changed on the branch
