"""``specmill bot run | generate | report``: the GitHub bot, as GitHub Actions runs it.

The environment Actions sets says which event, repository and API (``GITHUB_*``).
The action hands ``GITHUB_TOKEN`` over in a file (``specmill.secret_file``), so that no
process's environment ever held it; a ``GITHUB_TOKEN`` exported by hand is read once
into a ``SecretStr`` and removed from this process's environment, so no child process
(git, the checks, a model client) inherits it. The token is handed only to the PyGithub
client and, for delivery, to the one git process that pushes; it is never printed,
logged or put in a report.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, cast, get_args

import click
from pydantic import SecretStr

from specmill.core.config import CONFIG_FILE, PYPROJECT_FILE, Config, Delivery
from specmill.core.project import find_root, load_config
from specmill.errors import ConfigError, SpecmillError
from specmill.secret_file import secret, with_secrets

DELIVERIES = list(get_args(Delivery))

config_option = click.option(
    "--config",
    "config_path",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help=f"The {CONFIG_FILE} (or {PYPROJECT_FILE}) to use; its folder is the project root.",
)
delivery_option = click.option(
    "--delivery",
    type=click.Choice(DELIVERIES),
    help="How regenerated code is delivered (default: the config's bot.delivery).",
)

no_wait_option = click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once if another run in this repository holds the lock (default: wait).",
)


@click.group()
def bot() -> None:
    """The GitHub bot: run inside GitHub Actions (see action.yml).

    `run` handles the event end to end; `generate` (untrusted phase: no token, writes
    a result bundle) and `report` (trusted phase: posts a bundle, runs no PR code)
    split it in two for fork pull requests and for the matrix workflow.
    """


@bot.command("run")
@config_option
@delivery_option
@no_wait_option
@click.pass_context
def run_command(
    ctx: click.Context, config_path: str | None, delivery: str | None, no_wait: bool
) -> None:
    """Handle the event Actions delivered: check, regenerate, review, deliver."""
    from specmill.github import app

    settings = _settings(token_required=True)
    config, root = _config(config_path, delivery)
    work = _work(root, settings, github=lambda: _client(settings))
    with _locked(root, "specmill bot run", wait=not no_wait):
        code = app.run(
            settings,
            config.bot,
            work,
            has_model_key=has_model_key(config),
            github=_client,
            known_modules=work.known_modules,
            out=sys.stdout,
        )
    ctx.exit(code)


@bot.command()
@click.option("--bundle", "bundle_path", required=True, type=click.Path(), metavar="DIR",
              help="Where to write the result bundle (a directory, or a *.json file).")  # fmt: skip
@config_option
@delivery_option
@click.option("--module", "modules", multiple=True, metavar="ID",
              help="Only this module (repeatable): a matrix job's share.")  # fmt: skip
@no_wait_option
@click.pass_context
def generate(
    ctx: click.Context,
    bundle_path: str,
    config_path: str | None,
    delivery: str | None,
    modules: tuple[str, ...],
    no_wait: bool,
) -> None:
    """Untrusted phase: check and regenerate without a GitHub token, write a bundle."""
    from specmill.github import twophase

    if delivery not in (None, "patch"):
        raise click.UsageError(
            "generate has no write token: its code travels as a patch in the bundle "
            "(use --delivery patch, or leave it out)"
        )
    settings = _settings(token_required=False)
    config, root = _config(config_path, "patch")
    work = _work(root, settings, bundled=True)
    with _locked(root, "specmill bot generate", wait=not no_wait):
        code = twophase.generate(
            settings,
            config.bot,
            work,
            has_model_key=has_model_key(config),
            bundle_path=bundle_path,
            modules=modules,
            out=sys.stdout,
        )
    ctx.exit(code)


@bot.command()
@click.option("--bundle", "bundle_path", required=True, type=click.Path(), metavar="DIR",
              help="The bundle (or a directory of bundles, one per matrix job).")  # fmt: skip
@click.option("--matrix", metavar="JSON",
              help="The output of `specmill affected --matrix`: a job without a bundle makes "
              "its modules 'not reported'.")  # fmt: skip
@config_option
@delivery_option
@click.pass_context
def report(
    ctx: click.Context,
    bundle_path: str,
    matrix: str | None,
    config_path: str | None,
    delivery: str | None,
) -> None:
    """Trusted phase: validate the bundle(s) against the event, post one review.

    In the matrix's final job, run from a checkout of the pull request's head, the
    bundles' patches are committed and pushed as one commit (delivery commit).
    """
    from specmill.github import twophase

    settings = _settings(token_required=True)
    checkout = _report_checkout(config_path)
    config, _ = _config(config_path, delivery, checkout=checkout is not None)
    code = twophase.report(
        settings,
        config.bot,
        bundle_path=bundle_path,
        matrix=matrix,
        checkout=checkout,
        patch_dir=Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()),
        github=_client,
        out=sys.stdout,
    )
    ctx.exit(code)


def _report_checkout(config_path: str | None) -> Path | None:
    """The project root when the report job checked out the head, else None (no checkout)."""
    if config_path is not None:
        path = Path(config_path).resolve()
        return path.parent if path.is_file() else None
    here = Path.cwd()
    return here if (here / ".git").exists() else None


def _locked(
    root: Path | None, command: str, *, wait: bool
) -> contextlib.AbstractContextManager[Any]:
    """The repository's run lock (``engine.lock``); no project, no checkout to guard."""
    if root is None:
        return contextlib.nullcontext()
    from specmill.engine.lock import git_dir_of, repository_lock

    return repository_lock(git_dir_of(root), command, wait=wait)


