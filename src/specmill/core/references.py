"""How other files may still name a moved file: what ``specmill mv`` looks for. Pure.

A file is named by its path (``lib/humanize.js``), by an import or ``require`` that
leaves out the extension and reaches it from another folder (``../lib/humanize``), and,
for Python, by its dotted module name (``billing.invoice`` for
``src/billing/invoice.py``: a leading ``src/`` is not part of it). A file at the top of
the repository is looked for only in relative imports (``./humanize``,
``../humanize``): its bare name is too common a word. A name counts only where the next
character cannot continue it (``lib/humanize`` is not ``lib/humanizer``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

PYTHON = (".py", ".pyi")
_ERE_SPECIAL = re.compile(r"([.\[\\()*+?{|^$])")
_END = "([^A-Za-z0-9_]|$)"  # what may follow a name (POSIX ERE, as `git grep -E` reads it)


def reference_terms(path: str) -> tuple[list[str], list[str]]:
    """The forms of ``path`` to look for: as a path, and as a dotted module name (a spec's
    ``depends_on`` names modules that way, so specs are not searched for the latter)."""
    pure = PurePosixPath(path)
    bare = pure.with_suffix("").as_posix()
    paths = [path, bare] if "/" in bare else [path, f"./{bare}", f"../{bare}"]
    dotted = []
    if pure.suffix in PYTHON:
        parts = list(pure.with_suffix("").parts)
        if parts and parts[0] == "src":
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1:
            dotted.append(".".join(parts))
    return list(dict.fromkeys(paths)), dotted


def pattern(term: str) -> str:
    """``term`` as a POSIX extended regular expression that ends where the name does."""
    return _ERE_SPECIAL.sub(r"\\\1", term) + _END
