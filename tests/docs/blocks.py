"""The manual's shell examples as data: find them, read their markers, match their output.

Pure (text in, data out); ``tests/docs/scratch.py`` runs them. The rules, as
``docs/development.md#examples-are-tests`` states them for writers:

- A *shell block* is a fenced block of ``console`` (or ``shell-session``), ``bash``,
  ``sh``, ``shell`` or ``zsh``, or a plain one (no language, or ``text``: a command's
  output as users see it, which only a ``not-run`` marker fits).
- The line before it (a blank line between is allowed) is a marker:
  ``<!-- run: REPO -->`` runs it in the scratch repository ``REPO`` (a recipe of
  ``tests/docs/scratch.py``; blocks of one page naming the same ``REPO`` share one
  repository, in page order), or ``<!-- not-run: REASON; covered by
  tests/FILE.py::TEST -->`` says why it cannot run and which test holds its claim.
- In a ``console`` block, ``$ `` starts a command (a line ending in ``\\`` goes on) and
  the lines up to the next command are its output, stdout and stderr as a terminal
  interleaves them. Shown output is compared whole: a line ``...`` stands for any lines
  (none included), ``...`` (or ``…``) inside a line for any text, a run id
  (``20261126-022635-635805``) for any run id and a digest or commit (6 to 64 hex
  digits) for any. No line shown: not compared. The notice that tiktoken's encoding
  is not on the machine is left out of what was printed: it depends on the machine.
- In a ``bash``/``sh``/``shell`` block every line is a command; nothing is compared.
- ``<!-- run: REPO; skip: pip install | pre-commit install; covered by
  tests/FILE.py::TEST -->`` leaves out the commands that start so (they install, or
  touch the network), naming the tests that hold them; the rest of the block runs.
- Every command must exit 0, unless its comment starts with ``exit N``
  (``specmill check  # exit 1: ...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CONSOLE = {"console", "shell-session"}  # `$ ` commands, each followed by its output
SCRIPT = {"bash", "sh", "shell", "zsh"}  # every line a command
PLAIN = {"", "text"}  # output alone: it cannot run, a test holds it
SHELL = CONSOLE | SCRIPT | PLAIN
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)$")
MARKER = re.compile(r"^ *<!--\s*(?P<kind>run|not-run):\s*(?P<body>.*?)\s*-->\s*$")
COVERED = re.compile(r"covered by ((?:tests/[\w/.-]+\.py::\w+(?:,\s*)?)+)")
TEST_REF = re.compile(r"(tests/[\w/.-]+\.py)::(\w+)")
EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass(frozen=True)
class Command:
    line: int  # where it starts on the page
    text: str  # continuation lines joined, as the shell reads it
    output: tuple[str, ...] | None  # shown output; None: not shown
    exit: int  # the exit status it must end with


@dataclass(frozen=True)
class Block:
    page: str  # relative to the checkout: README.md, docs/hooks.md
    line: int  # the opening fence's line, 1-based
    language: str
    body: tuple[str, ...]  # the lines between the fences, indentation removed
    kind: str | None  # "run", "not-run", or None: not marked
    marker: str = ""  # what follows "run:" or "not-run:"
    commands: tuple[Command, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def repo(self) -> str:
        """The scratch repository a run block names: ``billing`` or ``billing#2``."""
        return self.marker.split(";")[0].strip() if self.kind == "run" else ""

    @property
    def skips(self) -> tuple[str, ...]:
        """Commands a run block leaves out, by how they start (``skip: pip install``)."""
        for option in self.marker.split(";")[1:]:
            name, _, value = option.partition(":")
            if name.strip() == "skip":
                return tuple(v.strip() for v in value.split("|") if v.strip())
        return ()

    def to_run(self) -> tuple[Command, ...]:
        skips = self.skips
        return tuple(c for c in self.commands if not (skips and c.text.startswith(skips)))

    @property
    def recipe(self) -> str:
        return self.repo.split("#")[0]

    def covering_tests(self) -> list[tuple[str, str]]:
        covered = COVERED.search(self.marker)
        return TEST_REF.findall(covered.group(1)) if covered else []


def pages(checkout: Path) -> list[Path]:
    return [checkout / "README.md", *sorted((checkout / "docs").rglob("*.md"))]


