"""Writing files so that an interrupted write never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from specmill.errors import SpecmillError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once, at import: os.umask() is process-wide, not thread-safe


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (surrogates kept as the original bytes) via a rename.

    An existing file keeps its mode; a new one gets the usual ``0o666 & ~umask``
    (mkstemp alone would leave it ``0o600``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sync_gitattributes(root: Path, outputs: list[str]) -> bool:
    """Refresh the managed ``.gitattributes`` block; True when the file changed."""
    from specmill.core.gitattributes import render_gitattributes

    path = root / ".gitattributes"
    if path.is_symlink():  # its target (~/.aws/credentials, …) would be copied into the commit
        raise SpecmillError(
            ".gitattributes is a symbolic link: specmill does not read or write through it",
            hint="replace it with a regular file",
        )
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            existing = f.read()  # other bytes and CRLF line ends are kept as they are
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise SpecmillError(f"cannot read .gitattributes: {exc.strerror or exc}") from None
    updated = render_gitattributes(existing, outputs)
    if updated == existing:
        return False
    write_atomic(path, updated)
    return True
