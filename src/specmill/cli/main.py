"""The ``specmill`` command: a click group whose subcommands load on demand.

Errors are handled once, here (STYLE.md §3): a ``SpecmillError`` prints
``specmill: error: path:line: message`` on stderr and exits 1; Ctrl-C exits 130,
SIGTERM 143 and SIGHUP 129 (after the same cleanup); anything unexpected prints one
line and where the traceback was written.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from gettext import gettext as _
from pathlib import Path

import click

from specmill import __version__, secret_file
from specmill.errors import SpecmillError
from specmill.termination import Terminated, signals_as_exceptions


class Entry:
    """Where a command lives ("module:function") and its help's first paragraph."""

    __slots__ = ("summary", "target")

    def __init__(self, target: str, summary: str) -> None:
        self.target, self.summary = target, summary


# Modules are imported only when their command runs; `specmill --help` lists every
# command from the summaries here (tests/cli/test_lazy_commands.py keeps them equal
# to the commands' own docstrings).
COMMANDS: dict[str, Entry] = {
    "init": Entry(
        "specmill.cli.init:init",
        "Create specmill.toml, an example spec and a pre-commit config.",
    ),
    "status": Entry(
        "specmill.cli.status:status",
        "Show each module, its spec and the state of its outputs.",
    ),
    "check": Entry(
        "specmill.cli.check:check",
        "Report generated files that are hand-edited, stale, missing or orphaned.",
    ),
    "lint": Entry(
        "specmill.cli.lint:lint",
        "Check specs (front matter, requirement ids, outputs, dependencies), config and"
        " prompt overrides: every error of every file, and what regen would refuse later.",
    ),
    "affected": Entry(
        "specmill.cli.affected:affected",
        "List the modules to regenerate (stale by inputs hash, then their dependents).",
    ),
    "adopt": Entry(
        "specmill.cli.adopt:adopt",
        "Stamp existing files with a header for the spec that declares them.",
    ),
    "graph": Entry(
        "specmill.cli.graph:graph",
        "Print the depends_on graph as Mermaid (paste into a Markdown file or PR).",
    ),
    "demo": Entry(
        "specmill.cli.demo:demo",
        "Run the whole pipeline on a built-in example repository in a temporary folder.",
    ),
    "eject": Entry(
        "specmill.cli.eject:eject",
        "Take generated files over by hand: remove their header and their spec's entry.",
    ),
    "mv": Entry(
        "specmill.cli.mv:mv",
        "Move the generated file OLD to NEW, and update its spec and .gitattributes.",
    ),
    "regen": Entry(
        "specmill.cli.regen:regen",
        "Regenerate MODULEs (default: every stale module) and their stale dependents.",
    ),
    "plan": Entry(
        "specmill.cli.plan:plan",
        "Show the plan the planner makes for MODULE (files, API, steps, ambiguities).",
    ),
    "verify": Entry(
        "specmill.cli.verify:verify",
        "Run the checks and every verifier on MODULE's current outputs; regenerate nothing.",
    ),
    "trace": Entry(
        "specmill.cli.trace:trace",
        "Trace a generated file (or one of its lines) to its spec, requirement and plan step.",
    ),
    "runs": Entry(
        "specmill.cli.runs:runs",
        "List run records (newest first), or show RUN_ID: calls, tokens, cost, verdicts.",
    ),
    "bot": Entry(
        "specmill.cli.bot:bot",
        "The GitHub bot: run inside GitHub Actions (see action.yml).",
    ),
    "calibrate": Entry(
        "specmill.cli.calibrate:calibrate",
        "Measure the verifiers on seeded defects of fresh MODULEs (default: every fresh one).",
    ),
    "doctor": Entry(
        "specmill.cli.doctor:doctor",
        "Check each model role: key, endpoint, model, context window, structured output,"
        " streaming, latency, price.",
    ),
    "monitor": Entry(
        "specmill.cli.monitor:monitor",
        "Build the pipeline monitor: runs, modules, verifiers and models over time.",
    ),
}


class LazyGroup(click.Group):
    """click's "lazily loading subcommands": a command's module loads when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry.target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The Commands section of --help, as click writes it, without importing any."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, summary_command(name).get_short_help_str(limit)) for name in names]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


def summary_command(name: str) -> click.Command:
    """A stand-in for a command in --help: its name and its help's first paragraph."""
    return click.Command(name, help=COMMANDS[name].summary)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="specmill")
def cli() -> None:
    """Specs are the source; generated code is compiler output.

    Fix the spec, not the code: specmill regenerates modules from Markdown specs,
    verifies them, and keeps generated files honest.
    """


def log_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "specmill" / "specmill.log"


def _write_traceback() -> Path:
    import tempfile
    import traceback

    text = traceback.format_exc()
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        handle, name = tempfile.mkstemp(prefix="specmill-", suffix=".log")
        os.write(handle, text.encode())
        os.close(handle)
        path = Path(name)
    return path


def report_error(error: SpecmillError) -> None:
    click.secho(f"specmill: error: {error}", fg="red", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    from specmill.workflow_commands import guarded_output

    with guarded_output(), signals_as_exceptions():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    try:
        secret_file.receive()  # first: the file is deleted whatever happens next
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="specmill",
            standalone_mode=False,
        )
    except SpecmillError as error:
        report_error(error)
        return 1
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("specmill: interrupted", err=True)
        return 130
    except Terminated as stop:  # SIGTERM, SIGHUP: a cancelled CI job
        click.echo(f"specmill: terminated by {stop.name}", err=True)
        return stop.exit_code
    except BrokenPipeError:
        return 1
    except OSError as error:  # the file system said no: a clear message, not a bug report
        name = f": {error.filename}" if error.filename else ""
        click.secho(f"specmill: error: {error.strerror or error}{name}", fg="red", err=True)
        return 1
    except Exception as error:
        where = _write_traceback()
        click.secho(
            f"specmill: internal error: {type(error).__name__}: {error}", fg="red", err=True
        )
        click.echo(f"the full traceback was written to {where}; please report it", err=True)
        return 1
    return code if isinstance(code, int) else 0


def run() -> None:
    """The console script's entry point (``specmill.cli.quick.run``, which tries the
    records for ``affected --base`` first)."""
    from specmill.cli.quick import run as quick_run

    quick_run()
