"""Issue 18, items 1, 4 and 7: checks are evidence only when they can fail, test the
tree under test, cannot reach the checkout's git, and show their output when they fail.

The sensitivity probe runs a module's checks once with its outputs sabotaged: a check
that still passes is *insensitive*, a named outcome in the terminal, the review and the
run record, and no pass (unless ``insensitive_checks = "warn"``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from specmill.core.config import parse_config
from specmill.engine.checks import tree_environment
from specmill.engine.worktrees import Worktrees
from specmill.errors import ConfigError
from specmill.repo import Repo
from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, PY, Factory, executor, plan

INVOICE_PY = "src/billing/invoice.py"
BROKEN = 'def total(items):\n    return "broken"\n'


def record(factory: Factory) -> dict[str, Any]:
    newest = sorted(runs_dir(factory.root).glob("*/record.json"))[-1]
    return json.loads(newest.read_text(encoding="utf-8"))


def imports_the_checkout(factory: Factory) -> str:
    """A check that imports the module from the user's checkout, not the tree under test:
    what an editable install does, spelled out."""
    src = factory.root / "src"
    return f"{PY} -c 'import sys; sys.path.insert(0, \"{src}\"); import billing.invoice'"


def test_an_insensitive_check_is_named_and_the_module_does_not_pass(factory: Factory) -> None:
    factory.configure(checks=[imports_the_checkout(factory)])
    factory.commit("a check that tests the checkout")
    factory.answers(planner=[plan(INVOICE_PY)], executor=[executor(INVOICE_PY, BROKEN)])
    before = factory.snapshot()

    code, _, err = factory.main("regen")

    assert code == 1
    assert "billing.invoice: failed: its checks cannot fail: " in err
    assert "passes with the module's outputs sabotaged" in err
    assert f"it names {factory.root}, your checkout, not the tree under test" in err
    assert factory.snapshot() == before  # nothing written, nothing committed
    data = record(factory)
    assert [c["role"] for c in data["calls"]] == ["planner"]  # no executor was paid for
    (check,) = data["modules"][0]["checks"]
    assert check["insensitive"] and not check["insensitive_accepted"] and check["exit_code"] == 0
    review = (runs_dir(factory.root) / data["run_id"] / "review.md").read_text()
    assert "insensitive: it passes with the module's outputs sabotaged" in review
    shown = factory.main("runs", data["run_id"])[1]
    assert "insensitive: it passes with the module's outputs sabotaged" in shown


def test_warn_lets_an_insensitive_check_count_and_every_report_says_so(factory: Factory) -> None:
    factory.configure(checks=[imports_the_checkout(factory)], insensitive_checks="warn")
    factory.commit("accept it")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS],
    )

    code, out, err = factory.main("regen")

    assert code == 0, err
    assert "committed" in out
    assert 'is insensitive (accepted: insensitive_checks = "warn")' in err  # the terminal
    (check,) = record(factory)["modules"][0]["checks"]
    assert check["insensitive"] and check["insensitive_accepted"]
    note = json.loads(factory.git("notes", "--ref=specmill", "show", "HEAD"))
    assert note["modules"][0]["checks"][0]["insensitive_accepted"]  # the bot reads this one


def test_the_probe_runs_once_per_module_and_not_again_while_its_key_holds(
    factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "venv"))
    runs = tmp_path / "check-runs"
    check = f"echo run >> {runs}; {PY} -m compileall -q src"
    factory.configure(checks=[check], candidates=2, early_stop=False)
    factory.commit("two candidates")
    answers: dict[str, Any] = {
        "planner": [plan(INVOICE_PY)],
        "executor": [executor(INVOICE_PY, INVOICE_CODE)] * 2,
        "verifier": [PASS] * 4,
    }
    factory.answers(**answers)
    assert factory.main("regen")[0] == 0
    assert len(runs.read_text().splitlines()) == 3  # the probe, then two candidates

    factory.write("specs/billing/invoice.md", factory.read("specs/billing/invoice.md") + "\n")
    factory.commit("the spec changes; the checks, outputs and environment do not")
    factory.answers(**answers)
    assert factory.main("regen")[0] == 0
    assert len(runs.read_text().splitlines()) == 3 + 2  # no probe: the cached one holds

    factory.configure(checks=[check + " -j 1"], candidates=2, early_stop=False)
    factory.write("specs/billing/invoice.md", factory.read("specs/billing/invoice.md") + "\n")
    factory.commit("another check command (and the spec changes again)")
    factory.answers(**answers)
    assert factory.main("regen")[0] == 0
    assert len(runs.read_text().splitlines()) == 5 + 3  # probed again

    (site / "_editable_impl_pkg.pth").write_text("/elsewhere\n")  # `pip install -e` there
    os.utime(site, ns=(0, 1))  # the folder's time changes (set apart from the run's own)
    factory.write("specs/billing/invoice.md", factory.read("specs/billing/invoice.md") + "\n")
    factory.commit("the spec changes again, and something was installed")
    factory.answers(**answers)
    assert factory.main("regen")[0] == 0
    assert len(runs.read_text().splitlines()) == 8 + 3  # probed again


def test_verify_prints_a_failing_checks_tail_and_the_record_keeps_it(factory: Factory) -> None:
    noisy = (
        f"{PY} -m compileall -q src || exit 1; echo FIRST-LINE; seq 1 50; echo TAIL-MARK; exit 3"
    )
    factory.configure(checks=[noisy])
    factory.commit("a failing check")
    factory.answers(verifier=[PASS, PASS])

    code, out, _ = factory.main("verify", "billing.invoice")

    assert code == 1
    assert f"check {noisy}: failed (exit 3)" in out
    assert "  | TAIL-MARK" in out and "  | 50" in out
    assert "  | FIRST-LINE" not in out  # the tail, not the whole output
    (check,) = record(factory)["modules"][0]["checks"]
    assert "FIRST-LINE" in check["output"] and "TAIL-MARK" in check["output"]


def test_what_a_check_does_through_git_stays_in_its_throwaway_repository(
    factory: Factory, tmp_path: Path
) -> None:
    marker = tmp_path / "hook-ran"
    plant = (
        "git config protocol.ext.allow always"
        " && git config url.'ext::sh -c touch% /tmp/never'.insteadOf origin"
        ' && hooks="$(git rev-parse --git-path hooks)" && mkdir -p "$hooks"'
        f" && printf '#!/bin/sh\\ntouch {marker}\\n' > \"$hooks/post-commit\""
        ' && chmod +x "$hooks/post-commit" && git update-ref refs/heads/planted HEAD'
        f" && {PY} -m compileall -q src"
    )
    factory.configure(checks=[plant])
    factory.commit("a check that plants git configuration, a hook and a ref")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS],
    )

    code, out, err = factory.main("regen")

    assert code == 0, err
    assert "committed" in out  # specmill's own commit ran here, with no hook of the check's
    assert not marker.exists()
    assert "protocol.ext.allow" not in factory.git("config", "--list")
    assert "planted" not in factory.git("for-each-ref")
    assert not (factory.root / ".git/hooks/post-commit").exists()


def test_a_check_that_writes_the_checkouts_git_config_by_path_stops_the_commit(
    factory: Factory, tmp_path: Path
) -> None:
    """A check is code running as the same user: it can find the checkout (its throwaway
    repository borrows the checkout's objects) and write its .git by path. Then specmill
    runs no git command there: nothing of what it planted runs, nothing is committed."""
    marker = tmp_path / "planted-command-ran"
    checkout_git = '$(dirname "$(cat .git/objects/info/alternates)")'
    plant = (
        f'git --git-dir="{checkout_git}" config core.fsmonitor "touch {marker}"'
        f' && printf "#!/bin/sh\\ntouch {marker}\\n" > "{checkout_git}/hooks/post-commit"'
        f' && chmod +x "{checkout_git}/hooks/post-commit"'
        f" && {PY} -m compileall -q src"
    )
    factory.configure(checks=[plant])
    factory.commit("a check that writes the checkout's git directory")
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE)],
        verifier=[PASS, PASS],
    )
    head = factory.git("rev-parse", "HEAD")

    code, _, err = factory.main("regen")

    assert code == 1
    assert "changed while the checks ran" in err and "core.fsmonitor" in err
    assert "hooks post-commit" in err
    assert not marker.exists()
    assert factory.git("rev-parse", "HEAD") == head
    assert "def total(items):\n    return sum(items)\n" in factory.read(INVOICE_PY)


def test_import_roots_come_first_on_pythonpath_and_node_path(tmp_path: Path) -> None:
    env = tree_environment({"PYTHONPATH": "/opt/lib", "PATH": "/bin"}, tmp_path, ["src", "."])
    assert env["PYTHONPATH"] == os.pathsep.join([str(tmp_path / "src"), str(tmp_path), "/opt/lib"])
    assert env["NODE_PATH"] == os.pathsep.join([str(tmp_path / "src"), str(tmp_path)])
    assert tree_environment({"PATH": "/bin"}, tmp_path, []) == {"PATH": "/bin"}


def test_ignored_paths_are_linked_or_copied_and_never_replace_the_trees_own(
    factory: Factory,
) -> None:
    factory.write(".gitignore", "__pycache__/\nnode_modules/\n_version.py\n")
    factory.write("node_modules/dep/index.js", "module.exports = 1;\n")
    factory.write("_version.py", 'version = "1.0"\n')
    factory.commit("ignore the installed and generated files")
    repo = Repo(factory.root)
    provide = ["node_modules", "_version.py", "src/billing/money.py", "absent"]
    trees = Worktrees(repo, repo.snapshot(), provide=provide)
    try:
        with trees.checkout({"src/billing/money.py": "MONEY = 2\n"}) as tree:
            assert (tree / "node_modules").is_symlink()
            assert (tree / "node_modules/dep/index.js").read_text() == "module.exports = 1;\n"
            assert not (tree / "_version.py").is_symlink()
            assert (tree / "_version.py").read_text() == 'version = "1.0"\n'
            assert (tree / "src/billing/money.py").read_text() == "MONEY = 2\n"
            assert not (tree / "absent").exists()
    finally:
        trees.close()
    with pytest.raises(ConfigError, match="in the git directory, which checks never get"):
        parse_config('[specmill]\ncheck_ignored_paths = [".git/hooks"]\n', "specmill.toml")
