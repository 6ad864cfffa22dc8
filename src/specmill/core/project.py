"""A specmill project on disk: its root, configuration and specs.

Reads files (nothing else: no git, no network, no subprocess), so the hooks can use it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from types import MappingProxyType

from specmill import FORMAT_VERSION, __version__
from specmill.core import hashing, layout
from specmill.core.config import CONFIG_FILE, PYPROJECT_FILE, Config, parse_config
from specmill.core.graph import Graph, build_graph
from specmill.core.probe import Probe, probe_text
from specmill.core.probe_cache import ProbeCache
from specmill.core.repo_files import (
    read_input,
    read_text,
    regular_file_stat,
    template_texts,
)
from specmill.core.spec import UNDECODABLE, Spec, parse_spec, spec_input_text
from specmill.core.spec_cache import SpecCache
from specmill.core.statcache import SPEC_CACHE, STAT_CACHE, cache_dir, stat_key
from specmill.errors import ConfigError, SpecError, SpecmillError


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with specmill.toml or [tool.specmill]."""
    try:
        here = (start or Path.cwd()).resolve()
    except FileNotFoundError:
        raise SpecmillError(
            "the current folder no longer exists", hint="cd into your repository again"
        ) from None
    root = layout.find_root(str(here))
    if root is None:
        raise ConfigError(
            f"no {CONFIG_FILE} (or [tool.specmill] in {PYPROJECT_FILE}) found in {here} "
            "or its parents",
            hint="run `specmill init` at the root of your repository",
        )
    return Path(root)


def load_config(root: Path) -> tuple[Config, str]:
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        text = read_text(root, name)
        if text is None:
            continue
        if name == PYPROJECT_FILE and "[tool.specmill" not in text:
            continue
        bad = UNDECODABLE.search(text)
        if bad is not None:
            line = text.count("\n", 0, bad.start()) + 1
            raise ConfigError("not valid UTF-8; save it as UTF-8", path=name, line=line)
        return parse_config(text.removeprefix("\ufeff"), name), name
    raise ConfigError(f"no {CONFIG_FILE} in {root}", hint="run `specmill init`")


