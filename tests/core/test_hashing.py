from hypothesis import given
from hypothesis import strategies as st

from specmill.core.hashing import Inputs, content_hash, inputs_hash


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n")), max_size=20))
def test_crlf_and_lf_hash_alike(lines: list[str]) -> None:
    assert content_hash("\n".join(lines)) == content_hash("\r\n".join(lines))


def test_content_hash_format_and_sensitivity() -> None:
    digest = content_hash("x = 1\n")
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert digest != content_hash("x = 2\n")


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
    assert inputs_hash(make(format_version="2")) != reference


def test_inputs_hash_ignores_newline_style() -> None:
    crlf = make(spec_text="---\r\noutputs: [a.py]\r\n---\r\n", context={"src/db.py": "db"})
    assert inputs_hash(crlf) == inputs_hash(make())
