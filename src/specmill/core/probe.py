"""What a file says about itself: its specmill header, and whether its body still matches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specmill.core.hashing import content_matches
from specmill.core.header import Header, split_header
from specmill.core.layout import HEADER_MARK as MARK

SCAN_CHARS = 8192  # the header sits after at most a shebang, encoding line or prolog


@dataclass(frozen=True)
class Probe:
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
