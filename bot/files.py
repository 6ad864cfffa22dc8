"""Writing files so that an interrupted write never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (surrogates kept as the original bytes) via a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sync_gitattributes(root: Path, outputs: list[str]) -> bool:
    """Refresh the managed ``.gitattributes`` block; True when the file changed."""
    from bot.core.gitattributes import render_gitattributes

    path = root / ".gitattributes"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    updated = render_gitattributes(existing, outputs)
    if updated == existing:
        return False
    write_atomic(path, updated)
    return True
