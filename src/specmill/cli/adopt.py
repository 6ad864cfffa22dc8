"""``specmill adopt PATH…``: bring existing code under its spec (a brownfield start)."""

from __future__ import annotations

import click

from specmill.cli.common import open_project, relative_to_root, require_graph
from specmill.core.header import SplitFile, is_hand_edited, split_header, stamp
from specmill.core.project import Project
from specmill.core.spec import Spec
from specmill.errors import SpecmillError
from specmill.files import sync_gitattributes, write_atomic


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--force",
    is_flag=True,
    help="Adopt files that already carry a specmill header (says what it overrides).",
)
def adopt(paths: tuple[str, ...], force: bool) -> None:
    """Stamp existing files with a header for the spec that declares them.

    Like `terraform import`: the file keeps its code; its header records the spec's
    current inputs and `origin=adopted`, so reviewers (and the bot) see an adoption,
    not a generation. The file must be listed in a spec's `outputs` first. A file that
    already has a specmill header is refused unless `--force` is given: re-stamping it
    would make hand edits to its body look generated.
    """
    project = open_project()
    require_graph(project)  # the inputs hash needs every dependency's spec
    targets = relative_to_root(project, paths)
    plans = [_plan(project, path, force) for path in targets]  # validate all, then write
    for path, text, overridden in plans:
        write_atomic(project.root / path, text)
        click.echo(f"adopted {path} (module {project.owners[path][0].id})")
        if overridden:
            click.echo(f"  --force: {overridden}")
    if sync_gitattributes(project.root, sorted(project.owners)):
        click.echo("updated .gitattributes (outputs marked linguist-generated)")


def _plan(project: Project, path: str, force: bool) -> tuple[str, str, str]:
    owners = project.owners.get(path)
    if not owners:
        raise SpecmillError(
            f"{path} is not in any spec's outputs",
            hint="add it to the `outputs:` of the spec it implements, then adopt it",
        )
    if len(owners) > 1:
        names = ", ".join(o.path for o in owners)
        raise SpecmillError(f"{path} is declared by several specs: {names}")
    absolute = project.root / path
    if absolute.is_symlink():
        raise SpecmillError(
            f"{path} is a symbolic link; outputs are regular files",
            hint="declare the file it points to instead, or replace the link with the file",
        )
    if absolute.is_dir():
        raise SpecmillError(f"{path} is a folder; outputs are files")
    text = project.read(path)
    if text is None:
        raise SpecmillError(f"{path} does not exist", hint="`specmill regen` generates it")
    if "\0" in text[:8000]:  # git's own test for binary content
        raise SpecmillError(
            f"{path} looks binary (it has NUL bytes); a header can only go into a text file"
        )
    spec = owners[0]
    split = split_header(text, path)
    overridden = ""
    if split.header is not None:
        overridden = _overridden(project, spec, split)
        if not force:
            raise SpecmillError(
                f"{path} already carries a specmill header: {overridden}",
                hint="adopt is for code specmill did not write; regenerate it with "
                f"`specmill regen {spec.id}`, or pass --force to stamp it as it is",
            )
    stamped = stamp(
        text,
        path,
        module=spec.id,
        spec=spec.path,
        inputs=project.inputs_hash(spec),
        origin="adopted",
        extra_styles=project.config.comment_styles,
    )
    return path, stamped, overridden and f"replaced its header ({overridden})"


def _overridden(project: Project, spec: Spec, split: SplitFile) -> str:
    """What re-stamping would hide: hand edits to the body, stale inputs, another owner."""
    header = split.header
    assert header is not None
    what = "generated" if header.origin == "generated" else header.origin
    facts = [f"{what} for module {header.module}"]
    if is_hand_edited(split):
        facts.append("its body was edited by hand since, and those edits would pass as adopted")
    elif not project.inputs_match(spec, header.inputs):
        facts.append("generated from older inputs than the spec now gives")
    else:
        facts.append("its body and inputs are unchanged")
    return "; ".join(facts)
