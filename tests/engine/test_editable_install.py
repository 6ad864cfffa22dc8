"""Issue 18, items 1 and 2: a src-layout package installed editable (the humanize case).

``pip install -e .`` puts the checkout's ``src/`` on the interpreter's path, so a check
run in specmill's tree imported the checkout: broken code passed. The package here is
built for real (hatchling, as humanize is, with a git-ignored generated ``_version.py``)
and installed editable into a venv made once for this module; the checks run that
venv's pytest. Without settings the probe finds the check insensitive and names the
editable install; with ``check_import_roots`` and ``check_ignored_paths`` the checks
tell good code from broken, and calibrate gets a test kill rate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, runs_dir
from tests.engine.conftest import PASS, Factory, executor, plan

SIZE_PY = "src/tinypkg/size.py"
GOOD = 'def natural(n):\n    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB"\n'
BROKEN = 'def natural(n):\n    return "broken"\n'
FILES = {
    "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
    'build-backend = "hatchling.build"\n\n[project]\nname = "tinypkg"\nversion = "0.1"\n',
    ".gitignore": "__pycache__/\nsrc/tinypkg/_version.py\n",  # as hatch-vcs writes it
    "src/tinypkg/__init__.py": "from tinypkg._version import version\n"
    "from tinypkg.size import natural\n",
    "src/tinypkg/_version.py": 'version = "0.1"\n',
    SIZE_PY: GOOD,
    "tests/test_size.py": "from tinypkg import natural\n\n\ndef test_natural():\n"
    '    assert natural(5) == "5 B"\n    assert natural(2048) == "2.0 kB"\n',
    "specs/size.md": "---\noutputs: [src/tinypkg/size.py]\n---\n# Size\n"
    '- **S1** `natural(n)` says "5 B" below 1000, "2.0 kB" for 2048.\n',
}
CONFIG = """\
[specmill]
checks = [{check}]
{extra}
[specmill.models]
backend = "scripted"
script = "{script}"
verifiers = [{{model = "rev-a"}}, {{model = "rev-b"}}]

[specmill.calibration]
mutants = 6
"""
SETTINGS = 'check_import_roots = ["src"]\ncheck_ignored_paths = ["src/tinypkg/_version.py"]\n'


@dataclass
class Installed:
    factory: Factory
    python: Path
    script: Path

    def configure(self, extra: str = "") -> None:
        pytest = f"{self.python} -m pytest -q -p no:cacheprovider tests/test_size.py"
        check = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {pytest}"
        text = CONFIG.format(check=json.dumps(check), extra=extra, script=self.script.as_posix())
        self.factory.write("specmill.toml", text)
        self.factory.commit("configure")


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def installed_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The package's repository, and a venv holding it as an editable install."""
    base = tmp_path_factory.mktemp("editable")
    root, venv = base / "repo", base / "venv"
    for relative, text in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    _git(root, "init", "--quiet")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # this interpreter's packages (pytest, hatchling) are the venv's too: nothing downloaded
    Path(site, "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-build-isolation", "--no-index", "-e", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    return root, python


@pytest.fixture
def installed(installed_once: tuple[Path, Path], tmp_path: Path) -> Iterator[Installed]:
    """The repository as the module's first test found it: the spec adopted, committed."""
    root, python = installed_once
    factory = Factory(root)
    factory.script = tmp_path / "script.json"
    if not (root / ".git" / "refs" / "tags" / "start").exists():
        Installed(factory, python, factory.script).configure()
        code, _, err = factory.main("adopt", SIZE_PY)
        assert code == 0, err
        factory.commit("tinypkg, adopted")
        factory.git("tag", "start")
    factory.git("reset", "--quiet", "--hard", "start")
    factory.git("clean", "--quiet", "-fd")  # keeps the ignored _version.py
    yield Installed(factory, python, factory.script)


def not_committed(installed: Installed) -> bool:
    f = installed.factory
    last = f.git("log", "-1", "--format=%s").strip()
    return last == "a requirement more" and f.read(SIZE_PY).endswith(GOOD)


def regen_with(installed: Installed, code: str) -> tuple[int, str, str]:
    f = installed.factory
    spec = f.read("specs/size.md")
    number = spec.count("\n- **") + 1  # a new requirement each time: the module is stale
    f.write("specs/size.md", spec + f"- **S{number}** Requirement {number}.\n")
    f.commit("a requirement more")
    f.answers(planner=[plan(SIZE_PY)], executor=[executor(SIZE_PY, code)] * 3, verifier=[PASS] * 6)
    return f.main("regen")


def test_without_settings_the_editable_install_makes_the_check_insensitive(
    installed: Installed,
) -> None:
    installed.configure()

    code, _, err = regen_with(installed, BROKEN)

    assert code == 1
    assert "its checks cannot fail" in err
    assert f"tinypkg is installed editable from {installed.factory.root}" in err
    assert 'set check_import_roots = ["src"]' in err
    assert not_committed(installed)


def test_with_import_roots_and_ignored_files_checks_tell_good_from_broken(
    installed: Installed,
) -> None:
    f = installed.factory
    # the import root alone: the tree lacks the git-ignored _version.py the package needs
    installed.configure('check_import_roots = ["src"]\n')
    code, _, err = regen_with(installed, GOOD)
    assert code == 1 and "checks failed" in err
    newest = sorted(runs_dir(f.root).glob("*/record.json"))[-1]
    outputs = [c["output"] for c in json.loads(newest.read_text())["modules"][0]["checks"]]
    assert any("No module named 'tinypkg._version'" in o for o in outputs)

    installed.configure(SETTINGS)
    code, _, err = regen_with(installed, BROKEN)
    assert code == 1 and "checks failed" in err  # a real failure, in the tree under test
    assert not_committed(installed)

    code, out, err = regen_with(installed, GOOD)
    assert code == 0, err
    assert "committed" in out


def test_calibrate_reports_insensitive_checks_then_a_kill_rate_with_the_settings(
    installed: Installed,
) -> None:
    f = installed.factory
    installed.configure()
    f.answers(verifier=[PASS] * 20)
    _, out, _ = f.main("calibrate", "--json")
    (module,) = json.loads(out)["per_module"]
    assert module["test_kill_rate"] is None and module["killed_by_checks"] == 0
    (cause,) = module["insensitive_checks"].values()
    assert "tinypkg is installed editable" in cause

    installed.configure(SETTINGS)
    f.answers(verifier=[PASS] * 20)
    _, out, err = f.main("calibrate", "--json")
    (module,) = json.loads(out)["per_module"]
    assert module["insensitive_checks"] == {}
    assert module["killed_by_checks"] > 0 and module["test_kill_rate"] > 0, err


def test_doctor_warns_about_the_editable_install_until_the_setting_is_made(
    installed: Installed,
) -> None:
    installed.configure()
    code, _, err = installed.factory.main("doctor")
    assert code == 0
    assert "warning: tinypkg is installed editable from" in err
    assert 'check_import_roots = ["src"]' in err

    installed.configure(SETTINGS)
    assert "installed editable" not in installed.factory.main("doctor")[2]
