"""A prompt's parts, measured in tokens, and cut in a stated order when it is too long.

The parts are the spec (never cut), the repository rules (governance), the
dependencies' code, the context files, the previous generated version, and the
feedback of a rejected attempt. When a rendered prompt would exceed its limit
(``models.max_prompt_tokens``, else the model's known context), whole parts are left
out in ``CUT_ORDER`` until it fits; each call's record lists them (``prompt_cut``). A
dependency cut keeps its spec and its planned public API. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

PARTS = ("spec", "governance", "dependencies", "context", "previous", "feedback")
# First left out first: hand-written context, then the dependencies' code (their specs
# stay), the previous version (the executor then writes whole files), the repository
# rules, and last the code of a rejected attempt (its findings stay).
CUT_ORDER = ("context", "dependencies", "previous", "governance", "feedback")

Count = Callable[[str], int]


def _texts(values: Mapping[str, Any], part: str) -> Iterable[str]:
    if part == "spec":
        yield values.get("spec_text", "")
    elif part in ("governance", "context", "previous"):
        yield from (values.get(part) or {}).values()
    elif part == "dependencies":
        for dep in values.get("dependencies") or []:
            yield dep.spec_text
            yield from dep.public_api
            yield from dep.files.values()
    elif part == "feedback":
        feedback = values.get("feedback") or {}
        yield from (feedback.get("files") or {}).values()
        yield from (str(check.get("output", "")) for check in feedback.get("checks") or [])
        yield from (str(f.get("message", "")) for f in feedback.get("findings") or [])
        yield from (str(f.get("message", "")) for f in feedback.get("others") or [])
        yield from feedback.get("summaries") or []


def measure(values: Mapping[str, Any], count: Count) -> dict[str, int]:
    """Tokens of each part present in the template variables ``values``."""
    sizes = {part: sum(count(text) for text in _texts(values, part)) for part in PARTS}
    return {part: tokens for part, tokens in sizes.items() if tokens}


def without(values: Mapping[str, Any], part: str) -> dict[str, Any]:
    """``values`` with ``part`` left out (a dependency keeps its spec and public API)."""
    kept = dict(values)
    if part in ("governance", "context", "previous"):
        kept[part] = {}
        if part == "previous":
            kept["edit_paths"] = []  # nothing to edit against: whole files
    elif part == "dependencies":
        kept[part] = [replace(dep, files={}, forms={}) for dep in values.get(part) or []]
    elif part == "feedback" and values.get("feedback"):
        kept[part] = {**values["feedback"], "files": {}}
    return kept


def describe(part: str, tokens: int) -> str:
    return f"{part} ({tokens:,} tokens)"