@dataclass
class Project:
    root: Path
    config: Config
    config_path: str
    specs: list[Spec]
    errors: list[SpecmillError] = field(default_factory=list)
    graph_error: SpecmillError | None = None
    graph: Graph | None = None
    cache: ProbeCache = field(default_factory=lambda: ProbeCache(None))
    spec_cache: SpecCache = field(default_factory=lambda: SpecCache(None, ""))
    # spec id -> (the Spec, its context files' stat keys, its inputs hash)
    _inputs_hashes: dict[str, tuple[Spec, list[list[int] | None], str]] = field(
        default_factory=dict, repr=False
    )
    # ``root`` and "root/": a file's path is the prefix and its relative path, which
    # ``os.path.join`` would give, at a fraction of the cost per file
    _prefix: tuple[Path | None, str] = field(default=(None, ""), init=False, repr=False)

    def where(self, relative: str) -> str:
        """``os.path.join(self.root, relative)``."""
        root, prefix = self._prefix
        if root is not self.root:
            prefix = self._new_prefix()
        return relative if relative.startswith("/") else prefix + relative

    def _new_prefix(self) -> str:
        prefix = os.path.join(self.root, "")
        self._prefix = (self.root, prefix)
        return prefix

    def read(self, relative: str) -> str | None:
        return read_text(self.root, relative)

    def read_input(self, relative: str) -> str | None:
        return read_input(self.root, relative, self.config.protected_patterns)

    def probe(self, relative: str) -> Probe | None:
        """The file's header and body check, from the stat cache when unchanged."""
        root, prefix = self._prefix  # self.where(relative), inline: once per output
        if root is not self.root:
            prefix = self._new_prefix()
        full = relative if relative.startswith("/") else prefix + relative
        st = regular_file_stat(full, relative)
        if st is None:
            return None
        cached = self.cache.get(relative, st)
        if cached is not None:
            return cached
        text = self.read(relative)
        if text is None:
            return None
        probe = probe_text(text, relative)
        self.cache.put(relative, st, probe)
        return probe

    def save_cache(self) -> None:
        self.cache.save()
        self.spec_cache.save()

    @cached_property
    def template_texts(self) -> dict[str, tuple[str, str]]:
        return template_texts(self.root)

    @cached_property
    def templates_digest(self) -> str:
        return hashing.digest_of({name: text for name, (_, text) in self.template_texts.items()})

    @cached_property
    def models_digest(self) -> str:
        return self.config.models_digest()

    @cached_property
    def governance(self) -> dict[str, str]:
        return {path: self.read_input(path) or "" for path in self.config.governance}

    @cached_property
    def inputs_hasher(self) -> hashing.InputsHasher:
        governance = {path: hashing.sha256_text(text) for path, text in self.governance.items()}
        return hashing.InputsHasher(
            governance, self.templates_digest, self.models_digest, FORMAT_VERSION
        )

    @cached_property
    def by_id(self) -> dict[str, Spec]:
        return {spec.id: spec for spec in self.specs}

    @cached_property
    def by_path(self) -> dict[str, Spec]:
        return {spec.path: spec for spec in self.specs}

    @cached_property
    def owners(self) -> dict[str, list[Spec]]:
        """Output path -> the specs declaring it (more than one is a conflict)."""
        owners: dict[str, list[Spec]] = {}
        for spec in self.specs:
            for output in spec.outputs:
                owners.setdefault(output, []).append(spec)
        return owners

    def spec(self, module: str) -> Spec:
        if self.graph is None or module not in self.graph:
            known = ", ".join(sorted(s.id for s in self.specs)) or "none"
            raise SpecmillError(f"unknown module {module!r} (known: {known})")
        return self.graph[module]

    def inputs(self, spec: Spec) -> hashing.Inputs:
        """What ``spec``'s module is generated from (docs/specs.md, "What counts as an input").

        Of each spec, only ``spec_input_text`` counts: its body and the front-matter
        fields that change what the code should be, not ``outputs:``, ``id:``, comments
        or layout; so eject, ``specmill mv`` and reformatting keep modules fresh.
        """
        by_id = self.by_id
        return hashing.Inputs(
            spec_path=spec.path,
            spec_text=spec_input_text(spec),
            dependency_specs={
                dep: spec_input_text(by_id[dep]) for dep in spec.depends_on if dep in by_id
            },
            context={path: self.read_input(path) or "" for path in spec.context},
            governance=self.governance,
            templates_digest=self.templates_digest,
            models_digest=self.models_digest,
            format_version=FORMAT_VERSION,
        )

    def inputs_hash(self, spec: Spec) -> str:
        """The module's inputs hash, computed once per process: again only if its
        context files changed since (their stat), as other inputs do not change under a
        loaded project (the specs are read when loaded, governance files and templates
        once)."""
        context_keys = (
            [_stat_key(self.where(path)) for path in spec.context] if spec.context else []
        )
        known = self._inputs_hashes.get(spec.id)
        if known is not None and known[0] is spec and known[1] == context_keys:
            return known[2]
        by_id = self.by_id
        found = self.inputs_hasher.hash(
            spec.path,
            spec.input_digest,
            {dep: by_id[dep].input_digest for dep in spec.depends_on if dep in by_id}
            if spec.depends_on
            else _NONE,
            {path: hashing.sha256_text(self.read_input(path) or "") for path in spec.context}
            if spec.context
            else _NONE,
        )
        self._inputs_hashes[spec.id] = (spec, context_keys, found)
        return found

    def legacy_inputs_hash(self, spec: Spec) -> str:
        """The inputs hash as format-1 headers carry it (whole spec texts, 64 digits)."""
        by_id = self.by_id
        inputs = self.inputs(spec)._replace(
            spec_text=spec.text,
            dependency_specs={dep: by_id[dep].text for dep in spec.depends_on if dep in by_id},
            format_version=hashing.LEGACY_FORMAT,
        )
        return hashing.inputs_hash(inputs)

    def inputs_match(self, spec: Spec, recorded: str) -> bool:
        """Whether a header's ``inputs`` (either format) are the module's current ones."""
        if hashing.is_legacy(recorded):
            return recorded == self.legacy_inputs_hash(spec)
        return recorded == self.inputs_hash(spec)

    def input_digests(self, spec: Spec) -> dict[str, str]:
        """One short digest per input, for the run record (names what changed later)."""
        sources = {
            name: (source, hashing.sha256_text(text)[len(hashing.PREFIX) :])
            for name, (source, text) in self.template_texts.items()
        }
        return hashing.input_digests(self.inputs(spec)._replace(template_sources=sources))


