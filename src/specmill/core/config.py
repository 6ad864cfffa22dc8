"""specmill configuration: ``specmill.toml`` ([specmill]) or ``[tool.specmill]``.

Pure: ``parse_config`` takes the file's text and returns a validated ``Config``; an
unknown or mistyped key is a ``ConfigError`` naming the file, the key and its line.

The settings are plain frozen dataclasses, each field declared once: its type, its
default, and in its metadata (``_rule``) its bounds and its validator, a plain function.
The commands that run on every commit (check, status, affected, lint) read a config
that is almost always valid, and importing pydantic would cost each of them a large
share of its start-up: ``_checked`` reads such a table by those declarations alone.
Anything it does not read with certainty (a type to convert, a value out of range, an
unknown key) goes to pydantic, imported then: ``_validation_model`` builds pydantic
models from the same declarations, so errors and conversions are pydantic's own.
tests/core/test_config_reader.py compares the two readers on many tables.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
import sys
import types
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from specmill.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from specmill.core.layout import CONFIG_FILE as CONFIG_FILE
from specmill.core.layout import PYPROJECT_FILE as PYPROJECT_FILE
from specmill.core.paths import normalize_relative

if TYPE_CHECKING:
    from pydantic import BaseModel

# Always protected, whatever the config says: the model may never write these.
BUILTIN_PROTECTED = (".git/**", ".github/**", "specmill.toml", ".specmill/**", ".gitmodules")
DEFAULT_KEY_ENV = "OPENAI_API_KEY"

# GitHub's fixed list of author_association values (webhook payloads, REST API).
AUTHOR_ASSOCIATIONS = (
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIMER",
    "FIRST_TIME_CONTRIBUTOR",
    "MANNEQUIN",
    "MEMBER",
    "NONE",
    "OWNER",
)
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _rule(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    check: Callable[[Any], Any] | None = None,
    doc: str | None = None,
) -> dict[str, Any]:
    """A field's metadata: bounds (pydantic's ``ge``, ``gt``, ``le``), a validator run on
    the value of the field's type (pydantic's "after" validator; a ``ValueError`` refuses
    it) and a description."""
    rule: dict[str, Any] = {"ge": ge, "gt": gt, "le": le, "check": check, "doc": doc}
    return {key: value for key, value in rule.items() if value is not None}


# Not a setting: kept out of the table's keys, of validation and of repr.
_INTERNAL = {"internal": True}


def _variable_name(value: str) -> str:
    """An environment variable's name; anything else (a newline, ``::error``) is refused."""
    if not _VARIABLE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and _)")
    return value


def _variable_names(value: list[str]) -> list[str]:
    return [_variable_name(name) for name in value]


def _inside(path: str) -> str:
    """A path inside the repository, outside its git directory (checks must not reach it)."""
    clean = normalize_relative(path)
    if clean.split("/")[0].lower() == ".git":
        raise ValueError(f"{path!r} is in the git directory, which checks never get")
    return clean


def _relative_specs(value: str) -> str:
    try:  # "./specs", "specs/" -> "specs": ids and protected paths depend on it
        return normalize_relative(value)
    except ValueError:
        raise ValueError("must be a folder inside the repository, e.g. 'specs'") from None


def _import_roots(value: list[str]) -> list[str]:
    return ["." if root.strip() in (".", "./") else _inside(root) for root in value]


def _ignored_paths(value: list[str]) -> list[str]:
    return [_inside(path) for path in value]


def _temperatures(value: list[float]) -> list[float]:
    for t in value:
        if not 0 <= t <= 2:
            raise ValueError(f"{t}: a temperature is between 0 and 2")
    return value


def _known_associations(value: list[str]) -> list[str]:
    for name in value:
        if name not in AUTHOR_ASSOCIATIONS:
            known = ", ".join(AUTHOR_ASSOCIATIONS)
            raise ValueError(f"{name!r} is not one of GitHub's associations ({known})")
    return value


def _known_styles(value: dict[str, str]) -> dict[str, str]:
    from specmill.core.header import NO_COMMENTS, STYLES

    for key, style in value.items():
        if style not in STYLES:
            known = ", ".join(sorted(STYLES))
            raise ValueError(f"{key!r}: unknown comment style {style!r} (known: {known})")
        if key.lower() in NO_COMMENTS:
            raise ValueError(
                f"{key!r} files have no comment syntax: a header in one would break it"
                " (JSON parsers refuse comments; npm fails with EJSONPARSE). Keep such"
                " files out of `outputs:` (name them under `context:`) instead"
            )
    return value


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """One model on one OpenAI-compatible endpoint (used for verifiers)."""

    model: str
    base_url: str | None = None  # None: OPENAI_BASE_URL or the SDK's default
    api_key_env: str = field(default=DEFAULT_KEY_ENV, metadata=_rule(check=_variable_name))


