import pytest

from specmill.core.gitattributes import BEGIN, END, render_gitattributes
from specmill.core.paths import matches, normalize_relative


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        (".github/workflows/ci.yml", ".github/**", True),
        ("src/.github/x", ".github/**", False),
        ("specs/a/b.md", "specs/**", True),
        ("specmill.toml", "specmill.toml", True),
        ("src/a.py", "src/*.py", True),
        ("src/a/b.py", "src/*.py", False),
        ("src/a/b.py", "src/**/*.py", True),
        ("src/b.py", "src/**/*.py", True),
        ("docs/x.md", "docs/", True),
    ],
)
def test_glob(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_normalize() -> None:
    assert normalize_relative("./src//a.py") == "src/a.py"
    assert normalize_relative("src\\a.py") == "src/a.py"
    for bad in ("/abs.py", "C:/x.py", "../x.py", "a/../../x", "", "."):
        with pytest.raises(ValueError):
            normalize_relative(bad)


def test_gitattributes_block_is_replaced_not_duplicated() -> None:
    first = render_gitattributes("*.png binary\n", ["b.py", "a b.py"])
    assert first.startswith("*.png binary\n")
    assert '"a b.py" linguist-generated=true' in first
    second = render_gitattributes(first, ["c.py"])
    assert second.count(BEGIN) == 1 and second.count(END) == 1
    assert "c.py linguist-generated=true" in second and "b.py linguist" not in second
    assert second.startswith("*.png binary\n")
