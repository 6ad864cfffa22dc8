"""What a file says about itself: its specmill header, and whether its body still matches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from specmill.core.hashing import content_matches
from specmill.core.header import Header, split_header
from specmill.core.layout import HEADER_MARK as MARK

SCAN_CHARS = 8192  # the header sits after at most a shebang, encoding line or prolog


class Probe(NamedTuple):
    header: Header | None
    header_line: int = 1
    content_ok: bool = True  # the body hashes to the header's content hash

    def to_json(self) -> list[Any]:
        h = self.header
        fields = None if h is None else list(h)
        return [fields, self.header_line, self.content_ok]

    @classmethod
    def from_json(cls, data: list[Any]) -> Probe:
        fields, header_line, content_ok = data
        header = None if fields is None else Header(*fields)
        return cls(header, header_line, content_ok)


def probe_text(text: str, path: str) -> Probe:
    if MARK not in text[:SCAN_CHARS]:
        return Probe(None)
    split = split_header(text, path)
    if split.header is None:
        return Probe(None)
    ok = content_matches(split.header.content, split.outside)
    return Probe(split.header, split.header_line or 1, ok)


OutputState = Literal["fresh", "stale", "hand-edited", "header-missing", "missing"]


class OutputStatus(NamedTuple):
    path: str
    state: OutputState
    header: Header | None = None
    header_line: int = 1


def output_status(
    path: str, probe: Probe | None, inputs_match: Callable[[str], bool]
) -> OutputStatus:
    """The state of one output; ``inputs_match`` tells whether a header's inputs are current."""
    if probe is None:
        return OutputStatus(path, "missing")
    header, line = probe.header, probe.header_line
    if header is None:
        return OutputStatus(path, "header-missing")
    if not probe.content_ok:
        return OutputStatus(path, "hand-edited", header, line)
    if not inputs_match(header.inputs):
        return OutputStatus(path, "stale", header, line)
    return OutputStatus(path, "fresh", header, line)
