"""Specs: Markdown with a YAML front matter; the source of truth for generated modules.

``parse_spec`` is pure: text in, ``Spec`` out, or a ``SpecError`` that names the file
and the line (bad YAML, unknown keys, missing outputs, duplicate requirement ids,
unsafe output paths).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

from specmill.core.hashing import sha256_text
from specmill.core.paths import first_match, normalize_relative
from specmill.errors import SpecError

MODULE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")  # \Z: "$" allows a final "\n"
UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes kept by errors="surrogateescape"
# compiled on first use (``_requirements``): a warm check reads no spec
_FENCE = r"^\s{0,3}(```|~~~)"
_REQUIREMENT = (
    r"^\s*(?:[-*+]|\d+[.)])\s+"  # a list item
    r"(?:\*\*|__|`)?"  # optionally emphasised
    r"(?P<id>[A-Z][A-Z0-9]*(?:[-_.][A-Z0-9]+)*)"
    r"(?:\*\*|__|`)?"
    r"(?=[\s:.)]|$)[:.)]?\s*(?P<text>.*)$"
)

Tier = Literal["auto", "fast", "standard", "strong"]
TIERS: tuple[Tier, ...] = ("auto", "fast", "standard", "strong")


@dataclass(frozen=True)
class Front:
    """A spec's front matter as validated (``specmill.core.front_matter`` validates it)."""

    outputs: list[str]
    id: str | None = None
    depends_on: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    tier: Tier = "auto"
    checks: list[str] | None = None

    @classmethod
    def checked(cls, values: dict[str, Any]) -> Front:
        """From values already checked (the spec cache): without ``__init__``, whose
        frozen assignments cost more than the rest of a cached spec's load."""
        return _construct(cls, values)


def _construct(cls: type[_T], values: dict[str, Any]) -> _T:
    made = object.__new__(cls)
    made.__dict__.update(values)
    return made


_T = TypeVar("_T")


@dataclass(frozen=True)
class Requirement:
    id: str
    line: int  # 1-based line in the spec file
    text: str


@dataclass(frozen=True)
class Spec:
    id: str
    path: str  # repository-relative, POSIX
    front: Front
    outputs: tuple[str, ...]  # normalised
    context: tuple[str, ...]  # normalised
    body_line: int  # first line after the front matter
    # The text and requirements, when it was read to parse it; a spec found in the spec
    # cache is read only if something asks for them (``read_text``, which checks that
    # it is still the file the cache described).
    loaded_requirements: tuple[Requirement, ...] | None = field(
        default=None, repr=False, compare=False
    )
    loaded_text: str | None = field(default=None, repr=False, compare=False)
    read_text: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    known_input_digest: str | None = field(default=None, repr=False, compare=False)

    @cached_property
    def text(self) -> str:
        if self.loaded_text is not None:
            return self.loaded_text
        assert self.read_text is not None, "a Spec has its text or a way to read it"
        return self.read_text()

    @cached_property
    def requirements(self) -> tuple[Requirement, ...]:
        if self.loaded_requirements is not None:
            return self.loaded_requirements
        return parse_requirements(self.text, self.path, first_line=self.body_line)

    @cached_property
    def input_digest(self) -> str:
        """The digest of ``spec_input_text``: what the spec gives its inputs hash."""
        if self.known_input_digest is not None:
            return self.known_input_digest
        return sha256_text(spec_input_text(self))

    @cached_property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(self.front.depends_on)

    def line_of(self, needle: str) -> int:
        """Line of the first front-matter line mentioning ``needle`` (1 if none)."""
        for number, line in enumerate(self.text.splitlines()[: self.body_line], start=1):
            if needle in line:
                return number
        return 1

    @classmethod
    def checked(cls, values: dict[str, Any]) -> Spec:
        """From every field's value, already checked (the spec cache); see Front.checked."""
        return _construct(cls, values)

    def requirement(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)


def spec_input_text(spec: Spec) -> str:
    """The part of a spec that is an input of its module (and of its dependents).

    Its body (everything after the front matter, as written) and the front-matter
    fields that change what the code should be: ``depends_on``, ``context`` (as sets),
    ``tier`` and ``checks``. Not ``outputs`` (where files go), not ``id`` (the header
    records it), nor the front matter's comments, key order, quoting or layout.
    """
    import json

    front = spec.front
    fields = {
        "depends_on": sorted(set(front.depends_on)),
        "context": sorted(set(spec.context)),
        "tier": front.tier,
        "checks": front.checks,
    }
    lines = spec.text.lstrip("\ufeff").splitlines(keepends=True)
    body = "".join(lines[spec.body_line - 1 :])
    return json.dumps(fields, sort_keys=True) + "\n" + body


def default_module_id(path: str, specs_root: str) -> str:
    relative = path[len(specs_root) + 1 :] if path.startswith(specs_root + "/") else path
    if relative.endswith(".md"):
        relative = relative[: -len(".md")]
    return relative.replace("/", ".")


def split_front_matter(text: str, path: str) -> tuple[str, int]:
    """Return the YAML text and the 1-based line where the body starts."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != "---":
        raise SpecError(
            "no front matter: a spec starts with a '---' line, YAML (at least 'outputs:'), "
            "and another '---' line",
            path=path,
            line=1,
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]), index + 2
    raise SpecError("front matter is not closed by a '---' line", path=path, line=1)


def parse_spec(
    text: str, path: str, *, specs_root: str = "specs", protected: Sequence[str] = ()
) -> Spec:
    """The spec, or a ``SpecError`` for its first error (see ``spec_errors`` for all)."""
    spec = _parse(text, path, specs_root, protected, _Errors(collect=False))
    assert spec is not None  # without collecting, every error was raised
    return spec


def spec_errors(
    text: str, path: str, *, specs_root: str = "specs", protected: Sequence[str] = ()
) -> list[SpecError]:
    """Every error of a spec, in line order, as far as its front matter can be read."""
    errors = _Errors(collect=True)
    try:
        _parse(text, path, specs_root, protected, errors)
    except SpecError as fatal:  # no front matter to read further
        errors.found.append(fatal)
    return sorted(errors.found, key=lambda error: error.line or 1)


class _Errors:
    """Raise the first error (parsing), or collect them all (linting)."""

    def __init__(self, *, collect: bool) -> None:
        self.collect = collect
        self.found: list[SpecError] = []

    def add(self, error: SpecError) -> None:
        if not self.collect:
            raise error
        self.found.append(error)


def _parse(
    text: str, path: str, specs_root: str, protected: Sequence[str], errors: _Errors
) -> Spec | None:
    undecodable = _undecodable(text, path)
    for error in undecodable:
        errors.add(error)
    if undecodable:  # nothing further can be read reliably
        return None
    from specmill.core import front_matter  # PyYAML and pydantic: only to parse

    yaml_text, body_line = split_front_matter(text, path)
    data = front_matter.load_yaml(yaml_text, path)
    front, invalid = front_matter.validate(data, yaml_text, path)
    for error in invalid:
        errors.add(error)
    declared = front.id if front else data.get("id")
    module_id = declared if isinstance(declared, str) else default_module_id(path, specs_root)
    if declared is None and not MODULE_ID.match(module_id):
        errors.add(
            SpecError(
                f"module id {module_id!r} (from the file name) is not valid: use letters,"
                " digits, '.', '_' or '-'; rename the file or set `id:` in the front matter",
                path=path,
                line=1,
            )
        )
    outputs = _checked_paths(
        front.outputs if front else _strings(data.get("outputs")),
        lambda raw: _checked_output(raw, text, path, protected),
        errors,
    )
    seen: set[str] = set()
    for out in outputs:
        if out in seen:
            line = _line(text, out, occurrence=2)
            errors.add(SpecError(f"output {out!r} is listed twice", path=path, line=line))
        seen.add(out)
    context = _checked_paths(
        front.context if front else _strings(data.get("context")),
        lambda raw: _checked_path(raw, "context", text, path),
        errors,
    )
    requirements = _requirements(text, path, body_line, errors)
    if front is None or errors.found:
        return None
    return Spec(
        id=module_id,
        path=path,
        loaded_text=text,
        front=front,
        outputs=outputs,
        context=context,
        loaded_requirements=requirements,
        body_line=body_line,
    )


def _strings(value: object) -> list[str]:
    """The strings of a front-matter list that did not validate (to lint them too)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _checked_paths(
    raw: Sequence[str], check: Callable[[str], str], errors: _Errors
) -> tuple[str, ...]:
    checked = []
    for item in raw:
        try:
            checked.append(check(item))
        except SpecError as error:
            errors.add(error)
    return tuple(checked)


def parse_requirements(text: str, path: str, *, first_line: int = 1) -> tuple[Requirement, ...]:
    return _requirements(text, path, first_line, _Errors(collect=False))


def _requirements(
    text: str, path: str, first_line: int, errors: _Errors
) -> tuple[Requirement, ...]:
    found: dict[str, Requirement] = {}
    in_fence = False
    fence, requirement = re.compile(_FENCE), re.compile(_REQUIREMENT)
    for number, line in enumerate(text.splitlines(), start=1):
        if number < first_line:
            continue
        if fence.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else requirement.match(line)
        if not match or not any(ch.isdigit() for ch in match.group("id")):
            continue
        rid = match.group("id")
        if rid in found:
            errors.add(
                SpecError(
                    f"duplicate requirement id {rid} (first at line {found[rid].line})",
                    path=path,
                    line=number,
                )
            )
            continue
        found[rid] = Requirement(rid, number, match.group("text").strip())
    return tuple(found.values())


def _undecodable(text: str, path: str) -> list[SpecError]:
    """Undecodable bytes (read with surrogateescape) make a spec invalid: one per line."""
    errors: dict[int, SpecError] = {}
    for bad in UNDECODABLE.finditer(text):
        line = text.count("\n", 0, bad.start()) + 1
        errors.setdefault(
            line,
            SpecError(
                f"not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02x}); save the spec as UTF-8",
                path=path,
                line=line,
            ),
        )
    return list(errors.values())


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    return 1


def _checked_path(raw: str, field: str, text: str, path: str) -> str:
    try:
        return normalize_relative(raw)
    except ValueError as exc:
        raise SpecError(f"{field}: {exc}", path=path, line=_line(text, raw)) from None


def _checked_output(raw: str, text: str, path: str, protected: Sequence[str]) -> str:
    out = _checked_path(raw, "outputs", text, path)
    pattern = first_match(out, protected)
    if pattern is not None:
        raise SpecError(
            f"outputs: {out!r} is a protected path ({pattern}); specmill never generates it",
            path=path,
            line=_line(text, raw),
        )
    return out
