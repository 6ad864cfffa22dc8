"""Agent prompts: jinja2 templates, shipped or overridden per repository.

A prompt template defines two blocks, ``system`` and ``user``, rendered into the two
messages of a chat request. ``templates/prompts/NAME`` ships with specmill;
``.specmill/templates/prompts/NAME`` in a repository replaces it there. Both are part of
every module's inputs hash (``specmill.core.repo_files.templates_digest``), and every call
records the template's name and the sha256 of the text it used.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from specmill.core.repo_files import OVERRIDES, PROMPTS
from specmill.engine.guard import escapes
from specmill.errors import SpecmillError

BLOCKS = ("system", "user")
AGENT_TEMPLATES = ("planner.j2", "executor.j2", "verifier.j2", "edit_retry.j2")  # prompts
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
Loader = Callable[[str], tuple[str, str, Callable[[], bool]]]
RENDER_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError, RecursionError)


@dataclass(frozen=True)
class Prompt:
    template: str  # e.g. "planner.j2"
    sha256: str  # of the template text used
    messages: list[dict[str, Any]]


def sandboxed_environment(load: Loader) -> SandboxedEnvironment:
    """The environment of templates a repository may override (prompts, reports).

    Sandboxed: an override is repository content, and a plain Environment runs
    `{{ cycler.__init__.__globals__.os.system(…) }}` in this process.
    """
    return SandboxedEnvironment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text, reviews Markdown: not HTML
    )


def numbered(text: str, start: int = 1) -> str:
    """``text`` with right-aligned line numbers, so agents can cite lines."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(start + len(lines)))
    return "\n".join(f"{n:>{width}} | {line}" for n, line in enumerate(lines, start=start))


class PromptLibrary:
    """Loads, checks and renders prompt templates for one repository (thread-safe)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._environment = sandboxed_environment(self._loader)
        self._environment.filters["numbered"] = numbered
        self._cache: dict[str, tuple[jinja2.Template, str]] = {}
        self._names: dict[str, str] = {}  # where a template came from -> its name
        self._lock = threading.Lock()

    def source(self, name: str) -> tuple[str, str]:
        """The template's text and where it came from (the repository's override first)."""
        if not TEMPLATE_NAME.match(name):  # `{% include "/etc/passwd" %}`, `../../x`
            raise SpecmillError(f"prompt template name {name!r}: a file name, e.g. _inputs.j2")
        relative = f"{OVERRIDES}/{PROMPTS}/{name}"
        if escapes(self.root, relative):  # a link to ~/.aws/credentials would be sent along
            raise SpecmillError(
                "a prompt override must be a file, not a symbolic link", path=relative
            )
        override = self.root / relative
        if override.is_file():
            return override.read_text(encoding="utf-8"), str(override.relative_to(self.root))
        shipped = importlib.resources.files("specmill.templates") / PROMPTS / name
        if not shipped.is_file():
            raise SpecmillError(f"no prompt template {name!r} in specmill's templates/{PROMPTS}")
        return shipped.read_text(encoding="utf-8"), f"specmill:templates/{PROMPTS}/{name}"

    def _loader(self, name: str) -> tuple[str, str, Callable[[], bool]]:
        text, origin = self.source(name)
        self._names[origin] = name
        return text, origin, lambda: True

    def digest(self, name: str, chain: tuple[str, ...] = ()) -> str:
        """sha256 of a template's text and of the templates it includes; an include cycle
        (which would render forever) is an error naming the file and the cycle."""
        text, origin = self.source(name)
        try:
            parsed = self._environment.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise SpecmillError(
                f"prompt template: {exc.message}", path=origin, line=exc.lineno
            ) from None
        parts = [text]
        included = {n for n in meta.find_referenced_templates(parsed) if n is not None}
        for other in sorted(included):
            if other in (*chain, name):
                cycle = " includes ".join([*chain[chain.index(other) :], name, other]
                                          if other in chain else [name, other])  # fmt: skip
                raise SpecmillError(
                    f"prompt template {name}: an include cycle ({cycle}) would never end",
                    path=origin,
                    hint="include each part once, from the agent's template",
                )
            parts.append(self.digest(other, (*chain, name)))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def check_overrides(self) -> list[SpecmillError]:
        """What regen would refuse in this repository's prompt overrides, all at once:
        syntax errors, unreadable or linked files, an agent's prompt without its blocks."""
        folder = self.root / OVERRIDES / PROMPTS
        if not folder.is_dir() or folder.is_symlink():
            return []
        errors = []
        for path in sorted(folder.iterdir()):
            if not path.name.endswith(".j2"):
                continue
            try:
                if path.name in AGENT_TEMPLATES:
                    self._load(path.name)
                else:  # a part that agents' prompts include: it only has to compile
                    self.digest(path.name)
            except SpecmillError as exc:
                if exc.path is None:
                    exc.path = f"{OVERRIDES}/{PROMPTS}/{path.name}"
                errors.append(exc)
            except (OSError, UnicodeDecodeError) as exc:
                reason = "not valid UTF-8" if isinstance(exc, ValueError) else exc.strerror
                errors.append(
                    SpecmillError(
                        f"cannot read this prompt override: {reason}",
                        path=f"{OVERRIDES}/{PROMPTS}/{path.name}",
                    )
                )
        return errors

    def _load(self, name: str) -> tuple[jinja2.Template, str]:
        with self._lock:
            if name not in self._cache:
                sha = self.digest(name)
                template = self._environment.get_template(name)
                missing = [block for block in BLOCKS if block not in template.blocks]
                if missing:
                    raise SpecmillError(
                        f"prompt template {name} lacks block(s) {', '.join(missing)}: define"
                        " {% block system %}…{% endblock %} and {% block user %}…{% endblock %}",
                    )
                self._cache[name] = (template, sha)
            return self._cache[name]

    def render(self, name: str, **variables: Any) -> Prompt:
        template, sha = self._load(name)
        context = template.new_context(variables)
        messages = []
        try:
            for role in BLOCKS:
                text = "".join(template.blocks[role](context)).strip()
                messages.append({"role": role, "content": text})
        except jinja2.UndefinedError as exc:
            raise SpecmillError(
                f"prompt template {name}: {exc.message}",
                hint="an overridden template uses a variable specmill does not provide",
            ) from None
        except (jinja2.TemplateError, *RENDER_ERRORS) as exc:
            # A filter given the wrong arguments (`format`), an include of itself through a
            # variable: the template's error, at its file and line, not an internal one.
            origin, line = self._located(exc)
            what = "it includes itself" if isinstance(exc, RecursionError) else exc
            raise SpecmillError(
                f"prompt template {name}: {type(exc).__name__}: {what}", path=origin, line=line
            ) from None
        return Prompt(template=name, sha256=sha, messages=messages)

    def _located(self, exc: BaseException) -> tuple[str | None, int | None]:
        """The template file and line the error was raised in (the innermost one)."""
        found: tuple[str | None, int | None] = (None, None)
        frame = exc.__traceback__
        while frame is not None:
            origin = frame.tb_frame.f_code.co_filename
            if origin in self._names:
                template = self._environment.get_template(self._names[origin])
                found = (origin, template.get_corresponding_lineno(frame.tb_lineno))
            frame = frame.tb_next
        return found
