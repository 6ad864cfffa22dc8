"""The sensitivity probe: a module's checks, run once on its outputs sabotaged.

``core.sensitivity`` says what is sabotaged and when a cached probe still holds; this
is the adapter that runs the checks in a throwaway tree, names the likely cause of an
insensitive check (an editable install of the checkout, a path into it) and keeps the
answer per module in ``<git dir>/specmill/check-probes.json``. A probe costs one run
of the module's checks per run at most (not one per candidate), and none while its
key (commands, outputs' paths, the checks' environment and what is installed) holds.
"""

from __future__ import annotations

import glob
import json
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

from specmill import gitcli
from specmill.core.config import Config
from specmill.core.paths import is_test_file
from specmill.core.records import CheckResult
from specmill.core.sensitivity import Sensitivity, probe_key, sabotaged
from specmill.core.spec import Spec
from specmill.engine.checks import run_checks
from specmill.engine.context import RunContext
from specmill.engine.editable import advice, editable_installs, into, python_of
from specmill.engine.guard import escapes, refusal
from specmill.files import write_atomic

CACHE = "check-probes.json"
_caches: dict[Path | None, ProbeCache] = {}
_caches_lock = threading.Lock()


class ProbeCache:
    """module -> {"key", "insensitive": {command: cause}}; JSON, any damage means cold."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.entries: dict[str, Any] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and isinstance(data.get("modules"), dict):
            self.entries = data["modules"]

    def get(self, module: str, key: str) -> dict[str, str] | None:
        with self.lock:
            entry = self.entries.get(module)
        if isinstance(entry, dict) and entry.get("key") == key:
            found = entry.get("insensitive")
            if isinstance(found, dict) and all(isinstance(v, str) for v in found.values()):
                return dict(found)
        return None

    def put(self, module: str, key: str, insensitive: Mapping[str, str]) -> None:
        with self.lock:
            self.entries[module] = {"key": key, "insensitive": dict(insensitive)}
            if self.path is not None:
                text = json.dumps({"modules": self.entries}, indent=1, sort_keys=True)
                write_atomic(self.path, text + "\n")


def cache_for(root: Path) -> ProbeCache:
    state = gitcli.state_dir(root)
    path = state / CACHE if state is not None else None
    with _caches_lock:
        if path not in _caches or path is None:
            _caches[path] = ProbeCache(path)
        return _caches[path]


def _mtimes(places: Sequence[str]) -> dict[str, int]:
    found = {}
    for place in places:
        try:
            found[place] = os.stat(place).st_mtime_ns
        except OSError:
            found[place] = 0
    return found


def environment(ctx: RunContext) -> dict[str, object]:
    """What the checks see besides the tree: their variables, the settings that shape
    the tree, and when the installed packages last changed (a new editable install
    adds a file to site-packages, and so changes that folder's time)."""
    config, env = ctx.project.config, ctx.check_env
    prefixes = [env.get("VIRTUAL_ENV"), env.get("CONDA_PREFIX")]
    prefixes.append(f"{env['HOME']}/.local" if env.get("HOME") else None)
    sites = [s for p in prefixes if p for s in sorted(glob.glob(f"{p}/lib/python*/site-packages"))]
    provided = [str(ctx.project.root / p) for p in config.check_ignored_paths]
    return {
        "variables": dict(sorted(env.items())),
        "import_roots": config.check_import_roots,
        "installed": _mtimes([*sites, *provided]),
    }


def likely_cause(ctx: RunContext, spec: Spec, command: str) -> str:
    root = ctx.project.root.resolve()
    if str(root) in command:
        return f"it names {root}, your checkout, not the tree under test"
    python = python_of(command, ctx.check_env)
    for editable in into(editable_installs(python, ctx.check_env) if python else [], root):
        return advice(editable, spec.outputs)
    return (
        "it does not exercise this module's outputs: it may import an installed copy, or"
        " test other code; give the spec `checks:` of its own"
    )


def check_commands(spec: Spec, config: Config) -> list[str]:
    """The spec's ``checks``, else the config's."""
    return spec.front.checks if spec.front.checks is not None else config.checks


def checks_in(ctx: RunContext, commands: Sequence[str], tree: Path) -> list[CheckResult]:
    """``commands`` in ``tree`` as the run's settings say (environment, time limit,
    import roots); every process they start is ended before this returns."""
    config = ctx.project.config
    return run_checks(
        commands,
        tree,
        env=ctx.check_env,
        timeout=config.check_timeout,
        groups=ctx.groups,
        import_roots=config.check_import_roots,
    )


class ModuleProbe:
    """The probe of one module's checks in a run: once at most, and as early as it can.

    When every test file among the module's outputs is at hand (in the checkout, or
    among the dependencies' new files), it starts at once, in a thread of its own, while
    the planner thinks: an insensitive check then fails the module before any executor
    is paid. Otherwise (a new module whose tests are generated too) there is nothing to
    probe with yet, and the first candidate whose checks pass runs it, with its own test
    files; the others wait for that answer.
    """

    def __init__(self, ctx: RunContext, spec: Spec, files: Mapping[str, str]) -> None:
        self.ctx, self.spec, self.files = ctx, spec, dict(files)
        self.commands = check_commands(spec, ctx.project.config)
        self._lock = threading.Lock()
        self._future: Future[Sensitivity] | None = None
        tests = [p for p in spec.outputs if is_test_file(p)]
        # Started with the module: its answer can come before any executor call.
        self.early = all(p in self.files or ctx.project.read(p) is not None for p in tests)
        if self.early:
            self._future = Future()
            threading.Thread(target=self._run, args=(self._future, {}), daemon=True).start()

    def known(self) -> Sensitivity | None:
        """The answer, if there is one already (None: not yet, or it failed)."""
        future = self._future
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def result(self, written: Mapping[str, str] | None = None) -> Sensitivity:
        """The answer; run now with ``written``'s test files if it has not started."""
        with self._lock:
            if self._future is None:
                self._future = Future()
                tests = {p: t for p, t in (written or {}).items() if is_test_file(p)}
                self._run(self._future, tests)
            future = self._future
        return future.result()

    def wait(self) -> None:
        """Until no check of the probe runs (nothing may outlive the module's run)."""
        if self._future is not None:
            wait((self._future,))

    def _run(self, future: Future[Sensitivity], tests: Mapping[str, str]) -> None:
        try:
            future.set_result(probe(self.ctx, self.spec, self.commands, {**self.files, **tests}))
        except BaseException as exc:
            future.set_exception(exc)


def probe(
    ctx: RunContext, spec: Spec, commands: Sequence[str], files: Mapping[str, str]
) -> Sensitivity:
    """Run ``commands`` on ``files`` (dependencies' new outputs) with the module's
    outputs sabotaged, or answer from the cache."""
    if not commands:
        return Sensitivity()  # nothing to probe
    config, root = ctx.project.config, ctx.project.root
    sabotage = {  # written as the executor's files are: never through a link or outside
        path: text
        for path, text in sabotaged(spec.outputs).items()
        if refusal(path, spec.outputs, config.protected_patterns) is None
        and not escapes(root, path)
    }
    if not sabotage:
        return Sensitivity()  # no output to sabotage (test files are not)
    key = probe_key(commands, spec.outputs, environment(ctx))
    cache = cache_for(ctx.project.root)
    known = cache.get(spec.id, key)
    if known is not None:
        return Sensitivity(insensitive=known)
    ctx.checkpoint()
    with ctx.worktrees.checkout({**files, **sabotage}) as tree:
        results = checks_in(ctx, commands, tree)
    ctx.checkpoint()  # an interrupted probe proves nothing: not cached
    passing = [r.command for r in results if r.exit_code == 0 and not r.timed_out]
    insensitive = {command: likely_cause(ctx, spec, command) for command in passing}
    cache.put(spec.id, key, insensitive)
    return Sensitivity(insensitive, results)
