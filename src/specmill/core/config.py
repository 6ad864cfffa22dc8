"""specmill configuration: ``specmill.toml`` ([specmill]) or ``[tool.specmill]``.

Pure: ``parse_config`` takes the file's text and returns a validated ``Config``; an
unknown or mistyped key is a ``ConfigError`` naming the file, the key and its line.

The models are built lazily (``defer_build``): building pydantic's validators costs
every command that reads the config a share of its start-up, and the commands that run
on every commit (check, status, affected, lint) read a config that is almost always
valid. ``_checked`` reads such a table by the models' own fields, constraints and
validators, and builds the models without pydantic's validation; anything it does not
read with certainty (a type to convert, a value out of range, an unknown key) goes to
pydantic, so errors are pydantic's own. tests/core/test_config_reader.py compares the
two readers on many tables, valid and invalid.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from specmill.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from specmill.core.layout import CONFIG_FILE as CONFIG_FILE
from specmill.core.layout import PYPROJECT_FILE as PYPROJECT_FILE
from specmill.core.paths import normalize_relative

# Always protected, whatever the config says: the model may never write these.
BUILTIN_PROTECTED = (".git/**", ".github/**", "specmill.toml", ".specmill/**", ".gitmodules")


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


def _variable_name(value: str) -> str:
    """An environment variable's name; anything else (a newline, ``::error``) is refused."""
    if not _VARIABLE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and _)")
    return value


def _inside(path: str) -> str:
    """A path inside the repository, outside its git directory (checks must not reach it)."""
    clean = normalize_relative(path)
    if clean.split("/")[0].lower() == ".git":
        raise ValueError(f"{path!r} is in the git directory, which checks never get")
    return clean


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Endpoint(_Strict):
    """One model on one OpenAI-compatible endpoint (used for verifiers)."""

    model: str
    base_url: str | None = None  # None: OPENAI_BASE_URL or the SDK's default
    api_key_env: str = "OPENAI_API_KEY"

    _api_key_env_name = field_validator("api_key_env")(_variable_name)


class Price(_Strict):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class OutputLimits(_Strict):
    """Output tokens a call may use, per role: sent as the request's token limit and
    reserved in the budget before the call, so concurrent calls cannot overshoot it.
    Reasoning models (o-series, gpt-5) count their reasoning in these tokens."""

    planner: int = Field(default=8192, ge=16)
    executor: int = Field(default=16384, ge=16)
    verifier: int = Field(default=8192, ge=16)

    def of(self, role: Literal["planner", "executor", "verifier"]) -> int:
        return {"planner": self.planner, "executor": self.executor, "verifier": self.verifier}[role]


