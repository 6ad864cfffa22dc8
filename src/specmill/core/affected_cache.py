"""``specmill affected --base`` from git first: what a previous run learnt about the specs.

After a run that loaded every spec, ``.git/specmill/affected-cache.json`` keeps, for the
merge base it compared with, each module's id, spec path, spec digest, dependencies,
outputs and context, in dependency order, and what every module's inputs share (the
configuration's text, governance files and templates, by digest; the models' digest and
the protected paths the configuration gave). The next run with the same merge base
believes a module's record without reading its spec when git says the spec is the
merge base's (not in ``git diff --name-only``, tracked, not a symbolic link): the
record was made from that same text. Specs git reported changed, or that were dirty
when the record was made, are believed only while their stat (size, mtime, inode,
ctime) is the one recorded; the folders of the specs only while theirs is (a spec
added, removed or renamed changes its folder's). The configuration, governance files
and templates are read again and must hash as recorded, so the records answer without
parsing the configuration (``specmill.cli.quick``: without loading click either).
Anything else, a module whose id or dependencies changed, a legacy header, and the run
loads the whole project instead.

The file is checked as untrusted data: a record of the wrong shape or a path that leaves
the repository makes the whole file unusable.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from specmill import FORMAT_VERSION, __version__
from specmill.core import hashing
from specmill.core.hashing import is_legacy
from specmill.core.layout import CONFIG_FILE, PYPROJECT_FILE, is_spec_name
from specmill.core.paths import is_clean_path, normalize_relative
from specmill.core.probe import output_status
from specmill.core.repo_files import OVERRIDES, probe_file, read_input, read_text, templates_digest
from specmill.core.statcache import (
    cache_dir,
    read_json,
    stat_key,
    too_recent,
    write_json,
)
from specmill.errors import SpecmillError

if TYPE_CHECKING:
    from specmill.core.project import Project

NAME = "affected-cache.json"
VERSION = 2


def touches_everything(
    config_path: str, governance: Collection[str], changed: Collection[str]
) -> bool:
    """Config, governance and prompt overrides are inputs of every module."""
    shared = {config_path, *map(_clean, governance)}
    return any(p in shared or p.startswith(OVERRIDES + "/") for p in changed)


def _clean(path: str) -> str:
    """``./docs/STYLE.md`` as git names it, ``docs/STYLE.md``."""
    try:
        return normalize_relative(path)
    except ValueError:
        return path


class Shared(NamedTuple):
    """What every module's inputs share, as the records were made with it."""

    version: str  # specmill's, and its format's
    config_path: str
    config: str  # the configuration file's text, by digest
    specs: str  # the configuration's folder of specs
    governance: dict[str, str]  # the configuration's paths -> their texts' digests
    templates: str  # ``templates_digest``
    models: str  # the configuration's ``models_digest``
    protected: list[str]  # the configuration's protected patterns

    def hasher(self) -> hashing.InputsHasher:
        return hashing.InputsHasher(self.governance, self.templates, self.models, FORMAT_VERSION)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "config_path": self.config_path,
            "config": self.config,
            "specs": self.specs,
            "governance": self.governance,
            "templates": self.templates,
            "models": self.models,
            "protected": self.protected,
        }


def shared_of(project: Project) -> Shared:
    return Shared(
        _version(),
        project.config_path,
        hashing.sha256_text(project.read(project.config_path) or ""),
        project.config.specs,
        {path: hashing.sha256_text(text) for path, text in project.governance.items()},
        project.templates_digest,
        project.models_digest,
        list(project.config.protected_patterns),
    )


