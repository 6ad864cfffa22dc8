"""The top-level error handling: exit codes 0/1/2/130, no tracebacks for the user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specmill.cli import main as cli_main
from tests.conftest import Project


def test_internal_error_prints_one_line_and_writes_the_log(
    billing: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("specmill.cli.check.collect_problems", boom)
    code, out, err = billing.main("check")
    assert (code, out) == (1, "")
    assert "specmill: internal error: RuntimeError: disk on fire" in err
    assert "Traceback" not in err
    log = cli_main.log_path()
    assert log.exists() and "Traceback" in log.read_text()
    assert str(log) in err


def test_ctrl_c_exits_130(billing: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("specmill.cli.check.collect_problems", interrupted)
    code, _, err = billing.main("check")
    assert code == 130
    assert "interrupted" in err


def test_console_script_exit_code_and_stderr(billing: Project) -> None:
    """The installed entry point, as scripts and CI call it."""
    (billing.root / "src/billing/money.py").write_text("edited\n")
    done = subprocess.run(
        [sys.executable, "-m", "specmill", "check"],
        cwd=billing.root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("src/billing/money.py:1: header-missing:")
    assert done.stderr.startswith("  fix: run `specmill regen billing.money` to generate it")


def test_run_from_a_subdirectory(billing: Project) -> None:
    sub = billing.root / "src" / "billing"
    done = subprocess.run(
        [sys.executable, "-m", "specmill", "check", "invoice.py"],
        cwd=sub,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (0, "")
    (sub / "invoice.py").write_text((sub / "invoice.py").read_text() + "x = 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "specmill", "check", "invoice.py"],
        cwd=sub,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("src/billing/invoice.py:")


def test_path_outside_repository_is_an_error(billing: Project, tmp_path: Path) -> None:
    code, _, err = billing.main("check", str(tmp_path))
    assert code == 1 and "is outside the repository" in err
