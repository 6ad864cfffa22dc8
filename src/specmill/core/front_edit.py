"""Edit one item of a spec's front-matter list as text, keeping comments and layout. Pure.

``specmill mv`` renames an output in place: the YAML is composed only to find the
item's exact characters, which are then replaced; nothing else of the file changes.
"""

from __future__ import annotations

import json
import re

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


def replace_list_item(text: str, key: str, old: str, new: str) -> str:
    """``text`` with the item of front-matter list ``key`` naming ``old`` set to ``new``.

    ``new`` is written plain when YAML reads it back unchanged, else double-quoted.
    Returns ``text`` unchanged when the list or the item cannot be found.
    """
    start, end = front_matter_span(text)
    source = text[start:end]
    try:
        root = yaml.compose(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return text
    if not isinstance(root, yaml.MappingNode):
        return text
    sequence = next((v for k, v in root.value if k.value == key), None)
    if not isinstance(sequence, yaml.SequenceNode):
        return text
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
