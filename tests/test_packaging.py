"""The wheel ships the templates (prompts, reports, the demo) and they load outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("specmill-*.whl")
    return found


def test_wheel_contains_packages_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bot/cli/main.py" in names and "hooks/__init__.py" in names
    assert "bot/templates/demo/repo/specs/billing/invoice.md" in names
    assert any(n.startswith("bot/templates/prompts/") and n.endswith(".j2") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_templates_load_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.resources as r, bot\n"
        "assert bot.__file__.startswith(sys.argv[1]), bot.__file__\n"
        "root = r.files('bot.templates')\n"
        "print(sorted(p.name for p in (root / 'prompts').iterdir())[0])\n"
        "print((root / 'demo' / 'repo' / 'specmill.toml').read_text().splitlines()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(site)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.endswith(".j2")
    assert second.startswith("# The specmill demo repository")
