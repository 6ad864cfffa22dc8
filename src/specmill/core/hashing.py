"""The two hashes of the generated-file header (DESIGN.md).

- ``content``: the file's text outside the header, line endings normalised to ``\\n``,
  so a CRLF checkout (core.autocrlf) is not a hand edit.
- ``inputs``: everything a module is generated from, so that a changed input (not a
  path diff alone) makes a module stale, as a build system's action key does.

Headers carry sha256 digests truncated to 128 bits (``sha256:`` and 32 hex digits),
plenty for change detection and short enough for a header line of at most 79
characters. Headers written before (format 1) carry all 64 digits; they still match.

Stdlib only: the pre-commit hooks import this.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from types import MappingProxyType

TYPE_CHECKING = False  # the hooks import this module: no `typing` for its constant
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import NamedTuple, Protocol

    class Hash(Protocol):
        def hexdigest(self) -> str: ...

    Sha256 = Callable[[bytes], Hash]

PREFIX = "sha256:"
SHORT_HEX = 32  # 128 bits
LEGACY_FORMAT = "1"  # full 64-digit digests, the spec's whole text as its input


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode(text: str) -> bytes:
    # surrogateescape: files read as UTF-8 with undecodable bytes hash as those bytes;
    # surrogatepass: any other lone surrogate still hashes instead of failing.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


_OPENSSL: list[Sha256] = []  # hashlib's sha256, once imported


def openssl_sha256() -> Sha256:
    """hashlib's sha256, OpenSSL's: the fast one on bulk (check hashes every output),
    imported on first use, as loading libcrypto costs a process ~5 ms."""
    if not _OPENSSL:
        import hashlib

        _OPENSSL.append(hashlib.sha256)
    return _OPENSSL[0]


def builtin_sha256() -> Sha256:
    """CPython's own sha256: the same digests, free to load but ~5x slower than
    OpenSSL's on bulk; for a process that hashes little (the hand-edit hook)."""
    try:
        found: Sha256 = __import__("_sha2" if sys.version_info >= (3, 12) else "_sha256").sha256
    except (ImportError, AttributeError):  # a build without it
        return openssl_sha256()
    return found


def sha256_text(text: str, sha256: Sha256 | None = None) -> str:
    """``sha256:<hex>`` of ``text`` with normalised line endings (``sha256``: which
    implementation hashes; OpenSSL's unless told)."""
    data = encode(normalize_newlines(text))
    return PREFIX + (sha256 or openssl_sha256())(data).hexdigest()


def short(digest: str) -> str:
    """``sha256:<64 hex>`` cut to 128 bits, as headers carry it."""
    return digest[: len(PREFIX) + SHORT_HEX]


def is_legacy(digest: str) -> bool:
    """Whether a header's digest is in the old, full-length form."""
    return len(digest) == len(PREFIX) + 64


def content_hash(text_outside_header: str) -> str:
    """The ``content`` digest a header gets for this text."""
    return short(sha256_text(text_outside_header))


def content_matches(recorded: str, text_outside_header: str, sha256: Sha256 | None = None) -> bool:
    """Whether a header's ``content`` (short or legacy full-length) matches the text."""
    full = sha256_text(text_outside_header, sha256)
    return recorded == full if is_legacy(recorded) else recorded == short(full)


_NONE: Mapping[str, str] = MappingProxyType({})


if TYPE_CHECKING:

    class Inputs(NamedTuple):
        """What one module is generated from. Texts are hashed with normalised newlines."""

        spec_path: str
        spec_text: str
        dependency_specs: Mapping[str, str] = _NONE  # module id -> spec text
        context: Mapping[str, str] = _NONE  # path -> file text
        governance: Mapping[str, str] = _NONE  # path -> file text
        templates_digest: str = ""  # from specmill.core.templates_digest
        models_digest: str = ""  # Config.models_digest()
        format_version: str = "2"
        # template name -> where it comes from and its digest; only for ``input_digests``
        # (``templates_digest`` already covers them in the hash)
        template_sources: Mapping[str, tuple[str, str]] = MappingProxyType({})

else:
    # The same class at run time, from collections, as in specmill.core.header:
    # typing.NamedTuple (and importing typing) costs each hook run a few milliseconds.
    Inputs = namedtuple(
        "Inputs",
        "spec_path spec_text dependency_specs context governance templates_digest"
        " models_digest format_version template_sources",
        defaults=(_NONE, _NONE, _NONE, "", "", "2", MappingProxyType({})),
    )


