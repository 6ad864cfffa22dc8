"""The patch in a bundle, checked before the trusted report phase recommends applying it.

A bundle's ``specmill.patch`` comes from the untrusted phase (a fork's code ran there),
and the summary tells people to ``git apply`` it. ``check_patch`` parses it with
unidiff and accepts it only when every file it names (both sides of a diff, and any
``rename``/``copy`` line) is an output that the modules in the bundle declare, with
regular-file modes only: no symbolic link, submodule, mode change or binary patch,
nothing under a protected path. ``declared_outputs`` reads those declarations from the
base repository's specs through the API: at the pull request's base commit for a fork
(never the fork's own specs, which could declare anything), at its head otherwise.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection, Sequence
from typing import Any

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from specmill.core.config import PYPROJECT_FILE, Config, parse_config
from specmill.core.layout import CONFIG_FILE
from specmill.core.paths import first_match, normalize_relative
from specmill.core.records import ModuleResult
from specmill.core.spec import parse_spec
from specmill.errors import SpecmillError
from specmill.github.errors import BundleError, GitHubApiError
from specmill.github.publish import github_call

REGULAR_MODES = frozenset({"100644", "100755"})
DEV_NULL = "/dev/null"
_NAME_LINES = ("rename from ", "rename to ", "copy from ", "copy to ")


def refused(reason: str) -> BundleError:
    return BundleError(
        f"the bundle's patch is refused, and with it the whole bundle: {reason}",
        hint="a bundle's patch may only change the outputs that the base branch's specs "
        "declare for the bundle's modules, as regular files",
    )


def check_patch(patch: str, allowed: Collection[str], protected: Sequence[str]) -> tuple[str, ...]:
    """The files ``patch`` touches, sorted; a ``BundleError`` when it may not be applied."""
    try:
        files = PatchSet(patch)
    except UnidiffParseError as exc:
        raise refused(f"it is not a patch unidiff can parse ({str(exc)[:200]})") from None
    if not files:
        raise refused("it changes no file")
    touched: set[str] = set()
    for patched in files:
        paths = _paths(patched)
        shown = paths[0] if paths else "(no file name)"
        if patched.is_binary_file:
            raise refused(f"{shown!r} is a binary patch")
        modes = [m for m in (patched.source_mode, patched.target_mode) if m is not None]
        strange = [m for m in modes if m not in REGULAR_MODES]
        if strange:
            kind = {"120000": "a symbolic link", "160000": "a submodule"}.get(strange[0], "")
            raise refused(
                f"{shown!r} has mode {strange[0]} {kind}".rstrip() + ": regular files only"
            )
        if len(set(modes)) > 1:
            raise refused(f"{shown!r} changes its mode ({' to '.join(modes)})")
        for path in paths:
            pattern = first_match(path.lower(), [p.lower() for p in protected])
            if pattern is not None:
                raise refused(f"{path!r} is a protected path ({pattern})")
            if path not in allowed:
                raise refused(f"{path!r} is not an output of the bundle's modules")
        touched.update(paths)
    _check_raw_lines(patch, allowed, protected)  # a backstop, for what unidiff misreads
    return tuple(sorted(touched))


_MODE_LINE = re.compile(
    r"^(?:(?:old|new|new file|deleted file) mode|index [0-9a-fA-F]+\.\.[0-9a-fA-F]+) +(\S+)"
)
_BINARY_LINE = re.compile(r"^(?:GIT binary patch|Binary files .* differ)\s*$")


def _check_raw_lines(patch: str, allowed: Collection[str], protected: Sequence[str]) -> None:
    """What git reads outside hunks, checked line by line as well as through unidiff.

    git accepts a header line ending in ``\r`` (``new file mode 120000\r``) where
    unidiff's patterns do not match it; a hunk's own lines start with `` ``, ``+``,
    ``-`` or ``\\``, so none of them is taken for a header here.
    """
    for line in patch.splitlines():
        mode = _MODE_LINE.match(line)
        if mode is not None and mode.group(1) not in REGULAR_MODES:
            raise refused(f"{line.strip()[:200]!r}: regular files only")
        if _BINARY_LINE.match(line):
            raise refused(f"{line.strip()[:200]!r}: binary patches are not accepted")
        label = next((label for label in _NAME_LINES if line.startswith(label)), None)
        if label is not None:
            path = _unquote(line[len(label) :].strip())
            if path not in allowed or first_match(path.lower(), [p.lower() for p in protected]):
                raise refused(f"{line.strip()[:200]!r} names a path that is not an output")


def _paths(patched: PatchedFile) -> list[str]:
    """Every repository path a file's diff names: ``a/`` and ``b/`` sides, renames, copies."""
    names = []
    for name in (patched.source_file, patched.target_file):
        if name is None or name == DEV_NULL:
            continue
        unquoted = _unquote(name)
        if not unquoted.startswith(("a/", "b/")):
            raise refused(f"{name[:200]!r} is not a git diff path (a/… or b/…)")
        names.append(unquoted[2:])
    for line in patched.patch_info or []:
        label = next((label for label in _NAME_LINES if line.startswith(label)), None)
        if label is not None:  # git applies these names, whatever the header says
            names.append(_unquote(line[len(label) :].rstrip("\r\n")))
    paths: list[str] = []
    for path in names:
        try:
            clean = normalize_relative(path)
        except ValueError as exc:
            raise refused(str(exc)) from None
        if clean != path:
            raise refused(f"{path[:200]!r} is not a plain repository path")
        if path not in paths:
            paths.append(path)
    return paths


