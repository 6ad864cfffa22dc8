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
    assert "specmill/cli/main.py" in names and "specmill/hooks/__init__.py" in names
    assert "specmill/templates/demo/repo/specs/billing/invoice.md" in names
    assert any(n.startswith("specmill/templates/prompts/") and n.endswith(".j2") for n in names)
    monitor = {"index.html.j2", "monitor.css", "monitor.js"}  # the page, inlined from these
    assert {f"specmill/templates/monitor/{name}" for name in monitor} <= names
    assert "specmill/core/monitor/view.py" in names
    top_level = {n.split("/")[0] for n in names if not n.startswith("specmill-")}
    assert top_level == {"specmill"}, top_level
    assert not any(n.startswith("tests/") for n in names)


def test_templates_load_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.resources as r, specmill\n"
        "assert specmill.__file__.startswith(sys.argv[1]), specmill.__file__\n"
        "root = r.files('specmill.templates')\n"
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


def test_installing_the_wheel_adds_one_import_package(wheel: Path, tmp_path: Path) -> None:
    """No generic top-level ``bot`` or ``hooks`` lands in site-packages (they would
    collide with other distributions); ``specmill`` and its hooks import from there."""
    venv = tmp_path / "venv"
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing else seen
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=clean,
    )
    script = (
        "import importlib.util as u, specmill, specmill.hooks.no_hand_edits\n"
        "print(specmill.__file__)\n"
        "print(u.find_spec('bot'), u.find_spec('hooks'))\n"
    )
    done = subprocess.run(
        [python, "-c", script],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    location, others = done.stdout.splitlines()
    assert location.startswith(str(venv)) and "site-packages" in location
    assert others == "None None"