def current_shared(root: Path, data: Any) -> Shared:
    """The records' ``Shared``, if the files it was made from are unchanged (read again
    and hashed), or ``Fallback``."""
    if type(data) is not dict:
        raise Fallback
    version, config_path, config, specs, governance, templates, models, protected = (
        data.get(name)
        for name in (
            "version",
            "config_path",
            "config",
            "specs",
            "governance",
            "templates",
            "models",
            "protected",
        )
    )
    if not (
        version == _version()
        and config_path in (CONFIG_FILE, PYPROJECT_FILE)
        and type(config) is str
        and type(specs) is str
        and (is_clean_path(specs) or specs == ".")
        and type(templates) is str
        and type(models) is str
        and type(governance) is dict
        and all(type(key) is str and type(value) is str for key, value in governance.items())
        and type(protected) is list
        and all(type(pattern) is str for pattern in protected)
    ):
        raise Fallback
    if config_path == PYPROJECT_FILE and os.path.lexists(os.path.join(root, CONFIG_FILE)):
        raise Fallback  # specmill.toml comes first
    if hashing.sha256_text(read_text(root, config_path) or "") != config:
        raise Fallback  # (an absent file hashes as empty: no configuration records one)
    # the configuration is the recorded one: so are its governance paths and patterns
    for path, digest in governance.items():
        if hashing.sha256_text(read_input(root, path, protected) or "") != digest:
            raise Fallback
    if templates_digest(root) != templates:
        raise Fallback
    return Shared(version, config_path, config, specs, governance, templates, models, protected)


def _version() -> str:
    return f"{__version__} {FORMAT_VERSION}"


