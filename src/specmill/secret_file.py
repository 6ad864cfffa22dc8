"""Secrets handed over in a file, so that they are in no process's environment.

Removing a variable with ``os.environ.pop`` does not change ``/proc/<pid>/environ``:
that file shows the environment a process *started* with, and any process of the same
user can read it, a check (pull request or model code) included, for the specmill
process and every ancestor. So the action starts specmill with no secret in its
environment: an earlier step writes the token and the model key to a file under
``$RUNNER_TEMP`` (mode 0600, one ``NAME=value`` per line) and passes its path in
``SPECMILL_SECRETS_FILE``. ``receive`` reads it once and deletes it; ``secret`` then
answers from it, falling back to the environment (a local run exports its key).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Mapping, MutableMapping

from specmill.errors import SpecmillError

ENV = "SPECMILL_SECRETS_FILE"
MAX_BYTES = 64 * 1024
_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)")

_handed: dict[str, str] = {}


def parse_secrets(text: str, where: str) -> dict[str, str]:
    """``NAME=value`` lines (blank lines skipped); anything else is an error. Pure."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:  # the line may hold a secret: never quote it
            raise SpecmillError(f"{where}:{number}: expected NAME=value")
        if match[2]:
            found[match[1]] = match[2]
    return found


def receive(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Read and delete the file ``SPECMILL_SECRETS_FILE`` names, if any; keep its secrets
    for ``secret``. Refused: a symlink, anything but a regular file, a file another
    user owns or others may read (then the secret may have leaked already)."""
    global _handed
    _handed = {}
    path = environ.pop(ENV, None)
    if not path:
        return {}
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise SpecmillError(f"{ENV}: cannot open {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SpecmillError(f"{ENV}: {path} is not a regular file")
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise SpecmillError(
                f"{ENV}: {path} must belong to this user and be readable by no one else"
                f" (mode 0600; it is {stat.S_IMODE(info.st_mode):04o})"
            )
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
    if len(data) > MAX_BYTES:
        raise SpecmillError(f"{ENV}: {path} is larger than {MAX_BYTES} bytes")
    _handed = parse_secrets(data.decode("utf-8", "replace"), path)
    return dict(_handed)


def secret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret ``name`` (an environment variable's name): handed over, else exported."""
    return _handed.get(name) or environ.get(name) or None


def with_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the handed secrets added: for code that reads a mapping."""
    return {**environ, **_handed}
