"""Each bundle's patch, checked against the outputs of that bundle's own modules.

The report phase runs ``check_patch`` once per bundle (a matrix has one per job), with
the outputs that the specs declare for the modules that bundle regenerated: a job's
patch may not change another job's module. The declarations are read through the API
from the base repository: at the pull request's base commit for a fork (never the
fork's own specs, which could declare anything), at its head otherwise (a same-
repository head is the repository's own: its author can push anyway, and a new module
there keeps its patch). The head's files come from the report job's checkout when it
has one (the matrix), else through the API (the two-phase report checks out nothing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specmill.core.config import PYPROJECT_FILE, Config, parse_config
from specmill.core.layout import CONFIG_FILE
from specmill.core.records import ModuleResult
from specmill.core.spec import parse_spec
from specmill.errors import SpecmillError
from specmill.github.bundle import Bundle
from specmill.github.errors import GitHubApiError
from specmill.github.events import PullTarget
from specmill.github.patch_effect import ScratchRepository
from specmill.github.patch_tree import api_reader, local_reader, restricted_tree
from specmill.github.patchguard import PatchRefused, TreeSource, check_patch, refused
from specmill.github.publish import github_call


@dataclass(frozen=True)
class PatchCheck:
    files: tuple[str, ...] = ()  # what the accepted patches change, sorted
    refused: tuple[str, ...] = ()  # why, for each refused patch (with its bundle's name)


def check_bundle_patches(
    gh: Any, target: PullTarget, named: Sequence[tuple[str, Bundle]], checkout: Path | None
) -> PatchCheck:
    """Every bundle's patch checked against its own modules' declared outputs."""
    with_patch = [(name, bundle) for name, bundle in named if bundle.patch]
    if not with_patch:
        return PatchCheck()
    ref, where = (
        (target.base_sha, "the base commit")
        if target.is_fork
        else (target.head_sha, "the pull request's head")
    )
    try:
        config = base_config(gh, target.repository, ref)
    except PatchRefused as exc:
        return PatchCheck(refused=(exc.message,))
    tree = head_tree(gh, target, checkout)
    files: set[str] = set()
    reasons: list[str] = []
    with ScratchRepository() as scratch:
        for name, bundle in with_patch:
            assert bundle.patch is not None
            try:
                modules = list(bundle.record.modules) if bundle.record else []
                if not modules:
                    raise refused("the bundle has a patch but no module that could have made it")
                stray = [
                    m.module for m in modules if bundle.modules and m.module not in bundle.modules
                ]
                if stray:  # a matrix job speaks for its share only
                    raise refused(
                        f"its record has module {stray[0]!r}, which is not among the job's "
                        f"modules ({', '.join(bundle.modules)[:200]})"
                    )
                allowed = declared_outputs(gh, target.repository, ref, modules, config, where)
                files.update(check_patch(bundle.patch, allowed, config.protected_patterns, tree,
                                         scratch))  # fmt: skip
            except PatchRefused as exc:
                reasons.append(f"{name}: {exc.message}" if len(named) > 1 else exc.message)
    return PatchCheck(tuple(sorted(files)), tuple(reasons))


def head_tree(gh: Any, target: PullTarget, checkout: Path | None) -> TreeSource:
    """The head's files: from the checkout when it has the head commit, else the API."""
    reader = None
    if checkout is not None:
        with contextlib.suppress(LookupError):  # a checkout of something else
            reader = local_reader(checkout, target.head_sha)
    listing, read_blob = reader or api_reader(gh, target.repository, target.head_sha)
    return lambda paths: restricted_tree(paths, listing, read_blob)


def declared_outputs(
    gh: Any,
    repository: str,
    ref: str,
    modules: Sequence[ModuleResult],
    config: Config,
    where: str = "the base commit",
) -> frozenset[str]:
    """The outputs the specs at ``ref`` declare for ``modules``."""
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
    return frozenset(outputs)


def base_config(gh: Any, repository: str, ref: str) -> Config:
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        text = _read(gh, repository, name, ref)
        if text is None or (name == PYPROJECT_FILE and "[tool.specmill" not in text):
            continue
        try:
            return parse_config(text.removeprefix("\ufeff"), name)
        except SpecmillError as exc:
            raise refused(f"the base's {name} is invalid: {exc}") from None
    return Config()


def _read(gh: Any, repository: str, path: str, ref: str) -> str | None:
    """A file of the repository at ``ref``, through the API; None when there is none."""
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