def walk(root: Path, specs: str) -> tuple[list[str], dict[str, os.stat_result]]:
    """The spec paths, as ``layout.spec_paths`` finds them, and every folder it looked in."""
    paths: list[str] = []
    folders: dict[str, os.stat_result] = {}
    for folder, dirs, files in os.walk(os.path.join(root, specs)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = os.path.relpath(folder, root).replace(os.sep, "/")
        folders[relative] = os.stat(folder)
        paths += [f"{relative}/{name}" for name in sorted(files) if is_spec_name(name)]
    return paths, folders


def save(
    project: Project, commit: str, changed: Collection[str], untracked_specs: Collection[str]
) -> None:
    """Record a fully loaded, valid project for the next ``affected --base``: ``changed``
    as git reported it against ``commit`` (the merge base), ``untracked_specs`` the spec
    files git does not track (ignored ones too)."""
    # a governance file or template that cannot be read: no records, and no harm
    with contextlib.suppress(SpecmillError, OSError):
        _save(project, commit, changed, untracked_specs)


def _save(
    project: Project, commit: str, changed: Collection[str], untracked_specs: Collection[str]
) -> None:
    folder = cache_dir(project.root)
    if folder is None or project.errors or project.graph is None:
        return
    now = time.time_ns()
    paths, folders = walk(project.root, project.config.specs)
    if paths != [spec.path for spec in project.specs]:
        return  # the folder changed while this run read it
    if any(too_recent(st.st_mtime_ns, now) for st in folders.values()):
        return  # racy: a file added in the same tick would not change the folder's stat
    dirty: dict[str, list[int]] = {}
    for spec in project.specs:
        full = os.path.join(project.root, spec.path)
        if spec.path in changed or spec.path in untracked_specs or os.path.islink(full):
            st = os.stat(full)
            if too_recent(st.st_mtime_ns, now):
                return
            dirty[spec.path] = stat_key(st)
    # columns, one line per module (tabs between the items of a list): one JSON
    # string each, read far faster than thousands of small lists
    index = {spec.id: number for number, spec in enumerate(project.specs)}
    payload = {
        "version": VERSION,
        "shared": shared_of(project).as_json(),
        "commit": commit,
        "folders": {name: stat_key(st) for name, st in folders.items()},
        "dirty": dirty,
        "count": len(project.specs),
        "modules": "\n".join(spec.id for spec in project.specs),
        "specs": "\n".join(spec.path for spec in project.specs),
        "digests": "".join(
            spec.input_digest.removeprefix(hashing.PREFIX) for spec in project.specs
        ),
        "depends_on": "\n".join("\t".join(spec.depends_on) for spec in project.specs),
        "outputs": "\n".join("\t".join(spec.outputs) for spec in project.specs),
        "context": "\n".join("\t".join(spec.context) for spec in project.specs),
        "order": [index[module] for module in project.graph.order()],
    }
    write_json(folder / NAME, payload)


class Fallback(Exception):
    """The records cannot answer: load the whole project."""


class Snapshot(NamedTuple):
    """The records, as columns in ``project.specs`` order."""

    shared: Shared
    commit: str
    folders: dict[str, list[int]]
    dirty: dict[str, list[int]]
    modules: list[str]
    specs: list[str]
    digests: str  # 64 hex digits each
    depends_on: list[str]  # a line per module, tabs between its items (``items``)
    outputs: list[str]
    context: list[str]
    text: dict[str, str]  # the columns as stored, to search them
    order: list[int]  # the rows in dependency order

    def digest(self, row: int) -> str:
        return hashing.PREFIX + self.digests[64 * row : 64 * row + 64]


def load(root: Path) -> Snapshot:
    """The records of the repository at ``root``, if they can answer (else ``Fallback``)."""
    folder = cache_dir(root)
    if folder is None:
        raise Fallback
    data = read_json(folder / NAME)
    if type(data) is not dict or data.get("version") != VERSION:
        raise Fallback
    shared = current_shared(root, data.get("shared"))
    commit, count, order = data.get("commit"), data.get("count"), data.get("order")
    folders, dirty = _keys(data.get("folders")), _keys(data.get("dirty"))
    text: dict[str, str] = {}
    for name in COLUMNS:
        column = data.get(name)
        if type(column) is not str:
            raise Fallback
        text[name] = column
    if not (
        type(commit) is str
        and type(count) is int
        and 0 <= count <= MAX_MODULES
        and all(is_clean_path(path) for path in dirty)
        and all(is_clean_path(name) or name == "." for name in folders)
        and type(order) is list
        and all(type(n) is int for n in order)
        and sorted(order) == list(range(count))
    ):
        raise Fallback
    columns = {name: _rows(column, count) for name, column in text.items() if name != "digests"}
    modules, digests = columns["modules"], text["digests"]
    if not (
        _MODULES.fullmatch(text["modules"])
        and len(set(modules)) == count
        and len(set(columns["specs"])) == count
        and len(digests) == 64 * count
        and _HEX.fullmatch(digests)
    ):
        raise Fallback
    return Snapshot(
        shared,
        commit,
        folders,
        dirty,
        modules,
        columns["specs"],
        digests,
        columns["depends_on"],
        columns["outputs"],
        columns["context"],
        text,
        order,
    )


COLUMNS = ("modules", "specs", "digests", "depends_on", "outputs", "context")
MAX_MODULES = 10_000_000
_MODULES = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:\n(?!\Z)|\Z))*")
_HEX = re.compile("[0-9a-f]*")


def _rows(column: str, count: int) -> list[str]:
    rows = column.split("\n") if count else []
    if len(rows) != count:
        raise Fallback
    return rows


def items(row: str) -> list[str]:
    return row.split("\t") if row else []


def _keys(value: Any) -> dict[str, list[int]]:
    """A map of paths to stat keys, or Fallback."""
    if type(value) is not dict or not all(
        type(key) is list and len(key) == 4 and all(type(n) is int for n in key)
        for key in value.values()
    ):
        raise Fallback
    return value


