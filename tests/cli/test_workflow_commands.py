"""Issue 11, item 2: no line of specmill's output opens a workflow command it did not
compose. The runner obeys ``::cmd::`` at the start of any line (after whitespace) on
stdout and stderr, and the legacy ``##[cmd]`` anywhere in a line."""

from __future__ import annotations

import io
import re

import pytest

from specmill.core.config import parse_config
from specmill.errors import ConfigError
from specmill.workflow_commands import CommandGuard, emit_command


def obeyed(output: str) -> list[str]:
    """The lines GitHub's runner would take as commands (its reader splits at \\r too)."""
    lines = re.split(r"\r\n|\r|\n", output)
    return [line for line in lines if line.lstrip().startswith("::") or "##[" in line]


def through_guard(*writes: str) -> str:
    out = io.StringIO()
    guard = CommandGuard(out)  # type: ignore[arg-type]
    for text in writes:
        guard.write(text)
    guard.finish()
    return out.getvalue()


@pytest.mark.parametrize(
    "writes",
    [
        ("::add-mask::ghp_x\n",),
        ("ok\n::set-output name=verdict::success\n",),
        ("ok\r::set-output name=verdict::success\n",),
        ("   \t::error::forged\n",),
        (":", ":stop-commands::tok\n"),
        ("  ", ":", ":", "error::x\n"),
        ("text ##", "[set-output name=verdict;]success\n"),
        ("#", "#", "[add-mask]x\n"),
        ("a line\n", "::endgroup::"),  # no final newline: written when the output ends
    ],
)
def test_the_guard_lets_no_command_through_however_it_is_written(writes: tuple[str, ...]) -> None:
    shown = through_guard(*writes)
    assert obeyed(shown) == []
    # nothing is lost: the text is all there, marked
    assert shown.replace("\\", "") == "".join(writes)


def test_commands_specmill_composes_pass_and_sit_on_lines_of_their_own() -> None:
    out = io.StringIO()
    guard = CommandGuard(out)  # type: ignore[arg-type]
    guard.write("half a line")
    emit_command(guard, "::error file=src/a.py,line=3::hand-edited")  # type: ignore[arg-type]
    guard.write("::warning::forged\n")
    guard.finish()
    assert obeyed(out.getvalue()) == ["::error file=src/a.py,line=3::hand-edited"]


def test_plain_text_is_unchanged() -> None:
    text = "specmill: regenerating\r\n  src/a.py: fresh\n# heading ## and [brackets]: fine\n"
    assert through_guard(text) == text


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[specmill.bot]\nallowed_associations = ["OWNER\\n::add-mask::x"]', "associations"),
        ('[specmill.bot]\nallowed_associations = ["owner"]', "associations"),
        ('[specmill.models]\napi_key_env = "KEY\\n::error ::x"', "api_key_env"),
        ('[specmill.models]\nverifiers = [{model = "m", api_key_env = "A-B"}]', "api_key_env"),
        ('[specmill]\nsecret_env = ["DB_URL", "X\\r::warning::y"]', "secret_env"),
    ],
)
def test_config_values_that_are_names_must_be_names(table: str, key: str) -> None:
    text = "[specmill]\n" + table if not table.startswith("[specmill]") else table
    with pytest.raises(ConfigError, match=key) as caught:
        parse_config(text + "\n", "specmill.toml")
    assert obeyed(str(caught.value)) == []


def test_every_association_github_sends_is_accepted() -> None:
    names = (
        "COLLABORATOR CONTRIBUTOR FIRST_TIMER FIRST_TIME_CONTRIBUTOR MANNEQUIN MEMBER NONE OWNER"
    )
    quoted = ", ".join(f'"{n}"' for n in names.split())
    config = parse_config(f"[specmill.bot]\nallowed_associations = [{quoted}]\n", "specmill.toml")
    assert config.bot.allowed_associations == names.split()


def test_hooks_print_through_the_same_guard_in_actions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from specmill.hooks import lint, no_hand_edits, stale
    from specmill.workflow_commands import guarded

    for hook in (lint.main, no_hand_edits.main, stale.main):
        assert hook.__wrapped__ is not None  # type: ignore[attr-defined]

    @guarded
    def hook() -> int:
        print("specs/a.md:1: invalid: x\n::set-output name=verdict::success")
        return 1

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert hook() == 1
    assert obeyed(capsys.readouterr().out) == []
    monkeypatch.delenv("GITHUB_ACTIONS")
    hook()
    assert obeyed(capsys.readouterr().out) != []  # outside Actions, text is left as it is
