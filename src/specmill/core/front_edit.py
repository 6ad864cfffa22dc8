"""Edit items of a spec's front-matter list as text, keeping comments and layout. Pure.

``specmill mv`` renames an output in place, ``specmill eject`` removes outputs: the
YAML is composed only to find the items' exact characters, which are then replaced or
cut; nothing else of the file changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import yaml

from specmill.core.paths import normalize_relative

_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./+@-]*\Z")  # safe as a plain YAML scalar


def front_matter_span(text: str) -> tuple[int, int]:
    """Character range of the YAML between the opening and closing ``---`` lines."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip() != "---":
        return 0, 0
    offset = len(lines[0])
    for line in lines[1:]:
        if line.rstrip() in ("---", "..."):
            return len(lines[0]), offset
        offset += len(line)
    return 0, 0


def _list_items(text: str, key: str) -> tuple[int, Any] | None:
    """Where the front matter starts, and the YAML node of its list ``key`` (None: no
    such list, or YAML that cannot be read)."""
    start, end = front_matter_span(text)
    try:
        root = yaml.compose(text[start:end], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    sequence = next((v for k, v in root.value if k.value == key), None)
    return (start, sequence) if isinstance(sequence, yaml.SequenceNode) else None


def replace_list_item(text: str, key: str, old: str, new: str) -> str:
    """``text`` with the item of front-matter list ``key`` naming ``old`` set to ``new``.

    ``new`` is written plain when YAML reads it back unchanged, else double-quoted.
    Returns ``text`` unchanged when the list or the item cannot be found.
    """
    found = _list_items(text, key)
    if found is None:
        return text
    start, sequence = found
    for item in sequence.value:
        if isinstance(item, yaml.ScalarNode) and _normalized(item.value) == old:
            first, last = item.start_mark.index, item.end_mark.index
            literal = new if _PLAIN.match(new) and not item.style else json.dumps(new)
            return text[: start + first] + literal + text[start + last :]
    return text


def _normalized(raw: str) -> str | None:
    try:
        return normalize_relative(raw)
    except ValueError:
        return None


def remove_list_items(text: str, key: str, paths: Iterable[str]) -> str:
    """``text`` (a spec) without the items of front-matter list ``key`` that name ``paths``.

    Works on the YAML's character positions: a block item loses its whole line (its
    trailing comment too), a flow item (``[a, b]``) loses itself and one comma.
    Returns ``text`` unchanged when the list or an item cannot be found.
    """
    wanted = set(paths)
    found = _list_items(text, key)
    if found is None:
        return text
    start, sequence = found
    end = front_matter_span(text)[1]
    source = text[start:end]
    spans = []
    for item in sequence.value:
        if isinstance(item, yaml.ScalarNode) and _normalized(item.value) in wanted:
            first, last = item.start_mark.index, item.end_mark.index
            spans.append(
                _flow_span(source, first, last)
                if sequence.flow_style
                else _line_span(source, first, last)
            )
    for first, last in sorted(spans, reverse=True):
        source = source[:first] + source[last:]
    return text[:start] + source + text[end:]


def _line_span(source: str, first: int, last: int) -> tuple[int, int]:
    """The whole lines holding ``source[first:last]``, newline included."""
    begin = source.rfind("\n", 0, first) + 1
    newline = source.find("\n", last)
    return begin, len(source) if newline < 0 else newline + 1


def _flow_span(source: str, first: int, last: int) -> tuple[int, int]:
    """The item and the comma after it (or, for the last item, the comma before it)."""
    after = last
    while after < len(source) and source[after] in " \t\r\n":
        after += 1
    if after < len(source) and source[after] == ",":
        after += 1
        while after < len(source) and source[after] in " \t":
            after += 1
        return first, after
    before = first
    while before > 0 and source[before - 1] in " \t\r\n":
        before -= 1
    if before > 0 and source[before - 1] == ",":
        return before - 1, last
    return first, last
