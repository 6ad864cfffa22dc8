"""Reading and validating a spec's front matter: PyYAML and a pydantic model.

Imported only when a spec is parsed (a spec cache miss, ``specmill lint``): a command
that finds every spec in the cache never loads PyYAML or pydantic for them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from specmill.core.spec import MODULE_ID, Front, Tier
from specmill.errors import SpecError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_Loader):  # type: ignore[misc]
    """The safe loader, but a key given twice in one mapping is an error, not last-wins."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    outputs: list[str] = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)
    tier: Tier = "auto"
    checks: list[str] | None = None

    @field_validator("id")
    @classmethod
    def _module_id(cls, value: str | None) -> str | None:
        if value is not None and not MODULE_ID.match(value):
            raise ValueError("must be letters, digits, '.', '_' or '-', e.g. billing.invoice")
        return value

    def front(self) -> Front:
        return Front(
            id=self.id,
            outputs=list(self.outputs),
            depends_on=list(self.depends_on),
            context=list(self.context),
            tier=self.tier,
            checks=None if self.checks is None else list(self.checks),
        )


def validate(data: Any, yaml_text: str, path: str) -> tuple[Front | None, list[SpecError]]:
    """The front matter, or the errors of its fields (in the order ``lint`` shows them)."""
    try:
        return FrontMatter.model_validate(data).front(), []
    except ValidationError as exc:
        return None, _front_matter_errors(exc, yaml_text, path)


def load_yaml(yaml_text: str, path: str) -> Any:
    try:
        data = yaml.load(yaml_text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 1
        raise SpecError(
            f"invalid YAML in front matter: {exc.problem}", path=path, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML in front matter: {exc}", path=path, line=1) from None
    except RecursionError:  # the pure-Python loader (no libyaml) recurses per nesting level
        raise SpecError(
            "invalid YAML in front matter: nested too deeply", path=path, line=2
        ) from None
    if data is None:
        raise SpecError("front matter is empty: it needs at least 'outputs:'", path=path, line=1)
    if not isinstance(data, dict):
        raise SpecError("front matter must be a YAML mapping (key: value)", path=path, line=2)
    return data


def _front_matter_errors(exc: ValidationError, yaml_text: str, path: str) -> list[SpecError]:
    # a misspelt key is the likelier news than the missing key it leaves behind
    ordered = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    if ordered[0]["type"] == "extra_forbidden":
        ordered = [e for e in ordered if e["type"] != "missing"]
    return [_front_matter_error(error, yaml_text, path) for error in ordered]


def _front_matter_error(error: Any, yaml_text: str, path: str) -> SpecError:
    loc = [str(part) for part in error["loc"]]
    key = loc[0] if loc else ""
    line = _key_line(yaml_text, key) if key else 2
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(FrontMatter.model_fields)
        return SpecError(f"unknown key {key!r} (allowed: {allowed})", path=path, line=line)
    if error["type"] == "missing":
        return SpecError(f"missing {key!r}: list the files this spec generates", path=path, line=1)
    where = key + "".join(f"[{part}]" for part in loc[1:])
    return SpecError(f"{where}: {error['msg'].removeprefix('Value error, ')}", path=path, line=line)


def _key_line(yaml_text: str, key: str) -> int:
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for number, line in enumerate(yaml_text.splitlines(), start=2):
        if pattern.match(line):
            return number
    return 2
