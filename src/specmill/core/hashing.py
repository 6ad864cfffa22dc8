"""The two hashes of the generated-file header (DESIGN.md).

- ``content``: the file's text outside the header, line endings normalised to ``\\n``,
  so a CRLF checkout (core.autocrlf) is not a hand edit.
- ``inputs``: everything a module is generated from, so that a changed input (not a
  path diff alone) makes a module stale, as a build system's action key does.

Stdlib only: the pre-commit hooks import this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

PREFIX = "sha256:"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode(text: str) -> bytes:
    # surrogateescape: files read as UTF-8 with undecodable bytes hash as those bytes;
    # surrogatepass: any other lone surrogate still hashes instead of failing.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def sha256_text(text: str) -> str:
    """``sha256:<hex>`` of ``text`` with normalised line endings."""
    return PREFIX + hashlib.sha256(encode(normalize_newlines(text))).hexdigest()


def content_hash(text_outside_header: str) -> str:
    return sha256_text(text_outside_header)


_NONE: Mapping[str, str] = MappingProxyType({})


class Inputs(NamedTuple):
    """What one module is generated from. Texts are hashed with normalised newlines."""

    spec_path: str
    spec_text: str
    dependency_specs: Mapping[str, str] = _NONE  # module id -> spec text
    context: Mapping[str, str] = _NONE  # path -> file text
    governance: Mapping[str, str] = _NONE  # path -> file text
    templates_digest: str = ""  # from specmill.core.templates_digest
    models_digest: str = ""  # Config.models_digest()
    format_version: str = "1"


def inputs_hash(inputs: Inputs) -> str:
    """A stable digest of ``inputs``: same on every machine, checkout and newline style."""
    digest = hashlib.sha256()

    def field(name: str, value: str) -> None:
        # length-prefixed, so no value can imitate a field boundary
        for part in (name, value):
            data = encode(part)
            digest.update(b"%d:" % len(data))
            digest.update(data)

    field("format", inputs.format_version)
    field("spec", inputs.spec_path)
    field("spec-text", sha256_text(inputs.spec_text))
    for label, texts in (
        ("depends_on", inputs.dependency_specs),
        ("context", inputs.context),
        ("governance", inputs.governance),
    ):
        field(label, str(len(texts)))
        for key in sorted(texts):
            field(key, sha256_text(texts[key]))
    field("templates", inputs.templates_digest)
    field("models", inputs.models_digest)
    return PREFIX + digest.hexdigest()


def digest_of(texts: Mapping[str, str]) -> str:
    """One digest over named texts (e.g. the prompt templates)."""
    import json  # here, not at the top: the hooks import this module and start faster

    canonical = json.dumps(
        {key: sha256_text(texts[key]) for key in sorted(texts)}, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
