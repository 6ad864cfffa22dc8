"""``specmill mv OLD NEW``: move a generated file, and keep its module fresh.

A rename changes where code lives, not what it should be: the file moves as it is
(its header names the spec and module, not its own path), its item in the spec's
``outputs:`` is rewritten in place (comments and layout kept), and ``.gitattributes``
follows. ``outputs:`` is not an input of the module, so nothing becomes stale and no
model is called. Files that may still name the old path (an import, a ``require``, a
document) are listed with the way to fix them: a generated one cannot simply be
edited, and a regen would not touch it (it is fresh).
"""

from __future__ import annotations

import os
import shlex

import click

from specmill.cli.common import open_project, relative_to_root, require_graph
from specmill.core.front_edit import replace_list_item
from specmill.core.header import style_for
from specmill.core.paths import first_match, normalize_relative
from specmill.core.problems import display_path
from specmill.core.project import Project
from specmill.core.spec import parse_spec
from specmill.engine.guard import linked_part
from specmill.errors import SpecmillError
from specmill.files import sync_gitattributes, write_atomic


@click.command()
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
def mv(old: str, new: str) -> None:
    """Move the generated file OLD to NEW, and update its spec and .gitattributes.

    NEW may be a folder: the file keeps its name. The module stays fresh: no model
    call, nothing to regenerate. Stage the result with the `git add` line printed.
    """
    project = open_project()
    require_graph(project)
    source, target = relative_to_root(project, (old, new))
    if os.path.isdir(project.root / target) or new.endswith(("/", os.sep)):
        target = f"{target.rstrip('/')}/{source.rsplit('/', 1)[-1]}"
    spec_path, spec_text = plan_move(project, source, target)
    destination = project.root / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.rename(project.root / source, destination)
    try:
        write_atomic(project.root / spec_path, spec_text)
    except BaseException:
        os.rename(destination, project.root / source)  # all or nothing
        raise
    outputs = sorted({*project.owners} - {source} | {target})
    changed = [source, target, spec_path]
    if sync_gitattributes(project.root, outputs):
        changed.append(".gitattributes")
    click.echo(f"moved {source} to {target}; {spec_path} now declares {target}")
    _echo_references(project, source, target)
    click.echo(f"next: git add -A -- {' '.join(shlex.quote(p) for p in changed)}")


MAX_REFERENCES = 20


def _echo_references(project: Project, source: str, target: str) -> None:
    """Name the files that may still point at ``source`` (an import, a require, a doc),
    and how each kind is fixed: specmill cannot tell which mention is a reference."""
    from specmill.core.advice import arg
    from specmill.engine.references import files_naming

    terms, found = files_naming(project, source, ignore=(target, ".gitattributes"))
    if not found:
        return
    click.echo(f"these files may still name {source} (as {' or '.join(terms)}):")
    generated = []
    for path, line in list(found.items())[:MAX_REFERENCES]:
        owner = project.owners.get(path)
        if owner:
            generated.append(path)
        what = f" (generated, module {owner[0].id})" if owner else ""
        click.echo(f"  {display_path(path)}:{line}{what}")
    if len(found) > MAX_REFERENCES:
        click.echo(f"  and {len(found) - MAX_REFERENCES} more")
    if generated:
        files = " ".join(arg(path) for path in generated)
        click.echo(
            "  fix: edit the hand-written ones. A generated one is fresh (a move changes no"
            " input), so regen leaves it as it is: edit it, then record the edit with"
            f" `specmill adopt --force {files}` (no model call; a pull request lists it as"
            " adopted), or change its spec and run `specmill regen`"
        )
    else:
        click.echo(f"  fix: edit them to name {target}")


def plan_move(project: Project, source: str, target: str) -> tuple[str, str]:
    """The spec to rewrite and its new text; every check before anything moves."""
    owners = project.owners.get(source, [])
    if not owners:
        raise SpecmillError(
            f"{source} is not in any spec's outputs",
            hint="`specmill mv` moves generated files; use `git mv` for other files",
        )
    if len(owners) > 1:
        raise SpecmillError(f"{source} is declared by several specs; keep one first")
    spec = owners[0]
    absolute = project.root / source
    if absolute.is_symlink() or not absolute.is_file():
        raise SpecmillError(f"{source} is not a regular file", hint="`specmill regen` makes it")
    try:
        target = normalize_relative(target)
    except ValueError as exc:
        raise SpecmillError(f"cannot move to {target!r}: {exc}") from None
    if target == source:
        raise SpecmillError(f"{source} and {target} are the same file")
    if os.path.lexists(project.root / target):
        raise SpecmillError(f"{target} already exists", hint="move or delete it first")
    for path in (source, target):  # a linked folder leads elsewhere, out of the repository
        link = linked_part(project.root, path)
        if link is not None:
            raise SpecmillError(
                f"{path} is under the symbolic link {link}: `specmill mv` moves files "
                "between real folders of the repository only; nothing moved",
                hint=f"make {link} a real folder, or choose another destination",
            )
    if target in project.owners:
        owner = project.owners[target][0]
        raise SpecmillError(f"{target} is already an output of {owner.path} (module {owner.id})")
    pattern = first_match(target, project.config.protected_patterns)
    if pattern is not None:
        raise SpecmillError(f"{target} is a protected path ({pattern}); specmill never writes it")
    extra = project.config.comment_styles
    if style_for(source, extra) != style_for(target, extra):
        raise SpecmillError(
            f"{source} and {target} have different comment syntaxes: a move keeps the "
            "file as it is",
            hint="change the spec's outputs and regenerate instead",
        )
    text = replace_list_item(spec.text, "outputs", source, target)
    config = project.config
    try:
        edited = parse_spec(
            text, spec.path, specs_root=config.specs, protected=config.protected_patterns
        )
    except SpecmillError:
        edited = None
    expected = [target if out == source else out for out in spec.outputs]
    if edited is None or list(edited.outputs) != expected:
        raise SpecmillError(
            f"could not rewrite {source} in the outputs of {spec.path} without changing more",
            path=spec.path,
            hint="move the file and edit `outputs:` by hand (nothing else needs to change)",
        )
    return spec.path, text
