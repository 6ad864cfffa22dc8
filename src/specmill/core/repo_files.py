"""Reading a repository's files as specmill does: specs, outputs, context, governance,
prompt templates. Light (no configuration model, no spec parser), so that the commands
that run on every commit, and ``affected``'s records, can read them without loading a
project."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from specmill.core import hashing
from specmill.core.paths import first_match
from specmill.core.probe import Probe, probe_text
from specmill.errors import SpecmillError

PROMPTS = "prompts"  # templates/prompts/*.j2 ship with specmill
OVERRIDES = ".specmill/templates"  # a repository's own versions of any template
RUNS = ".specmill/runs"
MAX_FILE_BYTES = 16 * 1024 * 1024  # no spec, context file or output is larger

Reader = Callable[[str], "str | None"]


def read_text(root: Path, relative: str) -> str | None:
    """A file's text (undecodable bytes kept via surrogateescape), or None if absent.

    A file that exists but cannot be read (permissions, a symlink loop) is a
    ``SpecmillError`` naming it, never a traceback.
    """
    try:
        with open(
            os.path.join(root, relative), encoding="utf-8", errors="surrogateescape", newline=""
        ) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise SpecmillError(f"{relative} is not a regular file")
            if st.st_size > MAX_FILE_BYTES:
                raise SpecmillError(
                    f"{relative} is {st.st_size:,} bytes; specmill reads files of at most "
                    f"{MAX_FILE_BYTES:,} bytes"
                )
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise SpecmillError(f"cannot read {relative}: {exc.strerror or exc}") from None


def read_input(root: Path, relative: str, protected: Sequence[str] = ()) -> str | None:
    """A ``context`` or ``governance`` file: its text goes into prompts sent to the model
    endpoint, so it must be a file inside the repository (a symlink to ``~/.ssh`` or
    ``/proc/self/environ`` is refused, not read), and neither it nor what it links to may
    be under ``.git/`` (the config ``actions/checkout`` leaves holds a token) or match a
    ``protected`` pattern (what the write guard refuses is not read either)."""
    path = os.path.join(root, relative)
    if not os.path.lexists(path):
        return None
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise SpecmillError(f"{relative} is not a regular file")  # a FIFO would block
    real, top = os.path.realpath(path), os.path.realpath(root)
    if os.path.commonpath([top, real]) != top:
        raise SpecmillError(
            f"{relative} leads outside the repository (to {real}); context and governance "
            "files must be inside it"
        )
    for name in dict.fromkeys([relative, os.path.relpath(real, top).replace(os.sep, "/")]):
        why = _not_an_input(name, protected)
        if why is not None:
            shown = relative if name == relative else f"{relative} (a link to {name})"
            raise SpecmillError(
                f"{shown} {why}; specmill never sends it to the model as context or governance"
            )
    return read_text(root, relative)


def _not_an_input(path: str, protected: Sequence[str]) -> str | None:
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part.casefold() == ".git" for part in parts):  # .GIT is .git on macOS
        return "is inside .git/"
    pattern = first_match("/".join(parts).lower(), [p.lower() for p in protected])
    return None if pattern is None else f"is a protected path ({pattern})"


def template_texts(root: Path) -> dict[str, tuple[str, str]]:
    """The prompt templates in effect: name -> (where it comes from, its text).

    Shipped ones (``specmill:prompts/NAME``), overridden per repository by
    ``.specmill/templates/prompts/NAME``.
    """
    texts: dict[str, tuple[str, str]] = {}
    for name, text in _shipped_prompts():
        texts[name] = (f"specmill:{PROMPTS}/{name}", text)
    overrides = root / OVERRIDES / PROMPTS
    if overrides.is_dir():
        for item in overrides.iterdir():
            if item.name.endswith(".j2") and item.is_file():
                relative = f"{OVERRIDES}/{PROMPTS}/{item.name}"
                try:
                    texts[item.name] = (relative, item.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError) as exc:
                    reason = "not valid UTF-8" if isinstance(exc, ValueError) else exc.strerror
                    raise SpecmillError(
                        f"cannot read this prompt override: {reason}", path=relative
                    ) from None
    return texts


def _shipped_prompts() -> list[tuple[str, str]]:
    """The prompt templates specmill ships: name and text, in the folder's order.

    Read from the installed package's folder, as ``importlib.resources`` would give
    them (text mode, universal newlines), without loading it and what it imports on
    every command that hashes inputs; through it only when specmill is not installed as
    files (a zip)."""
    folder = os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates", PROMPTS)
    try:
        names = os.listdir(folder)
    except OSError:
        names = None
    if names is None:
        import importlib.resources

        shipped = importlib.resources.files("specmill.templates") / PROMPTS
        if not shipped.is_dir():
            return []
        return [
            (item.name, item.read_text("utf-8"))
            for item in shipped.iterdir()
            if item.name.endswith(".j2")
        ]
    found = []
    for name in names:
        if name.endswith(".j2"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                found.append((name, handle.read()))
    return found


def templates_digest(root: Path) -> str:
    """Digest of the prompt templates in effect: shipped ones, overridden per repository."""
    return hashing.digest_of({name: text for name, (_, text) in template_texts(root).items()})


def regular_file_stat(path: str, relative: str) -> os.stat_result | None:
    """``path``'s stat if it is a regular file; None if absent or not one (a folder, a
    FIFO: reading it would block). A symlink loop is an error naming ``relative``."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # a symlink loop
        raise SpecmillError(f"cannot read {relative}: {exc.strerror or exc}") from None
    return st if stat.S_ISREG(st.st_mode) else None


def probe_file(root: Path, relative: str) -> Probe | None:
    """What a file says about itself (its header, whether its body matches it), read
    now; None when it is not a regular file."""
    if regular_file_stat(os.path.join(root, relative), relative) is None:
        return None
    text = read_text(root, relative)
    return None if text is None else probe_text(text, relative)
