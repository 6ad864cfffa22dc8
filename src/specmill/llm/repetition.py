"""Spotting an answer that repeats itself while it streams. Pure.

A small model, under a JSON grammar or not, can fall into a loop: the same span over
and over until the server's context is full (Gemma 3 270M on ``llama-server`` wrote
8,191 tokens of one JSON array repeating itself, three times in a row). Real answers
repeat short spans too (JSON keys, boilerplate, test cases that differ in a value),
but never one exact stretch many times in a row. So an answer loops when its tail is
periodic: one span of at most ``MAX_PERIOD`` characters, repeated back to back at
least ``MIN_REPEATS`` times and over at least ``MIN_LOOP_CHARS`` characters. A loop
that only counts on (``test_1``, ``test_2``, …: the same span but for its numbers) must
run longer to be one: ``NEAR_MIN_REPEATS`` times, over ``NEAR_MIN_CHARS``.

The tail's shortest period comes from the prefix function (Knuth-Morris-Pratt) of the
reversed tail, in one linear pass, every ``CHECK_EVERY`` characters; and only when the
last ``PROBE`` characters occur again within ``MAX_PERIOD`` before, which every loop
shows and most text does not (a search at C speed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_REPEATS = 4  # back-to-back copies of the span
MIN_LOOP_CHARS = 400  # about 100 tokens: no real answer repeats one stretch this long
MAX_PERIOD = 1500  # longest span looked for, in characters
CHECK_EVERY = 256  # characters of new text between checks
WINDOW = MAX_PERIOD * MIN_REPEATS  # the tail that is searched
PROBE = 32  # characters at the very end that a loop repeats within MAX_PERIOD
NEAR_MAX_PERIOD = 300  # a span that differs only in its numbers, each time
NEAR_MIN_REPEATS = 16
NEAR_MIN_CHARS = 3000
_NUMBERS = re.compile(r"\d+")
SHOWN_CHARS = 60


@dataclass(frozen=True)
class Loop:
    """Where a repeating tail begins: ``start`` is its offset in the answer."""

    start: int
    period: int  # the repeated span's length, in characters
    line: int  # 1-based line of ``start``
    span: str
    counting: bool = False  # the copies differ in their numbers only

    def describe(self) -> str:
        """The reason given to the model and the user, e.g. in a re-ask."""
        shown = " ".join(self.span.split())
        if len(shown) > SHOWN_CHARS:
            shown = shown[: SHOWN_CHARS - 1] + "…"
        same = "span but for its numbers" if self.counting else "span"
        return (
            f"the answer repeated itself from line {self.line} (character {self.start + 1:,}):"
            f" the same {self.period:,}-character {same} ({shown!r}) over and over, so it"
            " was stopped"
        )


def find_loop(text: str) -> Loop | None:
    """The loop the end of ``text`` is caught in, or None."""
    period = _period(text[-WINDOW:], MAX_PERIOD, MIN_REPEATS, MIN_LOOP_CHARS)
    if period is not None:
        start = _start(text, period)
        return Loop(start, period, text.count("\n", 0, start) + 1, text[start : start + period])
    tail = text[-NEAR_MAX_PERIOD * NEAR_MIN_REPEATS :]
    offset = len(text) - len(tail)
    numbers = [(m.start(), m.end()) for m in _NUMBERS.finditer(tail)]
    plain = _NUMBERS.sub("0", tail)
    period = _period(plain, NEAR_MAX_PERIOD, NEAR_MIN_REPEATS, NEAR_MIN_CHARS)
    if period is None:
        return None
    began = _start(plain, period)
    start = offset + _original(began, numbers)
    end = offset + _original(began + period, numbers)
    line = text.count("\n", 0, start) + 1
    return Loop(start, end - start, line, text[start:end], counting=True)


def _period(tail: str, longest: int, repeats: int, least: int) -> int | None:
    """The period of the longest periodic end of ``tail`` that makes a loop, or None."""
    if len(tail) < least:
        return None
    if tail.rfind(tail[-PROBE:], len(tail) - PROBE - longest, len(tail) - 1) < 0:
        return None
    reversed_tail = tail[::-1]
    border = _prefix_function(reversed_tail)
    for length in range(len(reversed_tail), least - 1, -1):  # the longest first
        period = length - border[length - 1]
        if period <= longest and length >= repeats * period:
            return period
    return None


def _start(text: str, period: int) -> int:
    """Where the loop of this period at the end of ``text`` began."""
    start = len(text) - period
    while start > 0 and text[start - 1] == text[start - 1 + period]:
        start -= 1
    return start


def _original(index: int, numbers: list[tuple[int, int]]) -> int:
    """Where ``index`` of the text with each number written as 0 is in the original."""
    shift = 0
    for start, end in numbers:
        if start - shift >= index:
            break
        shift += end - start - 1
    return index + shift


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