def _settings(*, token_required: bool) -> Any:
    from specmill.github.client import GitHubSettings

    # the token comes in the action's secrets file (specmill.secret_file), or exported
    settings = GitHubSettings.from_env(with_secrets(os.environ), token_required=token_required)
    os.environ.pop("GITHUB_TOKEN", None)  # from here on, only `settings` holds it
    if not token_required:  # generate: a token that was passed anyway goes unused
        settings = settings.model_copy(update={"token": SecretStr("")})
    return settings


def _client(settings: Any) -> Any:
    from specmill.github import app

    return app.default_client(settings)


def _config(
    config_path: str | None, delivery: str | None, *, checkout: bool = True
) -> tuple[Config, Path | None]:
    """The configuration and the project root; defaults when there is no config file.

    The report job has no checkout (``checkout=False``): a missing file is expected
    there. Elsewhere the project is needed later, and loading it says what is missing.
    """
    root: Path | None
    if config_path is not None:
        path = Path(config_path).resolve()
        if path.name not in (CONFIG_FILE, PYPROJECT_FILE):
            raise SpecmillError(
                f"--config {config_path}: the file must be named {CONFIG_FILE} or "
                f"{PYPROJECT_FILE} (its folder is the project root)"
            )
        root = path.parent
        if not path.is_file():
            if checkout:
                raise ConfigError(f"{config_path} does not exist", hint="check --config")
            click.echo(f"specmill: no {config_path} here: default bot settings", err=True)
            return _with_delivery(Config(), delivery), None
    elif not checkout:  # nothing to find, and nothing found above the workspace is ours
        return _with_delivery(Config(), delivery), None
    else:
        try:
            root = find_root()
        except ConfigError:
            return _with_delivery(Config(), delivery), None
    config, _ = load_config(root)
    return _with_delivery(config, delivery), root


def _with_delivery(config: Config, delivery: str | None) -> Config:
    if delivery is None:
        return config
    chosen = cast(Delivery, delivery)  # one of DELIVERIES: click's Choice allows no other
    return replace(config, bot=replace(config.bot, delivery=chosen))


def has_model_key(config: Config) -> bool:
    """Whether every model key the config names is set (the scripted backend needs none)."""
    if config.models.backend == "scripted":
        return True
    names = config.models.key_variables()
    missing = sorted(name for name in names if not secret(name))
    if missing and len(missing) < len(names):
        click.echo(f"specmill: {', '.join(missing)} not set: checks only", err=True)
    return not missing


def _work(root: Path | None, settings: Any, *, bundled: bool = False, github: Any = None) -> Any:
    from specmill.github.work import CheckoutWork

    patch_dir = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    return CheckoutWork(
        root,
        settings.token,
        settings.server_url,
        patch_dir,
        bundled=bundled,
        github=github,
        out=sys.stdout,
    )