def blocks(text: str, page: str) -> list[Block]:
    """Every shell block of a page, with its marker and, for ``run`` blocks, its commands."""
    lines = text.splitlines()
    found: list[Block] = []
    for start, end, indent, language in fences(lines):
        body = tuple(
            line[indent:] if line.startswith(" " * indent) else line.lstrip()
            for line in lines[start + 1 : end]
        )
        if language in SHELL:
            kind, marker = marker_before(lines, start)
            commands = parse(body, start + 2, language) if kind == "run" else ()
            found.append(Block(page, start + 1, language, body, kind, marker, commands))
    return found


def fences(lines: list[str]) -> list[tuple[int, int, int, str]]:
    """Each fenced block as (opening line, closing line, indentation, language), 0-based;
    a longer fence (````) holds shorter ones, as in a page that shows a marker."""
    found = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower() if opening["info"] else ""
        end = i + 1
        while end < len(lines) and not re.match(rf"^ *{re.escape(fence)}\s*$", lines[end]):
            end += 1
        found.append((i, end, len(opening["indent"]), language))
        i = end + 1
    return found


def marker_before(lines: list[str], fence: int) -> tuple[str | None, str]:
    for back in (1, 2):
        if fence - back < 0:
            break
        match = MARKER.match(lines[fence - back])
        if match:
            return match["kind"], match["body"]
        if lines[fence - back].strip():
            break
    return None, ""


def stray_markers(text: str, page: str) -> list[str]:
    """Markers that are not followed by a shell block: a typo would otherwise hide one."""
    marked = {b.line for b in blocks(text, page) if b.kind}
    lines = text.splitlines()
    inside = {n + 1 for start, end, _, _ in fences(lines) for n in range(start, end + 1)}
    stray = []
    for number, line in enumerate(lines, 1):
        if MARKER.match(line) and number not in inside:
            following = [n for n in (number + 1, number + 2) if n in marked]
            if not following:
                stray.append(f"{page}:{number}")
    return stray


def parse(body: tuple[str, ...], first_line: int, language: str) -> tuple[Command, ...]:
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    output: list[str] = []

    def close() -> None:
        if pending:
            text = "\n".join(pending)
            status = EXIT.search(pending[-1])
            shown = tuple(output) if output else None
            commands.append(Command(start, text, shown, int(status[1]) if status else 0))

    continuing = False
    for offset, line in enumerate(body):
        number = first_line + offset
        if continuing:
            pending.append(line)
            continuing = line.endswith("\\")
            continue
        if language in CONSOLE:
            is_command = line.startswith("$ ")
        else:
            is_command = bool(line.strip()) and not line.lstrip().startswith("#")
        if is_command:
            close()
            pending, output, start = [line[2:] if language in CONSOLE else line], [], number
            continuing = line.endswith("\\")
        elif language in CONSOLE and pending:
            output.append(line)
    close()
    return tuple(commands)


ELLIPSIS = re.compile(r"\.\.\.|…")
# What differs from run to run stands for any value of its kind: a run id, a digest or
# commit (6 to 64 hex digits, one a digit at least), so examples can show real ones.
VARIES = [
    (re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}"), r"\d{8}-\d{6}-[0-9a-f]{6}"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{6,64}"), r"[0-9a-f]{6,64}"),
]


def line_pattern(line: str) -> re.Pattern[str]:
    pieces = []
    for literal in ELLIPSIS.split(line):
        piece, at = "", 0
        spans = sorted(  # the longest first where two start together: a run id's date
            (m.start(), -m.end(), regex) for kind, regex in VARIES for m in kind.finditer(literal)
        )
        for start, back, regex in spans:
            end = -back
            if start >= at:
                piece += re.escape(literal[at:start]) + regex
                at = end
        pieces.append(piece + re.escape(literal[at:]))
    return re.compile(".*?".join(pieces) + r"\Z")


def matches(shown: tuple[str, ...], actual: list[str]) -> bool:
    """Whether the printed lines are the shown ones, ``...`` standing for what varies."""
    patterns = [None if line.strip() in ("...", "…") else line_pattern(line) for line in shown]

    def fit(p: int, a: int) -> bool:
        if p == len(patterns):
            return a == len(actual)
        pattern = patterns[p]
        if pattern is None:
            return any(fit(p + 1, k) for k in range(a, len(actual) + 1))
        return a < len(actual) and bool(pattern.match(actual[a])) and fit(p + 1, a + 1)

    return fit(0, 0)