def _unquote(name: str) -> str:
    """Git's C-style quoting (``"a/caf\\303\\251.py"``), undone."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    try:
        raw = codecs.escape_decode(name[1:-1].encode("utf-8"))[0]
        return str(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise refused(f"{name[:200]!r} is not a valid quoted path") from None


def declared_outputs(
    gh: Any,
    repository: str,
    ref: str,
    modules: Sequence[ModuleResult],
    *,
    where: str = "the base commit",
) -> tuple[frozenset[str], tuple[str, ...]]:
    """The outputs the specs at ``ref`` declare for ``modules``, and the protected globs."""
    config = _base_config(gh, repository, ref)
    outputs: set[str] = set()
    for module in modules:
        text = _read(gh, repository, module.spec, ref)
        if text is None:
            raise refused(
                f"module {module.module!r} has no spec {module.spec!r} at {where} "
                f"{ref[:12]}, so nothing declares its outputs"
            )
        try:
            spec = parse_spec(
                text, module.spec, specs_root=config.specs, protected=config.protected_patterns
            )
        except SpecmillError as exc:
            raise refused(f"the base's spec {module.spec!r} is invalid: {exc.message}") from None
        if spec.id != module.module:
            raise refused(
                f"the base's spec {module.spec!r} is module {spec.id!r}, not {module.module!r}"
            )
        outputs.update(spec.outputs)
    return frozenset(outputs), config.protected_patterns


def _base_config(gh: Any, repository: str, base_sha: str) -> Config:
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        text = _read(gh, repository, name, base_sha)
        if text is None or (name == PYPROJECT_FILE and "[tool.specmill" not in text):
            continue
        try:
            return parse_config(text.removeprefix("\ufeff"), name)
        except SpecmillError as exc:
            raise refused(f"the base's {name} is invalid: {exc}") from None
    return Config()


def _read(gh: Any, repository: str, path: str, ref: str) -> str | None:
    """A file of the base repository at ``ref``, through the API; None when there is none."""
    try:
        with github_call(f"read {path} at {ref[:12]}"):
            content = gh.get_repo(repository).get_contents(path, ref=ref)
            if isinstance(content, list) or content.type != "file":
                return None
            data: bytes = content.decoded_content
    except GitHubApiError as exc:
        if exc.status == 404:
            return None
        raise
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise refused(f"the base's {path!r} is not UTF-8") from None
