"""The result bundle that carries a run from the untrusted phase to the trusted one.

``specmill bot generate`` runs on the pull request's code without a write token and
writes a bundle; ``specmill bot report`` runs in a workflow_run job with the write
token, runs no PR code, and posts only what a bundle that passes ``read_bundle`` and
``check_bundle_matches`` says. Everything in a bundle is untrusted: strict models
(``extra="forbid"``), size limits, repository-relative paths only, and the event it
claims must be the one GitHub reports (head SHA, repository, pull request).

Layout: a single JSON file (``*.json``, patch inline) or a directory holding
``bundle.json`` and, when there is one, ``specmill.patch`` (ready for ``git apply``).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from specmill.core.records import RunRecord
from specmill.github.errors import BundleError
from specmill.github.events import PullTarget, WorkflowRunEvent, is_module_id

BUNDLE_FORMAT: Final = "specmill-bundle/1"
BUNDLE_FILE = "bundle.json"
PATCH_FILE = "specmill.patch"
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_PATCH_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 5_000  # problems, modules, findings per module, requirement lines per spec

Sha = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
RepoName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
ShortText = Annotated[str, StringConstraints(max_length=20_000)]
ProblemKind = Literal[
    "hand-edited", "header-missing", "stale", "missing", "orphan", "conflict", "invalid"
]


def safe_path(value: str) -> str:
    """A repository-relative POSIX path, or ValueError."""
    parts = PurePosixPath(value).parts
    unsafe = (
        not value
        or len(value) > 1024
        or value.startswith("/")
        or "\\" in value
        or any(ord(char) < 32 for char in value)
        or any(part in ("..", ".git") for part in parts)
    )
    if unsafe:
        raise ValueError(f"unsafe path {value[:80]!r}: must be relative, inside the repository")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BundleProblem(_Strict):
    path: str
    line: int = Field(ge=1, le=10_000_000)
    kind: ProblemKind
    message: ShortText
    module: str | None = None
    hint: ShortText = ""


class BundleEvent(_Strict):
    """The pull request the generate phase ran on, as it saw it."""

    repository: RepoName
    number: int = Field(ge=1)
    base_sha: Sha
    head_sha: Sha
    head_ref: str = Field(max_length=255)
    head_repository: RepoName | None


class Bundle(_Strict):
    format: Literal["specmill-bundle/1"] = BUNDLE_FORMAT
    specmill_version: str = Field(max_length=64)
    event: BundleEvent
    reason: ShortText
    record: RunRecord | None = None
    problems: list[BundleProblem] = Field(default_factory=list, max_length=MAX_ITEMS)
    requirement_lines: dict[str, dict[str, int]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    graph: dict[str, list[str]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    pending: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    # A matrix job's share (`bot generate --module …`); empty: every affected module.
    modules: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    patch: str | None = Field(default=None, max_length=MAX_PATCH_BYTES)


def _module_ids(bundle: Bundle) -> list[str]:
    """Every module id the bundle names: they go into the summary, its diagram included."""
    ids = [p.module for p in bundle.problems if p.module is not None] + list(bundle.pending)
    for module, dependencies in bundle.graph.items():
        ids += [module, *dependencies]
    if bundle.record is not None:
        ids += [m.module for m in bundle.record.modules]
    return ids


def safe_module_id(value: str) -> str:
    """A module id by the rule specs follow (letters, digits, '.', '_', '-'), or ValueError."""
    if not is_module_id(value):
        raise ValueError(
            f"module id {value[:80]!r} is not valid: use letters, digits, '.', '_' or '-'"
        )
    return value


def _paths(bundle: Bundle) -> list[str]:
    paths = [p.path for p in bundle.problems] + list(bundle.requirement_lines)
    record = bundle.record
    if record is not None:
        paths += record.adopted + list(record.adopted_diff)
        for module in record.modules:
            if len(module.findings) > MAX_ITEMS or len(module.verdicts) > 64:
                raise ValueError(f"module {module.module[:80]!r} has too many findings or verdicts")
            paths += [module.spec, *module.files]
            paths += [f.file for f in module.findings if f.file is not None]
    return paths


def validate_bundle(data: bytes) -> Bundle:
    """Parse and check a bundle's JSON (untrusted input)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data)} bytes, more than {MAX_BUNDLE_BYTES}")
    try:
        bundle = Bundle.model_validate_json(data)
        for path in _paths(bundle):
            safe_path(path)
        for module in _module_ids(bundle):
            safe_module_id(module)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "bundle"
        raise BundleError(f"invalid bundle: {where}: {error['msg']}") from None
    except ValueError as exc:
        raise BundleError(f"invalid bundle: {exc}") from None
    if bundle.record is not None and len(bundle.record.modules) > MAX_ITEMS:
        raise BundleError("invalid bundle: too many modules")
    return bundle


