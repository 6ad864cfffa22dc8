"""Security review of the pure core: a malicious repository (specs, config) must give
a clear error, never a traceback or a hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import yaml

from specmill.core.config import parse_config
from specmill.core.spec import parse_spec
from specmill.errors import ConfigError, SpecError


def finishes(code: str, seconds: float = 20) -> str:
    """Run ``code`` in a fresh interpreter; a hang fails the test instead of hanging it."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {seconds} s (catastrophic backtracking?)")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_protected_glob_cannot_backtrack_for_hours() -> None:
    """`protected` comes from the repository's config; globs became backtracking regexes
    (`*a*a*a*…b` against a long name: hours, in every spec parse and every write)."""
    out = finishes(
        """
        from specmill.core.paths import matches
        from specmill.core.spec import parse_spec
        pattern = "*a" * 12 + "*b"
        print(matches("a" * 200, pattern), matches("a" * 200 + "b", pattern))
        spec = "---\\noutputs: [" + "a" * 200 + ".py]\\n---\\n"
        print(parse_spec(spec, "specs/x.md", protected=[pattern]).outputs[0][:3])
        """
    )
    assert out.split() == ["False", "True", "aaa"]


def test_locating_a_config_error_is_linear_in_the_line_length() -> None:
    """find_toml_line ran cubic regexes over every line, multi-line strings included."""
    out = finishes(
        """
        from specmill.core.config import parse_config
        from specmill.errors import ConfigError
        text = "[specmill]\\nbogus = 1\\nx = '''\\n[" + " " * 50_000 + "x\\n" + "a." * 50_000
        try:
            parse_config(text + "b\\n'''\\n", "specmill.toml")
        except ConfigError as exc:
            print(exc)
        """
    )
    assert "unknown key 'bogus'" in out


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[specmill]\nchecks = []\n\n[ specmill . models ]\nplanner = 'x'\nbogus = 1\n", 6),
        ("[specmill]\nchecks = []\nmodels . bogus = 1\n", 3),
        ("[specmill]\n[[specmill.models.verifiers]]\nmodel = 'x'\nbogus = 1\n", 4),
    ],
)
def test_the_line_finder_still_finds_tables_and_dotted_keys(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "specmill.toml")
    assert caught.value.line == line


@pytest.mark.parametrize("output", ["src/a\\0.py", "src/a\\n.py", "src/a\\u200b.py"])
def test_an_output_with_a_control_character_is_a_spec_error(output: str) -> None:
    # A NUL made every later os call raise ValueError: `specmill check` ended in an
    # internal error; a newline split `path:line: kind:` lines in two.
    with pytest.raises(SpecError) as caught:
        parse_spec(f'---\noutputs: ["{output}"]\n---\n', "specs/a.md")
    assert "control or invisible character" in str(caught.value)


def test_a_module_id_cannot_end_in_a_newline() -> None:
    # "$" matches before a final "\n": the id went into headers, trailers and logs.
    with pytest.raises(SpecError):
        parse_spec('---\nid: "billing\\n"\noutputs: [a.py]\n---\n', "specs/a.md")


def test_deep_yaml_is_an_error_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML without its C extension recurses once per nesting level."""
    load = yaml.load
    monkeypatch.setattr(yaml, "load", lambda text, Loader: load(text, Loader=yaml.SafeLoader))
    deep = "---\noutputs: " + "[" * 5_000 + "]" * 5_000 + "\n---\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(deep, "specs/a.md")
    assert "nested too deeply" in str(caught.value)


def test_a_file_name_with_a_newline_cannot_forge_a_report_line() -> None:
    from specmill.core.problems import Problem

    problem = Problem("src/b\n::error title=pwned::forged.py", 1, "orphan", "no spec")
    (line,) = problem.format().splitlines()
    assert line.startswith('"src/b\\n::error title=pwned::forged.py":1: orphan:')


def test_context_and_governance_must_stay_inside_the_repository(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from specmill.core.repo_files import read_input
    from specmill.errors import SpecmillError

    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ctx.py").symlink_to(secret)
    (root / "inside.py").write_text("x = 1\n")
    (root / "alias.py").symlink_to(root / "inside.py")
    with pytest.raises(SpecmillError, match="leads outside the repository"):
        read_input(root, "ctx.py")
    assert read_input(root, "alias.py") == "x = 1\n"
    assert read_input(root, "absent.py") is None
    import os

    os.mkfifo(root / "pipe")
    with pytest.raises(SpecmillError, match="not a regular file"):
        read_input(root, "pipe")
