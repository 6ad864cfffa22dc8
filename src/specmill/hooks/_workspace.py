"""The project on disk, as cheaply as the hooks need it: root, specs folder, file bytes.

``specmill.core.project`` has the same rules, but importing it loads pydantic and PyYAML
(about 150 ms); a hook that only compares a file's hash with its own header must not
pay that. The shared rules (root, spec files) are in ``specmill.core.layout``.
Paths are plain strings (``os.path``): even pathlib costs a hook start 4 ms.
"""

from __future__ import annotations

import os
import re
import sys

from specmill.core import layout
from specmill.core.layout import CONFIG_FILE, PYPROJECT_FILE
from specmill.core.layout import spec_paths as spec_paths

HEADER_MARK = layout.HEADER_MARK_BYTES  # in every header, whatever its first line
SNIFF_BYTES = 65536  # a header sits after at most a shebang, a prolog or a front matter
_SETS_SPECS = re.compile(rb"""specs["']?\s*=""")  # any way TOML can set the key "specs"


class NoProject(Exception):
    """No specmill.toml (or [tool.specmill]) at or above the folder."""


def find_root(start: str) -> str:
    """The nearest folder at or above ``start`` with specmill.toml or [tool.specmill]."""
    root = layout.find_root(start)
    if root is None:
        raise NoProject(
            f"no {CONFIG_FILE} (or [tool.specmill] in {PYPROJECT_FILE}) found in "
            f"{os.path.realpath(start)} or its parents; run `specmill init` at the root of "
            "your repository"
        )
    return root


def relative_paths(root: str, arguments: list[str]) -> list[str]:
    """Command-line paths as POSIX paths below ``root``; paths outside it are dropped."""
    here = os.path.realpath(os.getcwd())
    out: list[str] = []
    for raw in arguments:
        absolute = os.path.normpath(os.path.join(here, raw))
        relative = os.path.relpath(absolute, root)
        if relative != os.curdir and not relative.startswith(os.pardir):
            out.append(relative.replace(os.sep, "/"))
    return list(dict.fromkeys(out))


def read_bytes(root: str, relative: str, limit: int | None = None) -> bytes | None:
    """The file's bytes (the first ``limit`` of them), or None when it is absent."""
    try:
        with open(os.path.join(root, relative), "rb") as handle:
            return handle.read() if limit is None else handle.read(limit)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8000]  # git's own test


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")  # as specmill.core.repo_files.read_text


def specs_folder(root: str) -> str:
    """The config's ``specs`` folder, read without validating the whole config."""
    for name, table_path in ((CONFIG_FILE, ("specmill",)), (PYPROJECT_FILE, ("tool", "specmill"))):
        data = read_bytes(root, name)
        if data is None:
            continue
        if name == CONFIG_FILE and not _SETS_SPECS.search(data):
            return "specs"  # the default; no need to load a TOML parser (~8 ms) to know it
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib

        try:
            table: object = tomllib.loads(decode(data))
        except tomllib.TOMLDecodeError:
            return _validated_specs_folder(root)
        for key in table_path:
            table = table.get(key) if isinstance(table, dict) else None
        if table is None and name == PYPROJECT_FILE:
            continue
        specs = table.get("specs", "specs") if isinstance(table, dict) else None
        if not isinstance(specs, str) or not specs.strip().rstrip("/"):
            return _validated_specs_folder(root)
        return os.path.normpath(specs.strip()).replace(os.sep, "/")
    return _validated_specs_folder(root)


def _validated_specs_folder(root: str) -> str:
    """The slow path, for a config that is broken: raises its ConfigError."""
    from pathlib import Path

    from specmill.core.project import load_config

    return load_config(Path(root))[0].specs


def is_spec_path(path: str, specs: str) -> bool:
    return path.startswith(specs + "/") and layout.is_spec_name(path.rsplit("/", 1)[-1])
