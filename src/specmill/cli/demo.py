"""``specmill demo``: the whole pipeline on a built-in example, in a temporary folder.

With no options it uses the demo model, scripted answers shipped with specmill
(``templates/demo/model.yaml``): no key, no network. ``--base-url``/``--model`` run the
same story against a real OpenAI-compatible endpoint.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

DEMO_REPO = ("demo", "repo")
DEMO_MODEL = ("demo", "model.yaml")
SPEC_CHANGE = (
    "- **R4** `Invoice.add` with an empty or whitespace-only description raises `ValueError`.\n"
)
SCRIPTED_MODELS = """
[specmill.models]
# The demo model: scripted answers (templates/demo/model.yaml), not a language model.
backend = "scripted"
script = {script}
planner = "demo-planner"
fast = "demo-fast"
standard = "demo-standard"
strong = "demo-strong"
verifiers = [{{model = "demo-reviewer-a"}}, {{model = "demo-reviewer-b"}}]
"""
REAL_MODELS = """
[specmill.models]
base_url = {url}
planner = {model}
fast = {model}
standard = {model}
strong = {model}
verifiers = [{{model = {model}}}, {{model = {model}}}]
"""


def copy_demo_repository(target: Path) -> None:
    source = importlib.resources.files("specmill.templates").joinpath(*DEMO_REPO)
    with importlib.resources.as_file(source) as folder:
        shutil.copytree(folder, target, dirs_exist_ok=True)
    (target / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")


def configure_models(
    repo: Path,
    folder: Path,
    base_url: str | None,
    model: str | None,
    timeout: float | None = None,
) -> str:
    """Append the models section; returns how the output labels the model."""
    config = repo / "specmill.toml"
    text = config.read_text(encoding="utf-8")
    python = shlex.quote(sys.executable)  # "python" may not exist; this one does
    text = text.replace('"python -m unittest', json.dumps(python)[:-1] + " -m unittest")
    if base_url and model:
        text += REAL_MODELS.format(url=json.dumps(base_url), model=json.dumps(model))
        if timeout is not None:  # a small local model on a busy CPU can take minutes a call
            text += f"timeout = {timeout:g}\n"
        label = f"model: {model} at {base_url}"
    else:
        script = folder / "demo-model.yaml"
        source = importlib.resources.files("specmill.templates").joinpath(*DEMO_MODEL)
        script.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        text += SCRIPTED_MODELS.format(script=json.dumps(script.as_posix()))
        label = "demo model: scripted answers (no language model, no key, no network)"
    config.write_text(text, encoding="utf-8")
    return label


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
    commit_all(path, "Billing: hand-written code and its specs")


def commit_all(path: Path, message: str) -> None:
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", message)


def step(title: str) -> None:
    click.echo()
    click.secho(f"== {title}", fg="cyan", bold=True)


def run_cli(*args: str) -> int:
    from specmill.cli.main import main

    click.secho(f"$ specmill {' '.join(args)}", fg="bright_black")
    return main(list(args))


def line_of(path: Path, pattern: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, line):
            return number
    return None


@click.command()
@click.option("--keep", is_flag=True, help="Keep the example repository instead of deleting it.")
@click.option(
    "--base-url", metavar="URL", help="An OpenAI-compatible endpoint instead of the demo model."
)
@click.option("--model", metavar="NAME", help="The model to use at --base-url (every role).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="models.timeout for --base-url (default 120): the longest wait for a token.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines while regen runs.")
def demo(
    keep: bool, base_url: str | None, model: str | None, timeout: float | None, quiet: bool
) -> None:
    """Run the whole pipeline on a built-in example repository in a temporary folder.

    Three billing modules depend on each other; a spec changes on a branch; specmill
    regenerates what it affects (plan, write, check, verify, retry), commits with its
    trailers, and traces a generated line back to its requirement.
    """
    if bool(base_url) != bool(model):
        raise click.UsageError("--base-url and --model go together")
    folder = Path(tempfile.mkdtemp(prefix="specmill-demo-"))
    repo = folder / "shop"
    try:
        story(folder, repo, base_url, model, timeout, quiet=quiet)
    finally:
        if keep:
            click.echo(f"kept the example repository in {repo}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def story(
    folder: Path,
    repo: Path,
    base_url: str | None,
    model: str | None,
    timeout: float | None = None,
    *,
    quiet: bool = False,
) -> None:
    scripted = not base_url
    step(f"An example repository with three specs (money <- invoice <- receipt), in {repo}")
    copy_demo_repository(repo)
    label = configure_models(repo, folder, base_url, model, timeout)
    init_repository(repo)
    click.secho(label, fg="yellow", bold=True)
    with working_directory(repo):
        step("Bring the existing, hand-written code under its specs (adopt)")
        outputs = sorted(
            str(p.relative_to(repo)) for p in repo.glob("*/*.py") if p.stem != "__init__"
        )
        run_cli("adopt", *outputs)
        commit_all(repo, "Adopt the billing code into specmill")
        step("On a branch, the invoice spec gains a requirement (R4)")
        git(repo, "switch", "--quiet", "-c", "blank-descriptions")
        spec = repo / "specs" / "billing" / "invoice.md"
        spec.write_text(spec.read_text(encoding="utf-8") + SPEC_CHANGE, encoding="utf-8")
        click.echo(SPEC_CHANGE.rstrip())
        commit_all(repo, "Invoice: reject blank descriptions (R4)")
        step("What it affects: invoice, and receipt, which depends on it (money is untouched)")
        run_cli("affected", "--base", "main")
        step("Regenerate them: plan, write, check, verify, each attempt in a git worktree")
        code = run_cli("regen", "--affected", "--base", "main", *(["-q"] if quiet else []))
        if code != 0 and scripted:
            raise click.ClickException("the demo expected `specmill regen` to pass")
        step("The review, as the bot would post it on the pull request")
        from specmill.engine.runstore import list_runs, run_folder

        runs = list_runs(repo)
        shown = run_folder(repo, runs[0].run_id) if runs else None
        review = shown / "review.md" if shown is not None else None
        if review is None or not review.is_file():  # regen ended before its review
            raise click.ClickException(
                f"`specmill regen` ended (exit code {code}) before writing its review;"
                " the working tree is untouched"
            )
        click.echo(review.read_text(encoding="utf-8"))
        if code != 0:
            raise click.ClickException(
                f"the code of {model} did not pass (the review above says why);"
                " the working tree is untouched"
            )
        step("The commit, with its trailers (the run record is a git note on it)")
        click.echo(git(repo, "log", "-1", "--stat"))
        step("Trace a generated line back to its requirement")
        line = line_of(repo / "billing" / "invoice.py", r"description\.strip\(\)|not description")
        run_cli("trace", f"billing/invoice.py:{line or 1}")
        step("A hand edit of generated code is caught (fix the spec, not the code)")
        invoice = repo / "billing" / "invoice.py"
        invoice.write_text(invoice.read_text().replace("quantity < 0", "quantity < -1"))
        click.echo("edited billing/invoice.py: `quantity < 0` -> `quantity < -1`")
        code = run_cli("check")
        click.echo(f"(exit code {code})")
        if code != 1:
            raise click.ClickException("the demo expected `specmill check` to fail")
    step("Done")
    click.echo("Try it on your repository: `specmill init`, write a spec, `specmill regen`.")