@dataclass(frozen=True, kw_only=True)
class Price:
    """US dollars per million tokens."""

    input: float = field(metadata=_rule(ge=0))
    output: float = field(metadata=_rule(ge=0))


@dataclass(frozen=True, kw_only=True)
class OutputLimits:
    """Output tokens a call may use, per role: sent as the request's token limit and
    reserved in the budget before the call, so concurrent calls cannot overshoot it.
    Reasoning models (o-series, gpt-5) count their reasoning in these tokens."""

    planner: int = field(default=8192, metadata=_rule(ge=16))
    executor: int = field(default=16384, metadata=_rule(ge=16))
    verifier: int = field(default=8192, metadata=_rule(ge=16))

    def of(self, role: Literal["planner", "executor", "verifier"]) -> int:
        return {"planner": self.planner, "executor": self.executor, "verifier": self.verifier}[role]


def _default_verifiers() -> list[Endpoint]:
    return [Endpoint(model="gpt-4.1"), Endpoint(model="o4-mini")]


@dataclass(frozen=True, kw_only=True)
class ModelsConfig:
    backend: Literal["openai", "scripted"] = "openai"
    script: str | None = None  # scripted backend: answers file, relative to the repo root
    base_url: str | None = None
    api_key_env: str = field(default=DEFAULT_KEY_ENV, metadata=_rule(check=_variable_name))
    planner: str = "gpt-4.1"
    fast: str = "gpt-4.1-mini"
    standard: str = "gpt-4.1"
    strong: str = "o3"
    verifiers: list[Endpoint] = field(default_factory=_default_verifiers)
    # None: a majority of the verifiers
    quorum: int | None = field(default=None, metadata=_rule(ge=1))
    structured_output: Literal[
        "auto", "json_schema", "json_object_schema", "json_object", "none"
    ] = "auto"
    reask_limit: int = field(default=2, metadata=_rule(ge=0, le=10))
    # seconds to wait for the answer's first token, then for each next one (a whole
    # answer, from a server that does not stream)
    timeout: float = field(default=120.0, metadata=_rule(gt=0))
    # ask for streamed answers: live progress, and an answer that loops is stopped early
    stream: bool = True
    max_retries: int = field(default=4, metadata=_rule(ge=0, le=20))
    concurrency: int = field(default=16, metadata=_rule(ge=1, le=64))
    prices: dict[str, Price] = field(default_factory=dict)
    max_output_tokens: OutputLimits = field(default_factory=OutputLimits)
    # Candidate i of an attempt uses item i (cycling): executors on different models,
    # and sampling temperatures, so that parallel candidates do not all write one answer.
    candidate_models: list[str] = field(default_factory=list)
    candidate_temperatures: list[float] = field(
        default_factory=list, metadata=_rule(check=_temperatures)
    )
    # Most tokens a prompt may have; None: 3/4 of the model's known context, if known.
    max_prompt_tokens: int | None = field(default=None, metadata=_rule(ge=1))

    def model_names(self) -> list[str]:
        """Every model a run may call, once each, in the order the config names them."""
        names = [self.planner, self.fast, self.standard, self.strong, *self.candidate_models]
        return list(dict.fromkeys([*names, *(v.model for v in self.verifiers)]))

    def key_variables(self) -> set[str]:
        """The environment variables that hold the models' API keys."""
        return {self.api_key_env, *(v.api_key_env for v in self.verifiers)}

    def identity(self) -> dict[str, Any]:
        """What decides the generated code (part of every inputs hash).

        Timeouts, retries, prices and keys change how a run goes, not what it makes.
        """
        identity: dict[str, Any] = {
            "backend": self.backend,
            "planner": self.planner,
            "tiers": {"fast": self.fast, "standard": self.standard, "strong": self.strong},
            "verifiers": [v.model for v in self.verifiers],
        }
        if self.candidate_models:  # only when set: existing inputs hashes stay as they were
            identity["candidate_models"] = self.candidate_models
        if self.candidate_temperatures:
            identity["candidate_temperatures"] = self.candidate_temperatures
        return identity


