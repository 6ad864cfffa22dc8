"""The ``specmill`` command: a click group whose subcommands load on demand.

Errors are handled once, here (STYLE.md §3): a ``SpecmillError`` prints
``specmill: error: path:line: message`` on stderr and exits 1; Ctrl-C exits 130,
SIGTERM 143 and SIGHUP 129 (after the same cleanup); anything unexpected prints one
line and where the traceback was written.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from specmill import __version__, secret_file
from specmill.errors import SpecmillError
from specmill.termination import Terminated, signals_as_exceptions

# name -> "module:function"; modules are imported only when their command runs.
COMMANDS: dict[str, str] = {
    "init": "specmill.cli.init:init",
    "status": "specmill.cli.status:status",
    "check": "specmill.cli.check:check",
    "lint": "specmill.cli.lint:lint",
    "affected": "specmill.cli.affected:affected",
    "adopt": "specmill.cli.adopt:adopt",
    "graph": "specmill.cli.graph:graph",
    "demo": "specmill.cli.demo:demo",
    "eject": "specmill.cli.eject:eject",
    "mv": "specmill.cli.mv:mv",
    "regen": "specmill.cli.regen:regen",
    "plan": "specmill.cli.plan:plan",
    "verify": "specmill.cli.verify:verify",
    "trace": "specmill.cli.trace:trace",
    "runs": "specmill.cli.runs:runs",
    "bot": "specmill.cli.bot:bot",
    "calibrate": "specmill.cli.calibrate:calibrate",
    "doctor": "specmill.cli.doctor:doctor",
    "monitor": "specmill.cli.monitor:monitor",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


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
    sys.exit(main())
