"""The two hashes of the generated-file header (DESIGN.md).

- ``content``: the file's text outside the header, line endings normalised to ``\\n``,
  so a CRLF checkout (core.autocrlf) is not a hand edit.
- ``inputs``: everything a module is generated from, so that a changed input (not a
  path diff alone) makes a module stale, as a build system's action key does.

Stdlib only: the pre-commit hooks import this.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "sha256:"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode(text: str) -> bytes:
    # surrogateescape: files that are not UTF-8 hash stably instead of failing.
    return text.encode("utf-8", "surrogateescape")


def sha256_text(text: str) -> str:
    """``sha256:<hex>`` of ``text`` with normalised line endings."""
    return PREFIX + hashlib.sha256(encode(normalize_newlines(text))).hexdigest()


def content_hash(text_outside_header: str) -> str:
    return sha256_text(text_outside_header)


@dataclass(frozen=True)
class Inputs:
    """What one module is generated from. Texts are hashed with normalised newlines."""

    spec_path: str
    spec_text: str
    dependency_specs: Mapping[str, str] = field(default_factory=dict)  # module id -> spec text
    context: Mapping[str, str] = field(default_factory=dict)  # path -> file text
    governance: Mapping[str, str] = field(default_factory=dict)  # path -> file text
    templates_digest: str = ""  # from bot.core.templates_digest
    models_digest: str = ""  # Config.models_digest()
    format_version: str = "1"


def inputs_hash(inputs: Inputs) -> str:
    """A stable digest of ``inputs``: same on every machine, checkout and newline style."""

    def digests(texts: Mapping[str, str]) -> dict[str, str]:
        return {key: sha256_text(texts[key]) for key in sorted(texts)}

    document = {
        "format": inputs.format_version,
        "spec": [inputs.spec_path, sha256_text(inputs.spec_text)],
        "depends_on": digests(inputs.dependency_specs),
        "context": digests(inputs.context),
        "governance": digests(inputs.governance),
        "templates": inputs.templates_digest,
        "models": inputs.models_digest,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def digest_of(texts: Mapping[str, str]) -> str:
    """One digest over named texts (e.g. the prompt templates)."""
    canonical = json.dumps(
        {key: sha256_text(texts[key]) for key in sorted(texts)}, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