def inputs_hash(inputs: Inputs) -> str:
    """A stable digest of ``inputs``: same on every machine, checkout and newline style."""
    return inputs_hash_of_digests(
        spec_path=inputs.spec_path,
        spec_digest=sha256_text(inputs.spec_text),
        dependency_specs={k: sha256_text(v) for k, v in inputs.dependency_specs.items()},
        context={k: sha256_text(v) for k, v in inputs.context.items()},
        governance={k: sha256_text(v) for k, v in inputs.governance.items()},
        templates_digest=inputs.templates_digest,
        models_digest=inputs.models_digest,
        format_version=inputs.format_version,
    )


def inputs_hash_of_digests(
    *,
    spec_path: str,
    spec_digest: str,
    dependency_specs: Mapping[str, str],
    context: Mapping[str, str],
    governance: Mapping[str, str],
    templates_digest: str,
    models_digest: str,
    format_version: str,
) -> str:
    """``inputs_hash`` from the ``sha256_text`` digests of the texts (module id or path
    -> digest), so that a spec's digest is computed once, or kept in a cache."""
    hasher = InputsHasher(governance, templates_digest, models_digest, format_version)
    return hasher.hash(spec_path, spec_digest, dependency_specs, context)


class InputsHasher:
    """``inputs_hash_of_digests`` for many modules of one project: the inputs they all
    share (governance, templates, models, format) are encoded once."""

    def __init__(
        self,
        governance: Mapping[str, str],
        templates_digest: str,
        models_digest: str,
        format_version: str,
    ) -> None:
        self.legacy = format_version == LEGACY_FORMAT
        self.sha256 = openssl_sha256()
        self.head = _field("format", format_version)
        self.tail = b"".join(
            [
                _fields("governance", governance),
                _field("templates", templates_digest),
                _field("models", models_digest),
            ]
        )

    def hash(
        self,
        spec_path: str,
        spec_digest: str,
        dependency_specs: Mapping[str, str],
        context: Mapping[str, str],
    ) -> str:
        if spec_path.isascii() and spec_digest.isascii():  # _field's bytes, in one step
            spec = f"4:spec{len(spec_path)}:{spec_path}9:spec-text{len(spec_digest)}:{spec_digest}"
            encoded = spec.encode()
        else:
            encoded = _field("spec", spec_path) + _field("spec-text", spec_digest)
        data = b"".join(
            [
                self.head,
                encoded,
                _fields("depends_on", dependency_specs) if dependency_specs else _NO_DEPENDENCIES,
                _fields("context", context) if context else _NO_CONTEXT,
                self.tail,
            ]
        )
        digest = self.sha256(data).hexdigest()
        return PREFIX + (digest if self.legacy else digest[:SHORT_HEX])  # short(), inline


def _field(name: str, value: str) -> bytes:
    # length-prefixed, so no value can imitate a field boundary
    if name.isascii() and value.isascii():  # most are: one step, same bytes
        return f"{len(name)}:{name}{len(value)}:{value}".encode()
    key, data = encode(name), encode(value)
    return b"%d:%s%d:%s" % (len(key), key, len(data), data)


def _fields(label: str, digests: Mapping[str, str]) -> bytes:
    return _field(label, str(len(digests))) + b"".join(
        _field(key, digests[key]) for key in sorted(digests)
    )


_NO_DEPENDENCIES = _fields("depends_on", {})
_NO_CONTEXT = _fields("context", {})


DIGEST_HEX = 16  # per input in a run record: enough to tell which one changed


def input_digests(inputs: Inputs) -> dict[str, str]:
    """One short digest per input, recorded at generation time so that a stale module's
    message can name the input that changed (``changed_inputs``)."""

    def of(text: str) -> str:
        return sha256_text(text)[len(PREFIX) :][:DIGEST_HEX]

    digests = {"format": inputs.format_version, f"spec:{inputs.spec_path}": of(inputs.spec_text)}
    for label, texts in (
        ("depends_on", inputs.dependency_specs),
        ("context", inputs.context),
        ("governance", inputs.governance),
    ):
        digests.update({f"{label}:{key}": of(text) for key, text in texts.items()})
    for name, (source, text_digest) in inputs.template_sources.items():
        digests[f"template:{name}:{source}"] = text_digest[:DIGEST_HEX]
    digests["models"] = inputs.models_digest[:DIGEST_HEX]
    if not inputs.template_sources:
        digests["templates"] = inputs.templates_digest[:DIGEST_HEX]
    return digests


def changed_inputs(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Keys of ``input_digests`` that differ (added, removed or changed), sorted."""
    return sorted(key for key in {*recorded, *current} if recorded.get(key) != current.get(key))


def digest_of(texts: Mapping[str, str]) -> str:
    """One digest over named texts (e.g. the prompt templates)."""
    import json  # here, not at the top: the hooks import this module and start faster

    sha256 = openssl_sha256()
    canonical = json.dumps(
        {key: sha256_text(texts[key]) for key in sorted(texts)}, separators=(",", ":")
    )
    return sha256(canonical.encode()).hexdigest()