@dataclass(frozen=True, kw_only=True)
class BudgetConfig:
    max_tokens: int | None = field(default=None, metadata=_rule(ge=1))
    max_usd: float | None = field(default=None, metadata=_rule(gt=0))
    max_usd_per_module: float | None = field(default=None, metadata=_rule(gt=0))

    @property
    def counts_dollars(self) -> bool:
        return self.max_usd is not None or self.max_usd_per_module is not None


def _default_associations() -> list[str]:
    return ["OWNER", "MEMBER", "COLLABORATOR"]


Delivery = Literal["commit", "pull-request", "patch"]


@dataclass(frozen=True, kw_only=True)
class BotConfig:
    delivery: Delivery = "commit"
    drafts: bool = False
    allowed_associations: list[str] = field(
        default_factory=_default_associations, metadata=_rule(check=_known_associations)
    )
    max_jobs: int = field(
        default=20,
        metadata=_rule(
            ge=1,
            le=256,  # GitHub Actions runs at most 256 jobs per matrix
            doc="Most jobs `specmill affected --matrix` emits (groups are packed into them).",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class HooksConfig:
    """``[specmill.hooks]``: what the pre-commit hooks do with what they find."""

    stale: Literal["block", "report"] = field(
        default="block",
        metadata=_rule(
            doc="specmill-stale: `block` a commit that leaves modules stale, or only"
            " `report` them, where the bot regenerates them on the pull request"
        ),
    )


@dataclass(frozen=True, kw_only=True)
class CalibrationConfig:
    """``[specmill.calibration]``: how ``specmill calibrate`` seeds and judges."""

    mutants: int = field(default=10, metadata=_rule(ge=1, le=1000))  # per module
    seed: int = 0
    min_recall: float = field(default=0.5, metadata=_rule(ge=0, le=1))
    clean_runs: int = field(default=1, metadata=_rule(ge=0, le=100))


@dataclass(frozen=True, kw_only=True)
class Config:
    specs: str = field(default="specs", metadata=_rule(check=_relative_specs))
    protected: list[str] = field(default_factory=list)
    governance: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    check_timeout: float = field(default=600.0, metadata=_rule(gt=0))
    secret_env: list[str] = field(default_factory=list, metadata=_rule(check=_variable_names))
    # passed to checks besides the defaults
    check_env: list[str] = field(default_factory=list, metadata=_rule(check=_variable_names))
    # Folders of the check's tree put first on PYTHONPATH and NODE_PATH, so that checks
    # import the code under test, not an editable install of your checkout ("src").
    check_import_roots: list[str] = field(default_factory=list, metadata=_rule(check=_import_roots))
    # Git-ignored paths of your checkout that checks need (node_modules, a generated
    # src/pkg/_version.py): folders are linked, files copied, into each check's tree.
    check_ignored_paths: list[str] = field(
        default_factory=list, metadata=_rule(check=_ignored_paths)
    )
    # A check that passes with the module's outputs sabotaged is no evidence: "fail"
    # (the module does not pass on it) or "warn" (it counts, and every report says so).
    insensitive_checks: Literal["fail", "warn"] = "fail"
    max_attempts: int = field(default=3, metadata=_rule(ge=1, le=20))
    candidates: int = field(default=1, metadata=_rule(ge=1, le=8))
    early_stop: bool = True  # stop an attempt's other candidates once one has passed
    # An existing output longer than this (lines) may be answered as edits, not rewritten.
    edit_threshold_lines: int = field(default=200, metadata=_rule(ge=1))
    comment_styles: dict[str, str] = field(
        default_factory=dict, metadata=_rule(check=_known_styles)
    )
    models: ModelsConfig = field(default_factory=ModelsConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    # pyproject.toml when the settings are its [tool.specmill]: then it is protected too
    _file: str = field(default=CONFIG_FILE, repr=False, metadata=_INTERNAL)
    # the keys the table sets (parse_config): ``sets`` tells a default from a choice
    _keys: frozenset[str] = field(
        default=frozenset(), repr=False, compare=False, metadata=_INTERNAL
    )

    @classmethod
    def from_table(cls, table: Any) -> Config:
        """The ``[specmill]`` table (a dict, as TOML reads it) validated as ``parse_config``
        validates it; a ``ConfigError`` (without a line) for what it refuses."""
        return _read(table, "", "specmill.toml", ("specmill",))

    def sets(self, key: str) -> bool:
        """Whether the configuration file sets ``key`` (else it has its default)."""
        return key in self._keys

    @property
    def protected_patterns(self) -> tuple[str, ...]:
        own = (PYPROJECT_FILE,) if self._file == PYPROJECT_FILE else ()
        return (*BUILTIN_PROTECTED, *own, f"{self.specs}/**", *self.protected)

    def models_digest(self) -> str:
        canonical = json.dumps(self.models.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_config(text: str, path: str) -> Config:
    """Parse specmill.toml (table [specmill]) or pyproject.toml (table [tool.specmill])."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=path, line=line) from None
    prefix = ("tool", "specmill") if path.endswith(PYPROJECT_FILE) else ("specmill",)
    table: Any = document
    for part in prefix:
        table = table.get(part) if isinstance(table, dict) else None
    if table is None:
        raise ConfigError(f"no [{'.'.join(prefix)}] table", path=path, line=1)
    if not isinstance(table, dict):
        raise ConfigError(f"[{'.'.join(prefix)}] must be a table", path=path, line=1)
    if prefix == ("specmill",):
        stray = sorted(set(document) - {"specmill"})
        if stray:
            line = find_toml_line(text, (), (stray[0],))
            raise ConfigError(
                f"unknown top-level key {stray[0]!r}: settings go under [specmill]",
                path=path,
                line=line,
            )
    return _read(table, text, path, prefix)


def _read(table: Any, text: str, path: str, prefix: tuple[str, ...]) -> Config:
    """The light reader, else pydantic's validation: the reference, and the reader of
    every error (its first, with the line of ``text`` that holds it)."""
    try:
        config = _checked(Config, table)
    except _Unsure:
        from pydantic import ValidationError

        try:
            config = _validated(table)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = tuple(str(part) for part in error["loc"])
            key = ".".join(loc) or "specmill"
            message = (
                f"unknown key {key!r}"
                if error["type"] == "extra_forbidden"
                else f"{key}: {error['msg'].removeprefix('Value error, ')}"
            )
            line = find_toml_line(text, prefix, loc) if text else None
            raise ConfigError(message, path=path, line=line) from None
    own = PYPROJECT_FILE if prefix == ("tool", "specmill") else CONFIG_FILE
    return replace(config, _file=own, _keys=frozenset(table))


D = TypeVar("D")


class _Unsure(Exception):
    """The table holds something ``_checked`` leaves to pydantic."""


class _Field:
    """What the readers use of a dataclass field: its resolved type and its rule."""

    __slots__ = ("annotation", "bounds", "check", "name", "required")

    def __init__(self, name: str, annotation: Any, metadata: Any, required: bool) -> None:
        self.name, self.annotation, self.required = name, annotation, required
        self.bounds = [(key, metadata[key]) for key in ("ge", "gt", "le") if key in metadata]
        self.check: Callable[[Any], Any] | None = metadata.get("check")


_FIELDS: dict[type, dict[str, _Field]] = {}


def _fields_of(cls: type) -> dict[str, _Field]:
    """A settings class's fields (not its internal ones), by name, in declaration order."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        found = _FIELDS[cls] = {
            f.name: _Field(
                f.name,
                hints[f.name],
                f.metadata,
                f.default is MISSING and f.default_factory is MISSING,
            )
            for f in fields(cls)
            if not f.metadata.get("internal")
        }
    return found


def _checked(cls: type[D], data: Any) -> D:
    """``cls`` validated from ``data`` for the tables this reads with certainty: each value
    of exactly its field's type (an int for a float widens), within the field's bounds,
    through the field's own validator; raises ``_Unsure`` for anything else."""
    declared = _fields_of(cls)
    if type(data) is not dict or not data.keys() <= declared.keys():
        raise _Unsure
    if any(f.required and name not in data for name, f in declared.items()):
        raise _Unsure  # pydantic says which is missing
    values = {}
    for name, value in data.items():
        spec = declared[name]
        value = _value(spec.annotation, value)
        if value is not None:
            for bound, limit in spec.bounds:
                _within(bound, limit, value)
        if spec.check is not None:
            try:
                value = spec.check(value)
            except (ValueError, AssertionError):
                raise _Unsure from None
        values[name] = value
    return cls(**values)


def _value(annotation: Any, value: Any) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is str:
        return _text(value)
    if annotation in (int, bool):
        if type(value) is not annotation:
            raise _Unsure
        return value
    if annotation is float:
        if type(value) not in (int, float):
            raise _Unsure
        return float(value)
    if origin is Literal:
        if _text(value) not in args:
            raise _Unsure
        return value
    if origin in (Union, types.UnionType) and len(args) == 2 and args[1] is type(None):
        return None if value is None else _value(args[0], value)
    if origin is list and type(value) is list:
        return [_value(args[0], item) for item in value]
    if origin is dict and type(value) is dict and args[0] is str:
        return {_text(key): _value(args[1], item) for key, item in value.items()}
    if isinstance(annotation, type) and is_dataclass(annotation):
        return _checked(annotation, value)
    raise _Unsure


def _text(value: Any) -> str:
    if type(value) is not str or _SURROGATE.search(value):
        raise _Unsure  # pydantic refuses a lone surrogate (undecodable bytes)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _within(bound: str, limit: float, value: Any) -> None:
    if bound == "ge":
        ok = value >= limit
    elif bound == "gt":
        ok = value > limit
    else:
        ok = value <= limit
    if not ok:
        raise _Unsure


def _validated(table: Any) -> Config:
    """``table`` validated by pydantic (a ``ValidationError`` for what it refuses)."""
    return _plain(_validation_model(Config).model_validate(table))  # type: ignore[no-any-return]


_MODELS: dict[type, type[BaseModel]] = {}


def _validation_model(cls: type) -> type[BaseModel]:
    """The pydantic model of a settings class, built from its fields: same names, types,
    defaults, bounds, validators and descriptions, unknown keys forbidden."""
    model = _MODELS.get(cls)
    if model is not None:
        return model
    from pydantic import ConfigDict, Field, create_model, field_validator

    definitions: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for f in fields(cls):
        if f.metadata.get("internal"):
            continue
        spec = _fields_of(cls)[f.name]
        options: dict[str, Any] = dict(spec.bounds)
        if "doc" in f.metadata:
            options["description"] = f.metadata["doc"]
        if f.default is not MISSING:
            options["default"] = f.default
        elif f.default_factory is not MISSING:
            options["default_factory"] = f.default_factory
        definitions[f.name] = (_validation_type(spec.annotation), Field(**options))
        if spec.check is not None:
            validators[f"_check_{f.name}"] = field_validator(f.name)(spec.check)
    model = create_model(
        cls.__name__,
        __config__=ConfigDict(extra="forbid", frozen=True),
        __validators__=validators,
        __module__=__name__,
        **definitions,
    )
    _MODELS[cls] = model
    _CLASSES[model] = cls
    return model


_CLASSES: dict[type, type] = {}


def _validation_type(annotation: Any) -> Any:
    """``annotation`` with each settings class in it replaced by its pydantic model."""
    if isinstance(annotation, type) and is_dataclass(annotation):
        return _validation_model(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, dict):
        return types.GenericAlias(origin, tuple(_validation_type(arg) for arg in args))
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, (_validation_type(arg) for arg in args))
    return annotation


def _plain(value: Any) -> Any:
    """A validated pydantic model as its settings class (lists and dicts walked)."""
    cls = _CLASSES.get(type(value))
    if cls is not None:
        return cls(**{name: _plain(getattr(value, name)) for name in _fields_of(cls)})
    if type(value) is list:
        return [_plain(item) for item in value]
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


# Linear-time patterns (each part can match in one way only): these run on every line
# of the file, which may come from an untrusted checkout. _split_key strips the spaces.
_TABLE = re.compile(r"^\s*\[\[?([^\]]+)\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=""")


def _split_key(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in raw.split("."))


def find_toml_line(text: str, prefix: tuple[str, ...], loc: tuple[str, ...]) -> int:
    """Best line for a key path: its own line, else its table's header, else line 1."""
    keys = tuple(part for part in loc if not part.isdigit())
    best, best_depth = 1, -1
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = _split_key(header.group(1))
            full = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = table + _split_key(key.group(1))
        if full[: len(prefix)] != prefix:
            continue
        relative = full[len(prefix) :]
        depth = 0
        while depth < min(len(relative), len(keys)) and relative[depth] == keys[depth]:
            depth += 1
        if depth == len(relative) and depth > best_depth:
            best, best_depth = number, depth
    return best