class ModelsConfig(_Strict):
    backend: Literal["openai", "scripted"] = "openai"
    script: str | None = None  # scripted backend: answers file, relative to the repo root
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    planner: str = "gpt-4.1"
    fast: str = "gpt-4.1-mini"
    standard: str = "gpt-4.1"
    strong: str = "o3"
    # model_construct: the defaults need no validation (nor its build)
    verifiers: list[Endpoint] = Field(
        default_factory=lambda: [
            Endpoint.model_construct(model="gpt-4.1"),
            Endpoint.model_construct(model="o4-mini"),
        ]
    )
    quorum: int | None = Field(default=None, ge=1)  # None: a majority of the verifiers
    structured_output: Literal[
        "auto", "json_schema", "json_object_schema", "json_object", "none"
    ] = "auto"
    reask_limit: int = Field(default=2, ge=0, le=10)
    # seconds to wait for the answer's first token, then for each next one (a whole
    # answer, from a server that does not stream)
    timeout: float = Field(default=120.0, gt=0)
    # ask for streamed answers: live progress, and an answer that loops is stopped early
    stream: bool = True
    max_retries: int = Field(default=4, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1, le=64)
    prices: dict[str, Price] = Field(default_factory=dict)
    max_output_tokens: OutputLimits = Field(default_factory=OutputLimits.model_construct)

    def model_names(self) -> list[str]:
        """Every model a run may call, once each, in the order the config names them."""
        names = [self.planner, self.fast, self.standard, self.strong, *self.candidate_models]
        return list(dict.fromkeys([*names, *(v.model for v in self.verifiers)]))

    # Candidate i of an attempt uses item i (cycling): executors on different models,
    # and sampling temperatures, so that parallel candidates do not all write one answer.
    candidate_models: list[str] = Field(default_factory=list)
    candidate_temperatures: list[float] = Field(default_factory=list)

    @field_validator("candidate_temperatures")
    @classmethod
    def _temperatures(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0 <= t <= 2:
                raise ValueError(f"{t}: a temperature is between 0 and 2")
        return value

    # Most tokens a prompt may have; None: 3/4 of the model's known context, if known.
    max_prompt_tokens: int | None = Field(default=None, ge=1)

    _api_key_env_name = field_validator("api_key_env")(_variable_name)

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


class BudgetConfig(_Strict):
    max_tokens: int | None = Field(default=None, ge=1)
    max_usd: float | None = Field(default=None, gt=0)
    max_usd_per_module: float | None = Field(default=None, gt=0)

    @property
    def counts_dollars(self) -> bool:
        return self.max_usd is not None or self.max_usd_per_module is not None


class BotConfig(_Strict):
    delivery: Literal["commit", "pull-request", "patch"] = "commit"
    drafts: bool = False
    allowed_associations: list[str] = Field(
        default_factory=lambda: ["OWNER", "MEMBER", "COLLABORATOR"]
    )
    max_jobs: int = Field(
        default=20,
        ge=1,
        le=256,  # GitHub Actions runs at most 256 jobs per matrix
        description="Most jobs `specmill affected --matrix` emits (groups are packed into them).",
    )

    @field_validator("allowed_associations")
    @classmethod
    def _known_associations(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in AUTHOR_ASSOCIATIONS:
                known = ", ".join(AUTHOR_ASSOCIATIONS)
                raise ValueError(f"{name!r} is not one of GitHub's associations ({known})")
        return value


class HooksConfig(_Strict):
    """``[specmill.hooks]``: what the pre-commit hooks do with what they find."""

    stale: Literal["block", "report"] = Field(
        default="block",
        description="specmill-stale: `block` a commit that leaves modules stale, or only"
        " `report` them, where the bot regenerates them on the pull request",
    )


class CalibrationConfig(_Strict):
    """``[specmill.calibration]``: how ``specmill calibrate`` seeds and judges."""

    mutants: int = Field(default=10, ge=1, le=1000)  # per module
    seed: int = 0
    min_recall: float = Field(default=0.5, ge=0, le=1)
    clean_runs: int = Field(default=1, ge=0, le=100)


class Config(_Strict):
    specs: str = "specs"
    protected: list[str] = Field(default_factory=list)
    governance: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    check_timeout: float = Field(default=600.0, gt=0)
    secret_env: list[str] = Field(default_factory=list)
    check_env: list[str] = Field(default_factory=list)  # passed to checks besides the defaults
    # Folders of the check's tree put first on PYTHONPATH and NODE_PATH, so that checks
    # import the code under test, not an editable install of your checkout ("src").
    check_import_roots: list[str] = Field(default_factory=list)
    # Git-ignored paths of your checkout that checks need (node_modules, a generated
    # src/pkg/_version.py): folders are linked, files copied, into each check's tree.
    check_ignored_paths: list[str] = Field(default_factory=list)
    # A check that passes with the module's outputs sabotaged is no evidence: "fail"
    # (the module does not pass on it) or "warn" (it counts, and every report says so).
    insensitive_checks: Literal["fail", "warn"] = "fail"
    max_attempts: int = Field(default=3, ge=1, le=20)
    candidates: int = Field(default=1, ge=1, le=8)
    early_stop: bool = True  # stop an attempt's other candidates once one has passed
    # An existing output longer than this (lines) may be answered as edits, not rewritten.
    edit_threshold_lines: int = Field(default=200, ge=1)
    comment_styles: dict[str, str] = Field(default_factory=dict)
    models: ModelsConfig = Field(default_factory=ModelsConfig.model_construct)
    budget: BudgetConfig = Field(default_factory=BudgetConfig.model_construct)
    bot: BotConfig = Field(default_factory=BotConfig.model_construct)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig.model_construct)
    hooks: HooksConfig = Field(default_factory=HooksConfig.model_construct)
    # pyproject.toml when the settings are its [tool.specmill]: then it is protected too
    _file: str = PrivateAttr(default=CONFIG_FILE)

    @field_validator("specs")
    @classmethod
    def _relative_specs(cls, value: str) -> str:
        try:  # "./specs", "specs/" -> "specs": ids and protected paths depend on it
            return normalize_relative(value)
        except ValueError:
            raise ValueError("must be a folder inside the repository, e.g. 'specs'") from None

    @field_validator("check_import_roots")
    @classmethod
    def _import_roots(cls, value: list[str]) -> list[str]:
        return ["." if root.strip() in (".", "./") else _inside(root) for root in value]

    @field_validator("check_ignored_paths")
    @classmethod
    def _ignored_paths(cls, value: list[str]) -> list[str]:
        return [_inside(path) for path in value]

    @field_validator("secret_env", "check_env")
    @classmethod
    def _variable_names(cls, value: list[str]) -> list[str]:
        return [_variable_name(name) for name in value]

    @field_validator("comment_styles")
    @classmethod
    def _known_styles(cls, value: dict[str, str]) -> dict[str, str]:
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
    try:
        config = _checked(Config, table)
    except _Unsure:
        config = _validated(table, text, path, prefix)
    config._file = PYPROJECT_FILE if prefix == ("tool", "specmill") else CONFIG_FILE
    return config


def _validated(table: Any, text: str, path: str, prefix: tuple[str, ...]) -> Config:
    """pydantic's validation: the reference, and the reader of every error."""
    try:
        return Config.model_validate(table)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(str(part) for part in error["loc"])
        key = ".".join(loc) or "specmill"
        message = (
            f"unknown key {key!r}"
            if error["type"] == "extra_forbidden"
            else f"{key}: {error['msg'].removeprefix('Value error, ')}"
        )
        raise ConfigError(message, path=path, line=find_toml_line(text, prefix, loc)) from None


M = TypeVar("M", bound=BaseModel)


class _Unsure(Exception):
    """The table holds something ``_checked`` leaves to pydantic."""


def _checked(model: type[M], data: Any) -> M:
    """``model.model_validate(data)`` for the tables this reads with certainty: each value
    of exactly its field's type (an int for a float widens), within the field's bounds,
    through the field's own validators; raises ``_Unsure`` for anything else."""
    decorators, fields = model.__pydantic_decorators__, model.model_fields
    if type(data) is not dict or not data.keys() <= fields.keys():
        raise _Unsure
    if decorators.model_validators or decorators.root_validators or decorators.validators:
        raise _Unsure
    if any(field.is_required() for name, field in fields.items() if name not in data):
        raise _Unsure  # pydantic says which is missing
    values = {}
    for name, value in data.items():
        field = fields[name]
        value = _value(field.annotation, value)
        if value is not None:
            for bound in field.metadata:
                _within(bound, value)
        for validator in decorators.field_validators.values():
            if name in validator.info.fields:
                if validator.info.mode != "after":
                    raise _Unsure
                try:
                    value = validator.func(value)
                except (ValueError, AssertionError):
                    raise _Unsure from None
        values[name] = value
    return model.model_construct(**values)


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
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _checked(annotation, value)
    raise _Unsure


def _text(value: Any) -> str:
    if type(value) is not str or _SURROGATE.search(value):
        raise _Unsure  # pydantic refuses a lone surrogate (undecodable bytes)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _within(bound: Any, value: Any) -> None:
    if isinstance(bound, annotated_types.Ge):
        ok = value >= bound.ge
    elif isinstance(bound, annotated_types.Gt):
        ok = value > bound.gt
    elif isinstance(bound, annotated_types.Le):
        ok = value <= bound.le
    else:
        ok = False
    if not ok:
        raise _Unsure


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
