"""`specmill --help` lists every command without importing one, and says what each says.

The lazy group keeps each command's summary (its help's first paragraph) next to where
it lives; these tests keep that list equal to the real commands, so they cannot drift.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import click
import pytest

import specmill.cli
from specmill.cli.main import COMMANDS, LazyGroup, cli, summary_command

COMMAND_MODULES = sorted(
    name
    for _, name, _ in pkgutil.iter_modules(specmill.cli.__path__)
    if name not in {"common", "main", "quick"}
)


def real_command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


def test_every_command_module_is_listed_under_its_own_name() -> None:
    assert sorted(COMMANDS) == COMMAND_MODULES
    for name in COMMANDS:
        command = real_command(name)
        assert command.name == name
        assert COMMANDS[name].target == f"specmill.cli.{name}:{name}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_command_help(name: str) -> None:
    command = real_command(name)
    assert command.help is not None
    assert COMMANDS[name].summary == " ".join(command.help.partition("\n\n")[0].split())
    assert (command.short_help, command.hidden, command.deprecated) == (None, False, False)
    for limit in range(1, 160):
        expected = command.get_short_help_str(limit)
        assert summary_command(name).get_short_help_str(limit) == expected


class EagerGroup(LazyGroup):
    """click's own Commands section, from the imported commands."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Group.format_commands(self, ctx, formatter)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_help_lists_commands_as_click_would_from_the_real_commands(width: int) -> None:
    eager = EagerGroup(name=cli.name, help=cli.help)

    def commands(group: click.Group) -> str:
        context = click.Context(group, info_name="specmill", terminal_width=width)
        return group.get_help(context).partition("Commands:")[2]

    assert commands(cli) == commands(eager)
    assert all(f"  {name} " in commands(cli) for name in COMMANDS)


PROBE = """\
import json, sys
from specmill.cli.main import main
code = main(["--help"])
print(json.dumps([code, sorted(sys.modules)]))
"""


def test_help_imports_no_command() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    *help_lines, last = done.stdout.splitlines()
    code, modules = json.loads(last)
    assert code == 0
    assert [m for m in modules if m.startswith("specmill.cli.") and m != "specmill.cli.main"] == []
    for name, entry in COMMANDS.items():
        assert any(line.startswith(f"  {name} ") for line in help_lines), name
        assert entry.summary.split()[0] in "\n".join(help_lines)
