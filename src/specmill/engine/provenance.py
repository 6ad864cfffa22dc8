"""Provenance, pure: run ids, the commit message with its trailers, and reading them back.

A specmill commit's message ends with git trailers (DESIGN.md, "Provenance"):

    Specmill-Run: 20250101-120000-3f2a1c
    Specmill-Module: billing.invoice sha256:<64 hex>
    Specmill-Models: gpt-4.1, o3

The run record itself goes into a git note under ``refs/notes/specmill``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from specmill.core.records import ModuleResult, RunRecord

NOTES_REF = "refs/notes/specmill"
RUN_TRAILER = "Specmill-Run"
MODULE_TRAILER = "Specmill-Module"
MODELS_TRAILER = "Specmill-Models"
_TRAILER = re.compile(r"^(?P<key>[A-Za-z0-9-]+):\s*(?P<value>.*)$")
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def utc_now() -> str:
    # Milliseconds: a scripted run takes well under a second, and its duration must not read 0.
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def commit_message(record: RunRecord, modules: Sequence[ModuleResult]) -> str:
    names = [m.module for m in modules]
    subject = f"specmill: regenerate {', '.join(names)}"
    if len(subject) > 72:
        subject = f"specmill: regenerate {len(names)} modules"
    body = [
        f"- {m.module} from {m.spec}: {m.attempts} attempt(s), {m.tier or '?'} tier, "
        + ", ".join(f"{v.verifier} {v.verdict}" for v in m.verdicts)
        for m in modules
    ]
    trailers = [f"{RUN_TRAILER}: {record.run_id}"]
    trailers += [f"{MODULE_TRAILER}: {m.module} {m.inputs_hash}" for m in modules]
    trailers.append(f"{MODELS_TRAILER}: {', '.join(record.models) or 'none'}")
    return "\n".join([subject, "", *body, "", *trailers]) + "\n"


@dataclass(frozen=True)
class Trailers:
    run: str | None = None
    modules: dict[str, str] = field(default_factory=dict)  # module -> inputs hash

    @property
    def is_specmill(self) -> bool:
        return self.run is not None


def parse_trailers(message: str) -> Trailers:
    """specmill's trailers from the last paragraph of a commit message."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if not paragraphs:
        return Trailers()
    run, modules = None, {}
    for line in paragraphs[-1].splitlines():
        match = _TRAILER.match(line.strip())
        if not match:
            continue
        key, value = match["key"].lower(), match["value"].strip()
        if key == RUN_TRAILER.lower():
            run = value
        elif key == MODULE_TRAILER.lower():
            module, _, inputs = value.partition(" ")
            modules[module] = inputs.strip()
    return Trailers(run, modules)
