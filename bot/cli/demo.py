"""``specmill demo``: the whole story on a built-in example, in a temporary folder."""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

DEMO_REPO = ("demo", "repo")


def copy_demo_repository(target: Path) -> None:
    source = importlib.resources.files("bot.templates").joinpath(*DEMO_REPO)
    with importlib.resources.as_file(source) as folder:
        shutil.copytree(folder, target, dirs_exist_ok=True)
    (target / ".gitignore").write_text(".specmill/runs/\n__pycache__/\n", encoding="utf-8")


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def git(repo: Path, *args: str) -> str:
    import git as gitpython

    return str(gitpython.Git(repo).execute(["git", *args]))


def init_repository(path: Path) -> None:
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.name", "specmill demo")
    git(path, "config", "user.email", "demo@specmill.invalid")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "Billing: hand-written code and its specs")


def step(title: str) -> None:
    click.echo()
    click.secho(f"== {title}", fg="cyan", bold=True)


def run_cli(*args: str) -> int:
    from bot.cli.main import main

    click.secho(f"$ specmill {' '.join(args)}", fg="bright_black")
    return main(list(args))


@click.command()
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the example repository instead of deleting it at the end.",
)
def demo(keep: bool) -> None:
    """Run specmill on a built-in example repository in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="specmill-demo-"))
    repo = folder / "shop"
    try:
        step(f"An example repository with two specs, in {repo}")
        copy_demo_repository(repo)
        init_repository(repo)
        with working_directory(repo):
            step("Bring the existing code under its specs (adopt)")
            run_cli("adopt", "billing/money.py", "tests/test_money.py",
                    "billing/invoice.py", "tests/test_invoice.py")
            git(repo, "add", "--all")
            git(repo, "commit", "--quiet", "-m", "Adopt the billing code into specmill")
            step("Every output is fresh")
            run_cli("status")
            step("Someone edits a generated file by hand")
            invoice = repo / "billing" / "invoice.py"
            text = invoice.read_text(encoding="utf-8")
            invoice.write_text(
                text.replace("if quantity < 0:", "if quantity < -1:  # quick fix"),
                encoding="utf-8",
            )
            click.echo("edited billing/invoice.py: `if quantity < 0:` -> `if quantity < -1:`")
            step("specmill check catches it (exit code 1)")
            code = run_cli("check")
            click.echo(f"(exit code {code})")
            if code != 1:
                raise click.ClickException("the demo expected `specmill check` to fail")
        step("Done")
        click.echo("Fix the spec, not the code: edit specs/billing/invoice.md and run "
                   "`specmill regen billing.invoice`.")
    finally:
        if keep:
            click.echo(f"kept the example repository in {repo}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
