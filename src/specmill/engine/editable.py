"""Editable installs of your checkout: why a check may test your tree, not specmill's.

``pip install -e .`` puts your checkout on ``sys.path`` of every interpreter of that
environment (a ``.pth`` file, or an import hook). A check run in specmill's throwaway
tree then imports the package from your checkout: it passes or fails on your code, not
on the code under test. ``editable_installs`` asks the Python a check would run (the
one its command names, else ``python3`` on its ``PATH``) which distributions are
installed editable and from where (PEP 610's ``direct_url.json``); ``into`` keeps those
of this repository. The sensitivity probe names them as the likely cause of an
insensitive check, and ``specmill doctor`` warns about them up front.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from specmill.core.project import Project

_PYTHON = re.compile(r"python(\d+(\.\d+)*)?$")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# Run with -I: neither PYTHONPATH nor the working folder can slip a module in.
SCRIPT = """\
import importlib.metadata as metadata, json
found = []
for dist in metadata.distributions():
    try:
        info = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        continue
    if isinstance(info, dict) and (info.get("dir_info") or {}).get("editable"):
        found.append([dist.metadata["Name"], info.get("url", "")])
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Editable:
    name: str
    path: Path  # the project folder it was installed from


def python_of(command: str, env: Mapping[str, str]) -> str | None:
    """The interpreter ``command`` runs: its first word when that is a Python (or a
    script whose ``#!`` names one, as ``pytest``), else ``python3`` on its PATH."""
    path = env.get("PATH")
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    while words and (_ASSIGNMENT.match(words[0]) or words[0] == "env"):
        words = words[1:]  # `NAME=value python …`, `env NAME=value python …`
    first = words[0] if words else ""
    found = shutil.which(first, path=path) if first else None
    if found and _PYTHON.match(Path(found).name):
        return found
    if found:
        try:
            with open(found, "rb") as handle:
                line = handle.readline(300).decode("utf-8", "replace")
        except OSError:
            line = ""
        interpreter = line[2:].split()[0] if line.startswith("#!") and line[2:].split() else ""
        if _PYTHON.match(Path(interpreter).name):
            return interpreter
    return shutil.which("python3", path=path) or shutil.which("python", path=path)


def editable_installs(python: str, env: Mapping[str, str]) -> list[Editable]:
    """The distributions ``python`` has installed editable; [] when it cannot tell."""
    try:
        done = subprocess.run(
            [python, "-I", "-c", SCRIPT],
            env=dict(env),
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        listed = json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    found = []
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, list) and len(item) == 2 and str(item[1]).startswith("file:"):
            found.append(Editable(str(item[0]), Path(unquote(urlsplit(str(item[1])).path))))
    return found


def into(editables: Sequence[Editable], root: Path) -> list[Editable]:
    """Those installed from ``root`` (or a folder inside it, or one that holds it)."""
    root = root.resolve()
    found = []
    for editable in editables:
        path = editable.path.resolve()
        if path == root or root in path.parents or path in root.parents:
            found.append(editable)
    return found


def import_root(outputs: Sequence[str]) -> str:
    """The ``check_import_roots`` entry to suggest: ``src`` for a src layout, else ``.``."""
    return "src" if any(o.startswith("src/") for o in outputs) else "."


def advice(editable: Editable, outputs: Sequence[str]) -> str:
    return (
        f"{editable.name} is installed editable from {editable.path}, so the check imports"
        f" your checkout, not the code under test: set check_import_roots ="
        f' ["{import_root(outputs)}"] (and check_ignored_paths for git-ignored files the'
        " package needs)"
    )


def doctor_warnings(project: Project, environ: Mapping[str, str]) -> list[str]:
    """``specmill doctor``'s warnings: editable installs of this repository that hold
    declared Python outputs, seen by the Python the checks run, while no
    ``check_import_roots`` puts the code under test first."""
    from specmill.engine.checks import check_environment
    from specmill.engine.sensitivity import check_commands

    config = project.config
    if config.check_import_roots:
        return []
    outputs = [o for spec in project.specs for o in spec.outputs if o.endswith((".py", ".pyi"))]
    if not outputs:
        return []
    env = check_environment(environ, config)
    commands = {c for spec in project.specs for c in check_commands(spec, config)}
    pythons = sorted({p for c in commands if (p := python_of(c, env)) is not None})
    warnings: dict[str, str] = {}
    for python in pythons:
        for editable in into(editable_installs(python, env), project.root):
            holds = [
                o
                for o in outputs
                if (project.root / o).resolve().is_relative_to(editable.path.resolve())
            ]
            if holds and editable.name not in warnings:
                warnings[editable.name] = f"{advice(editable, outputs)} (seen by {python})"
    return list(warnings.values())
