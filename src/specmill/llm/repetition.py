"""Spotting an answer that repeats itself while it streams. Pure.

A small model, under a JSON grammar or not, can fall into a loop: the same span over
and over until the server's context is full (Gemma 3 270M on ``llama-server`` wrote
8,191 tokens of one JSON array repeating itself, three times in a row). Real answers
repeat short spans too (JSON keys, boilerplate, test cases that differ in a value),
but never one exact stretch many times in a row. So an answer loops when its tail is
periodic: one span of at most ``MAX_PERIOD`` characters, repeated back to back at
least ``MIN_REPEATS`` times and over at least ``MIN_LOOP_CHARS`` characters.

The tail's shortest period comes from the prefix function (Knuth-Morris-Pratt) of the
reversed tail, in one linear pass, every ``CHECK_EVERY`` characters; and only when the
last ``PROBE`` characters occur again within ``MAX_PERIOD`` before, which every loop
shows and most text does not (a search at C speed).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_REPEATS = 4  # back-to-back copies of the span
MIN_LOOP_CHARS = 800  # about 200 tokens: no real answer repeats one stretch this long
MAX_PERIOD = 1500  # longest span looked for, in characters
CHECK_EVERY = 256  # characters of new text between checks
WINDOW = MAX_PERIOD * MIN_REPEATS  # the tail that is searched
PROBE = 32  # characters at the very end that a loop repeats within MAX_PERIOD
SHOWN_CHARS = 60


@dataclass(frozen=True)
class Loop:
    """Where a repeating tail begins: ``start`` is its offset in the answer."""

    start: int
    period: int  # the repeated span's length, in characters
    line: int  # 1-based line of ``start``
    span: str

    def describe(self) -> str:
        """The reason given to the model and the user, e.g. in a re-ask."""
        shown = " ".join(self.span.split())
        if len(shown) > SHOWN_CHARS:
            shown = shown[: SHOWN_CHARS - 1] + "…"
        return (
            f"the answer repeated itself from line {self.line} (character {self.start + 1:,}):"
            f" the same {self.period:,}-character span ({shown!r}) over and over, so it was"
            " stopped"
        )


def find_loop(text: str) -> Loop | None:
    """The loop the end of ``text`` is caught in, or None."""
    tail = text[-WINDOW:]
    if len(tail) < MIN_LOOP_CHARS:
        return None
    if tail.rfind(tail[-PROBE:], len(tail) - PROBE - MAX_PERIOD, len(tail) - 1) < 0:
        return None
    reversed_tail = tail[::-1]
    border = _prefix_function(reversed_tail)
    for length in range(len(reversed_tail), MIN_LOOP_CHARS - 1, -1):  # the longest first
        period = length - border[length - 1]
        if period <= MAX_PERIOD and length >= MIN_REPEATS * period:
            return _loop(text, period)
    return None


def _loop(text: str, period: int) -> Loop:
    """The loop of this period at the end of ``text``, traced back to where it began."""
    start = len(text) - period
    while start > 0 and text[start - 1] == text[start - 1 + period]:
        start -= 1
    return Loop(start, period, text.count("\n", 0, start) + 1, text[start : start + period])


def _prefix_function(text: str) -> list[int]:
    """border[i]: the length of the longest proper prefix of text[:i+1] that is also
    its suffix."""
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    return border


class RepetitionWatch:
    """Fed an answer piece by piece; says when it has started to loop."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._length = 0
        self._checked_at = 0

    def feed(self, piece: str) -> Loop | None:
        self._pieces.append(piece)
        self._length += len(piece)
        if self._length - self._checked_at < CHECK_EVERY:
            return None
        self._checked_at = self._length
        text = "".join(self._pieces)
        self._pieces = [text]
        return find_loop(text)
