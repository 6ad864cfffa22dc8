"""Parsed specs (and output probes) as stat-cache entries, and checked when read back.

An entry is a JSON list. ``decode`` trusts nothing in it: the cache lives in ``.git/``
but any program can write there, so a wrong type, an out-of-range number or a path
that leaves the repository makes the entry unusable (the spec is parsed again), never
a wrong path or a crash. (An entry well-formed in every field and filed under the
spec's exact size, mtime, inode and ctime is believed, as git believes its index.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from specmill.core.header import Header
from specmill.core.probe import Probe
from specmill.core.spec import MODULE_ID, TIERS, Front, Requirement, Spec

MAX_LINE = 16 * 1024 * 1024  # no spec has more lines than bytes (MAX_FILE_BYTES)
MAX_PATH = 4096
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_DRIVE = re.compile(r"[A-Za-z]:")


def encode(spec: Spec) -> list[Any]:
    front = spec.front
    return [
        spec.id,
        front.id,
        front.outputs,
        front.depends_on,
        front.context,
        front.tier,
        front.checks,
        [[r.id, r.line, r.text] for r in spec.requirements],
        spec.body_line,
        list(spec.outputs),
        list(spec.context),
        spec.input_digest,
    ]


def decode(entry: Any, path: str, read_text: Callable[[], str]) -> Spec | None:
    """The spec an entry describes, or None if the entry is not one ``encode`` wrote."""
    if type(entry) is not list or len(entry) != 12:
        return None
    (
        module,
        front_id,
        raw_outputs,
        depends_on,
        raw_context,
        tier,
        checks,
        requirements,
        body_line,
        outputs,
        context,
        digest,
    ) = entry
    if not (
        type(module) is str
        and MODULE_ID.match(module)
        and (front_id is None or front_id == module)
        and _strings(raw_outputs)
        and raw_outputs
        and _strings(depends_on)
        and _strings(raw_context)
        and tier in TIERS
        and (checks is None or _strings(checks))
        and _line(body_line)
        and _paths(outputs)
        and len(outputs) == len(raw_outputs)
        and _paths(context)
        and len(context) == len(raw_context)
        and type(digest) is str
        and _DIGEST.match(digest)
        and type(requirements) is list
    ):
        return None
    found = []
    for item in requirements:
        if not (type(item) is list and len(item) == 3):
            return None
        rid, line, text = item
        if not (type(rid) is str and type(text) is str and _line(line)):
            return None
        found.append(Requirement(rid, line, text))
    front = Front(
        id=front_id,
        outputs=raw_outputs,
        depends_on=depends_on,
        context=raw_context,
        tier=tier,
        checks=checks,
    )
    return Spec(
        id=module,
        path=path,
        front=front,
        outputs=tuple(outputs),
        context=tuple(context),
        requirements=tuple(found),
        body_line=body_line,
        read_text=read_text,
        known_input_digest=digest,
    )


_HEADER_TYPES = (str, str, str, str, str, int, str, int)  # specmill.core.header.Header


def decode_probe(value: Any) -> Probe | None:
    """A stat-cache entry of ``Project.probe`` (``Probe.to_json``), or None if the entry
    is not one it wrote."""
    if type(value) is not list or len(value) != 3:
        return None
    fields, header_line, content_ok = value
    if not (_line(header_line) and type(content_ok) is bool):
        return None
    if fields is None:
        return Probe(None, header_line, content_ok)
    if not (
        type(fields) is list
        and len(fields) == len(_HEADER_TYPES)
        and all(type(f) is t for f, t in zip(fields, _HEADER_TYPES, strict=True))
        and _line(fields[5])
        and _line(fields[7])
    ):
        return None
    return Probe(Header(*fields), header_line, content_ok)


def _strings(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _line(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_LINE


def _paths(value: Any) -> bool:
    return type(value) is list and all(is_clean_path(item) for item in value)


def is_clean_path(path: Any) -> bool:
    """A path ``normalize_relative`` leaves as it is: relative, inside the repository."""
    return (
        type(path) is str
        and 0 < len(path) <= MAX_PATH
        and path.isprintable()
        and path == path.strip()
        and "\\" not in path
        and not path.startswith("/")
        and not _DRIVE.match(path)
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )
