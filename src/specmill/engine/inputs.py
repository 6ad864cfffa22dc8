"""What the agents of one module see, gathered from files into plain data.

``gather`` takes a reader (the user's working tree, overlaid with the outputs this run
already regenerated for the module's dependencies) and returns a ``Brief``: the spec,
its requirements, the dependencies' specs and public interfaces, the context files,
the governance files, and the previous generated version of the module's own outputs.
An output under a symbolic link is refused before anything is read: its text would
come from wherever the link leads (``specmill.engine.guard.refuse_linked_outputs``).

A dependency's outputs are shown by interface (``specmill.engine.interface``), so a
module pays for its dependencies' signatures, not their bodies (its test files are not
shown: they are no part of what a dependent may use); so are ``context`` code
files, except a dependency's output named in ``context``, which is shown whole. What an
agent is shown is a prompt economy, not an input: the inputs hash is unchanged by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from specmill.core.header import split_header
from specmill.core.paths import is_test_file
from specmill.core.project import Project
from specmill.core.records import Plan
from specmill.core.repo_files import Reader
from specmill.core.spec import Spec
from specmill.engine.guard import refuse_linked_outputs
from specmill.engine.interface import clip_lines, show

FILE_CHARS = 60_000  # per file shown to an agent; longer ones keep their head and tail


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and its tail."""
    if len(text) <= limit:
        return text
    head = text[: limit * 2 // 3]
    tail = text[-(limit // 3) :]
    omitted = len(text) - len(head) - len(tail)
    return f"{head}\n[... {omitted} characters omitted ...]\n{tail}"


def without_header(text: str, path: str) -> str:
    return split_header(text, path).outside


@dataclass(frozen=True)
class Dependency:
    module: str
    spec_path: str
    spec_text: str
    public_api: list[str]  # from its plan in this run, when it was regenerated
    files: dict[str, str]  # its outputs as they are now (headers removed), as shown
    forms: dict[str, str] = field(default_factory=dict)  # path -> interface/text/clipped


@dataclass(frozen=True)
class Brief:
    module: str
    spec_path: str
    spec_text: str
    requirements: list[dict[str, object]]
    outputs: list[str]
    dependencies: list[Dependency] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    governance: dict[str, str] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)  # this module's current outputs
    context_forms: dict[str, str] = field(default_factory=dict)  # path -> interface/text…

    def variables(self) -> dict[str, object]:
        """What the prompt templates get, besides the role-specific ones."""
        return {
            "module": self.module,
            "spec_path": self.spec_path,
            "spec_text": self.spec_text,
            "requirements": self.requirements,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "context": self.context,
            "context_forms": self.context_forms,
            "governance": self.governance,
            "previous": self.previous,
        }


def overlay(read: Reader, files: Mapping[str, str]) -> Reader:
    """A reader that sees ``files`` (this run's outputs) over ``read``."""
    return lambda path: files[path] if path in files else read(path)


def _file(read: Reader, path: str) -> str | None:
    text = read(path)
    return None if text is None else without_header(text, path)


def gather(
    project: Project, spec: Spec, read: Reader, plans: Mapping[str, Plan] | None = None
) -> Brief:
    plans = plans or {}
    read_outputs = [*spec.outputs, *(p for d in spec.depends_on for p in project.by_id[d].outputs)]
    refuse_linked_outputs(project.root, read_outputs)  # their text would come from elsewhere
    dependencies = []
    whole = set(spec.context)  # a dependency's output named in context: its full text
    for module in spec.depends_on:
        dep = project.by_id[module]
        shown = {  # its tests are its checks' side, not what a dependent may use
            p: show(p, t, FILE_CHARS)
            for p in dep.outputs
            if p not in whole and not is_test_file(p) and (t := _file(read, p)) is not None
        }
        plan = plans.get(module)
        dependencies.append(
            Dependency(
                module,
                dep.path,
                dep.text,
                plan.public_api if plan else [],
                files={p: s.text for p, s in shown.items()},
                forms={p: s.form for p, s in shown.items()},
            )
        )
    outputs = {p for dep in spec.depends_on for p in project.by_id[dep].outputs}
    context = {}
    for path in spec.context:
        text = project.read_input(path)  # refuses a path that leads outside the repository
        if path in outputs:  # as this run regenerated it
            text = _file(read, path)
        if text is None:
            continue
        if path in outputs:
            clipped = clip_lines(text, FILE_CHARS)
            context[path] = (clipped, "text" if clipped == text else "clipped")
        else:
            shown_context = show(path, text, FILE_CHARS)
            context[path] = (shown_context.text, shown_context.form)
    return Brief(
        module=spec.id,
        spec_path=spec.path,
        spec_text=spec.text,
        requirements=[{"id": r.id, "line": r.line, "text": r.text} for r in spec.requirements],
        outputs=list(spec.outputs),
        dependencies=dependencies,
        context={p: text for p, (text, _) in context.items()},
        context_forms={p: form for p, (_, form) in context.items()},
        governance={p: clip_lines(t, FILE_CHARS) for p, t in project.governance.items()},
        previous={p: t for p in spec.outputs if (t := _file(read, p)) is not None},
    )
