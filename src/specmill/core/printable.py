"""One line of untrusted text, safe to print on a terminal or in a log. Pure."""

from __future__ import annotations

MAX_TEXT = 300


def printable(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` on one line with controls (escape sequences included) as '?', shortened."""
    flat = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