_NONE: Mapping[str, str] = MappingProxyType({})  # no dependencies, no context


def _stat_key(path: str) -> list[int] | None:
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


def _load_spec(prefix: str, path: str, config: Config, cache: SpecCache) -> Spec:
    """``prefix``: the root and a slash (``os.path.join(root, "")``); ``path`` a spec's,
    relative to it."""
    try:
        st = os.stat(prefix + path)
    except OSError as exc:  # a dangling symlink, a symlink loop
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}", path=path, line=1) from None
    if not stat.S_ISREG(st.st_mode):  # reading a FIFO would block forever
        raise SpecError(f"{path} is not a regular file", path=path, line=1)
    cached = cache.get(path, st, partial(_read_spec, prefix + path, path, st))
    if cached is not None:
        return cached
    try:
        text = read_text(Path(prefix), path) or ""
    except SpecmillError as exc:
        raise SpecError(exc.message, path=path, line=1) from None
    spec = parse_spec(text, path, specs_root=config.specs, protected=config.protected_patterns)
    cache.put(path, st, spec)
    return spec


def _read_spec(where: str, path: str, st: os.stat_result) -> str:
    """The text of a spec found in the spec cache, read when first asked: the file the
    cache described (its stat unchanged), or an error, never another text."""
    try:
        with open(where, encoding="utf-8", errors="surrogateescape", newline="") as f:
            if stat_key(os.fstat(f.fileno())) == stat_key(st):
                return f.read()
    except OSError:
        pass
    raise SpecError(
        f"{path} changed while specmill was running; run the command again", path=path, line=1
    )


def spec_paths(root: Path, config: Config) -> list[str]:
    return layout.spec_paths(str(root), config.specs)


def load_project(root: Path | None = None, *, cache: bool = True) -> Project:
    """Load config and every spec; spec errors are collected, not raised."""
    root = find_root(root) if root is None else root
    config, config_path = load_config(root)
    salt = hashing.digest_of(
        {
            "version": __version__,
            "specs": config.specs,
            "protected": repr(config.protected_patterns),
        }
    )
    folder = cache_dir(root) if cache else None
    stat_cache = ProbeCache(None if folder is None else folder / STAT_CACHE, salt)
    spec_cache = SpecCache(None if folder is None else folder / SPEC_CACHE, salt)
    specs: list[Spec] = []
    errors: list[SpecmillError] = []
    prefix = os.path.join(root, "")
    with _no_cyclic_gc():
        for path in spec_paths(root, config):
            try:
                specs.append(_load_spec(prefix, path, config, spec_cache))
            except SpecmillError as exc:
                errors.append(exc)
        project = Project(
            root, config, config_path, specs, errors, cache=stat_cache, spec_cache=spec_cache
        )
        try:
            project.graph = build_graph(specs)
        except SpecmillError as exc:
            project.graph_error = exc
    return project


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Loading thousands of specs allocates thousands of objects, none in a cycle: the
    cyclic collector, which runs every few hundred allocations, would only walk them
    again and again (about a tenth of a warm ``check`` on 5,000 modules)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