def affected(root: Path, snapshot: Snapshot, commit: str, changed: Collection[str]) -> list[str]:
    """``affected_modules(project, changed)`` from the records, reading no spec git did
    not report changed (raises ``Fallback`` when the records cannot answer)."""
    shared = snapshot.shared
    if snapshot.commit != commit or touches_everything(
        shared.config_path, shared.governance, changed
    ):
        raise Fallback
    for name, folder_key in snapshot.folders.items():
        try:
            if stat_key(os.stat(os.path.join(root, name))) != folder_key:
                raise Fallback  # a spec added, removed or renamed
        except OSError:
            raise Fallback from None
    row_of = {path: row for row, path in enumerate(snapshot.specs)}
    changed_set = set(changed)
    for path in changed_set & row_of.keys() | snapshot.dirty.keys():
        key: list[int] | None = snapshot.dirty.get(path)
        try:
            st = os.stat(os.path.join(root, path))
        except OSError:
            raise Fallback from None
        if key is None or not stat.S_ISREG(st.st_mode) or stat_key(st) != key:
            raise Fallback  # changed since it was recorded: read it again
    row_of_module = {module: row for row, module in enumerate(snapshot.modules)}
    hasher = shared.hasher()
    seeds = [
        snapshot.modules[row]
        for row in _touched(snapshot, changed_set, row_of, row_of_module)
        if not _fresh(root, snapshot, hasher, row, row_of_module)
    ]
    return _with_dependents(snapshot, seeds, row_of_module)


def _touched(
    snapshot: Snapshot, changed: set[str], row_of: dict[str, int], row_of_module: dict[str, int]
) -> list[int]:
    """The rows ``core.affected.touched_by`` selects, in ``project.specs`` order."""
    rows = {row_of[path] for path in changed if path in row_of}
    changed_modules = {snapshot.modules[row] for row in rows}
    for name, column, wanted in (
        ("depends_on", snapshot.depends_on, changed_modules),
        ("outputs", snapshot.outputs, changed),
        ("context", snapshot.context, changed),
    ):
        rows |= _rows_with(column, wanted, snapshot.text[name])
    return sorted(rows)


def _rows_with(column: list[str], wanted: set[str], text: str) -> set[int]:
    """The rows of ``column`` holding an item of ``wanted``: a search of the column's text
    first, as most changed paths are no spec's output, context or dependency."""
    found = [item for item in wanted if item in text]
    if not found:
        return set()
    return {
        row
        for row, line in enumerate(column)
        if any(item in line for item in found) and any(i in wanted for i in items(line))
    }


def _fresh(
    root: Path,
    snapshot: Snapshot,
    hasher: hashing.InputsHasher,
    row: int,
    row_of_module: Mapping[str, int],
) -> bool:
    """``module_status(...).fresh``, of a row."""
    depends_on = items(snapshot.depends_on[row])
    if not all(d in row_of_module for d in depends_on):
        raise Fallback  # not the graph of valid specs
    outputs, context = items(snapshot.outputs[row]), items(snapshot.context[row])
    if not (outputs and all(is_clean_path(p) for p in [*outputs, *context])):
        raise Fallback
    protected = snapshot.shared.protected
    inputs = hasher.hash(
        snapshot.specs[row],
        snapshot.digest(row),
        {d: snapshot.digest(row_of_module[d]) for d in depends_on},
        {path: hashing.sha256_text(read_input(root, path, protected) or "") for path in context},
    )

    def current(recorded: str) -> bool:
        if recorded != inputs and is_legacy(recorded):
            raise Fallback  # format 1 hashes the whole spec texts
        return recorded == inputs

    states = [output_status(path, probe_file(root, path), current).state for path in outputs]
    return all(state == "fresh" for state in states)


def _with_dependents(
    snapshot: Snapshot, seeds: list[str], row_of_module: dict[str, int]
) -> list[str]:
    """``Graph.with_dependents``, walking the rows in dependency order."""
    wanted = set(seeds)
    if not wanted:
        return []
    done: set[str] = set()
    ordered = []
    modules, depends_on = snapshot.modules, snapshot.depends_on
    for row in snapshot.order:
        module, line = modules[row], depends_on[row]
        hit = module in wanted
        if line:  # most modules depend on none
            names = line.split("\t")
            if not done.issuperset(names):
                raise Fallback  # not a dependency order of valid specs
            hit = hit or not wanted.isdisjoint(names)
        done.add(module)
        if hit:
            wanted.add(module)
            ordered.append(module)
    return ordered
