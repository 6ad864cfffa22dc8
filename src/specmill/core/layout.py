"""Where a project's files are: its root and its specs. Stdlib only, ``os.path`` only.

The pre-commit hooks use this without loading pydantic or PyYAML (``specmill.core.project``
builds on it for everything else), so the rules live in one place.
"""

from __future__ import annotations

import os

CONFIG_FILE = "specmill.toml"
PYPROJECT_FILE = "pyproject.toml"
PYPROJECT_TABLE = b"[tool.specmill"


def find_root(start: str) -> str | None:
    """The nearest folder at or above ``start`` with specmill.toml or [tool.specmill].

    The search stops at the repository's top (a folder holding ``.git``).
    """
    folder = os.path.realpath(start)
    while True:
        if os.path.isfile(os.path.join(folder, CONFIG_FILE)):
            return folder
        try:
            with open(os.path.join(folder, PYPROJECT_FILE), "rb") as handle:
                if PYPROJECT_TABLE in handle.read():
                    return folder
        except OSError:
            pass
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")) or parent == folder:
            return None
        folder = parent


def is_spec_name(name: str) -> bool:
    """A spec is a Markdown file; README.md files are documentation."""
    return name.endswith(".md") and name.lower() != "readme.md"


def spec_paths(root: str, specs: str) -> list[str]:
    """Spec files below the specs folder (hidden folders skipped)."""
    found: list[str] = []
    for folder, dirs, files in os.walk(os.path.join(root, specs)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = os.path.relpath(folder, root).replace(os.sep, "/")
        found += [f"{relative}/{name}" for name in sorted(files) if is_spec_name(name)]
    return found
