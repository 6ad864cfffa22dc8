from hypothesis import given
from hypothesis import strategies as st

from specmill.core import hashing
from specmill.core.hashing import (
    Inputs,
    builtin_sha256,
    changed_inputs,
    content_hash,
    content_matches,
    input_digests,
    inputs_hash,
    sha256_text,
)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n")), max_size=20))
def test_crlf_and_lf_hash_alike(lines: list[str]) -> None:
    assert content_hash("\n".join(lines)) == content_hash("\r\n".join(lines))


def test_content_hash_format_and_sensitivity() -> None:
    digest = content_hash("x = 1\n")
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 32  # 128 bits
    assert digest != content_hash("x = 2\n")


def test_content_matches_short_and_legacy_full_digests() -> None:
    full = sha256_text("x = 1\n")
    assert content_matches(content_hash("x = 1\n"), "x = 1\n")
    assert content_matches(full, "x = 1\r\n")  # a format-1 header's 64 digits
    assert not content_matches(full, "x = 2\n")
    assert not content_matches(full[:20], "x = 1\n")  # neither length: no match


@given(st.text())
def test_the_builtin_sha256_the_hook_uses_gives_the_same_digests(text: str) -> None:
    digest = sha256_text(text)
    assert sha256_text(text, builtin_sha256()) == digest
    assert content_matches(content_hash(text), text, builtin_sha256())
    assert content_matches(digest, text.replace("\n", "\r\n"), builtin_sha256())
    assert not content_matches(digest, text + "x", builtin_sha256())


def test_non_utf8_text_hashes_stably() -> None:
    text = b"caf\xe9\n".decode("utf-8", "surrogateescape")
    assert content_hash(text) == content_hash(text)


def make(**changes: object) -> Inputs:
    base: dict[str, object] = {
        "spec_path": "specs/a.md",
        "spec_text": "---\noutputs: [a.py]\n---\n",
        "dependency_specs": {"b": "spec b"},
        "context": {"src/db.py": "db"},
        "governance": {"STYLE.md": "style"},
        "templates_digest": "t1",
        "models_digest": "m1",
    }
    base.update(changes)
    return Inputs(**base)  # type: ignore[arg-type]


def test_inputs_hash_changes_with_every_input() -> None:
    reference = inputs_hash(make())
    assert inputs_hash(make()) == reference
    assert inputs_hash(make(spec_text="---\noutputs: [a.py]\n---\nmore\n")) != reference
    assert inputs_hash(make(dependency_specs={"b": "changed"})) != reference
    assert inputs_hash(make(context={"src/db.py": "changed"})) != reference
    assert inputs_hash(make(governance={})) != reference
    assert inputs_hash(make(templates_digest="t2")) != reference
    assert inputs_hash(make(models_digest="m2")) != reference
    assert inputs_hash(make(format_version="3")) != reference


def test_inputs_hash_ignores_newline_style() -> None:
    crlf = make(spec_text="---\r\noutputs: [a.py]\r\n---\r\n", context={"src/db.py": "db"})
    assert inputs_hash(crlf) == inputs_hash(make())


def test_inputs_hash_is_short_and_legacy_format_keeps_its_full_length() -> None:
    assert len(inputs_hash(make())) == len("sha256:") + 32
    assert len(inputs_hash(make(format_version="1"))) == len("sha256:") + 64


def test_input_digests_name_the_input_that_changed() -> None:
    before = input_digests(make())
    assert changed_inputs(before, input_digests(make())) == []
    assert changed_inputs(before, input_digests(make(dependency_specs={"b": "x"}))) == [
        "depends_on:b"
    ]
    assert changed_inputs(before, input_digests(make(governance={}))) == ["governance:STYLE.md"]
    assert changed_inputs(before, input_digests(make(models_digest="m2"))) == ["models"]


def test_inputs_hashes_are_the_ones_headers_already_carry() -> None:
    """Digests fixed once: a faster way to encode the inputs must give the same bytes,
    or every generated file in every repository would turn stale."""
    hasher = hashing.InputsHasher({"docs/STYLE.md": "sha256:" + "1" * 64}, "abc", "def", "2")
    assert hasher.hash("specs/a.md", "sha256:" + "2" * 64, {}, {}) == (
        "sha256:ffe1c7b16aac561c6af0f0e5280ec1d5"
    )
    assert hasher.hash(
        "specs/é 文.md",
        "sha256:" + "3" * 64,
        {"dep.x": "sha256:" + "4" * 64},
        {"ctx/ü.md": "sha256:" + "5" * 64},
    ) == ("sha256:48c5bd454363bd3b4f4ffe05d912dc1f")
    assert hasher.hash("specs/a\udcff.md", "sha256:" + "2" * 64, {}, {}) == (
        "sha256:b485557bceda936320102846c92f8811"
    )
    legacy = hashing.InputsHasher({}, "abc", "def", "1")
    assert legacy.hash("specs/a.md", "sha256:" + "2" * 64, {}, {}) == (
        "sha256:d1a443e4d66f7542037d6bdb29e1564d11d5bfed3c5ac2cba015295502f91693"
    )