def read_bundle(path: str | Path) -> Bundle:
    """A bundle file, or a bundle directory (bundle.json, optional specmill.patch)."""
    path = Path(path)
    if path.is_symlink():
        raise BundleError("the bundle is a symbolic link", path=str(path))
    if path.is_dir():
        names = {child.name for child in path.iterdir()}
        stray = sorted(names - {BUNDLE_FILE, PATCH_FILE})
        if stray or BUNDLE_FILE not in names:
            detail = f"unexpected {stray[0]!r}" if stray else f"no {BUNDLE_FILE}"
            raise BundleError(f"bundle directory: {detail}", path=str(path))
        bundle = validate_bundle(_read_limited(path / BUNDLE_FILE, MAX_BUNDLE_BYTES))
        if PATCH_FILE in names:
            raw = _read_limited(path / PATCH_FILE, MAX_PATCH_BYTES)
            # Undecodable bytes are kept (as surrogates), not replaced: the patch check
            # reads the bytes that will be delivered, and refuses what is not UTF-8.
            patch = raw.decode("utf-8", "surrogateescape")
            bundle = bundle.model_copy(update={"patch": patch})
        return bundle
    return validate_bundle(_read_limited(path, MAX_BUNDLE_BYTES))


def _read_limited(path: Path, limit: int) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise BundleError("not a regular file", path=str(path))
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"larger than {limit} bytes", path=str(path))
    return data


def write_bundle(bundle: Bundle, path: str | Path) -> Path:
    """Write ``*.json`` as one file, anything else as a directory; returns the path."""
    path = Path(path)
    if path.suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bundle.model_dump_json(indent=2), encoding="utf-8")
        return path
    path.mkdir(parents=True, exist_ok=True)
    without_patch = bundle.model_copy(update={"patch": None})
    (path / BUNDLE_FILE).write_text(without_patch.model_dump_json(indent=2), encoding="utf-8")
    if bundle.patch:
        (path / PATCH_FILE).write_text(bundle.patch, encoding="utf-8")
    return path


def bundle_event(target: PullTarget) -> BundleEvent:
    return BundleEvent(
        repository=target.repository,
        number=target.number,
        base_sha=target.base_sha,
        head_sha=target.head_sha,
        head_ref=target.head_ref,
        head_repository=target.head_repository,
    )


def check_bundle_matches(bundle: Bundle, event: WorkflowRunEvent) -> None:
    """The bundle must describe the run GitHub says finished (the trusted side).

    GitHub leaves ``pull_requests`` empty for fork pull requests; the report phase then
    checks through the API that the pull request's head is ``event.head_sha``.
    """
    claimed = bundle.event
    mismatches = [
        ("repository", claimed.repository, event.repository),
        ("head SHA", claimed.head_sha, event.head_sha),
        ("head repository", claimed.head_repository, event.head_repository),
    ]
    if event.head_branch is not None:
        mismatches.append(("head branch", claimed.head_ref, event.head_branch))
    for what, ours, theirs in mismatches:
        if ours != theirs:
            raise BundleError(
                f"bundle {what} {ours!r} does not match the workflow run's {theirs!r}"
            )
    if event.pull_requests and claimed.number not in event.pull_requests:
        numbers = ", ".join(f"#{n}" for n in event.pull_requests)
        raise BundleError(f"bundle pull request #{claimed.number} is not the run's ({numbers})")


def check_target_matches(bundle: Bundle, target: PullTarget) -> None:
    """The pull request as the API reports it must still be the one the bundle ran on:
    its number, head repository and branch, base and head commits, all of them.

    A pull request from another branch is a forgery (the bundle names a pull request it
    did not run on), and so is one with another base (two pull requests can come from
    one branch); the same branch at another commit is a race (it moved on since).
    """
    claimed = bundle.event
    if (target.head_repository, target.head_ref) != (claimed.head_repository, claimed.head_ref):
        theirs = f"{target.head_repository or '(deleted fork)'}:{target.head_ref}"
        ours = f"{claimed.head_repository or '(deleted fork)'}:{claimed.head_ref}"
        raise BundleError(
            f"the bundle names pull request #{target.number}, whose head is not the bundle's: "
            f"{theirs[:200]!r}, not {ours[:200]!r} (refused: a bundle may only report on the "
            "pull request it ran on)"
        )
    if (target.repository, target.number) != (claimed.repository, claimed.number):
        raise BundleError(
            f"the bundle ran on {claimed.repository}#{claimed.number}, not on "
            f"{target.repository}#{target.number}: refused"
        )
    if target.head_sha != claimed.head_sha:
        raise BundleError(
            f"pull request #{target.number} is now at {target.head_sha[:12]} "
            f"({target.head_repository}), not the bundle's {bundle.event.head_sha[:12]}: "
            "a newer run will report"
        )
    if target.base_sha != claimed.base_sha:
        raise BundleError(
            f"pull request #{target.number}'s base is {target.base_sha[:12]}, not the "
            f"bundle's {claimed.base_sha[:12]}: refused (a bundle reports only on the pull "
            "request and base it ran on; if the base branch moved, push to run again)"
        )
