"""The managed block of ``.gitattributes`` that marks outputs ``linguist-generated``.

GitHub collapses such files in pull request diffs, so reviewers read the spec change
and the verifiers' report rather than thousands of generated lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BEGIN = "# BEGIN specmill: generated outputs (managed by specmill; edits here are replaced)"
END = "# END specmill"
_SPECIAL = re.compile(r'[\s"\\#!]')


def _pattern(path: str) -> str:
    if not _SPECIAL.search(path) and not path.startswith("["):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'  # C-style quoting, understood by git for attributes patterns


def render_gitattributes(existing: str, outputs: Iterable[str]) -> str:
    """``existing`` with the managed block replaced (or appended) for ``outputs``."""
    block = [BEGIN, *(f"{_pattern(p)} linguist-generated=true" for p in sorted(set(outputs))), END]
    newline = "\r\n" if "\r\n" in existing else "\n"  # keep a CRLF file CRLF
    lines = existing.splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN) :]:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
        lines[start : end + 1] = block
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += block
    return newline.join(lines) + newline
