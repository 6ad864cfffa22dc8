"""Whether a process still runs: for the run lock and the worktrees a dead run left."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` runs (this process too); one of another user's counts as alive."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
