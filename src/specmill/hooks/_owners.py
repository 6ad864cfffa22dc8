"""Which spec declares a file as one of its outputs, parsing as few specs as possible.

A spec can declare a path only if its front matter holds that path as a YAML token, so
an index of the words of every spec's front matter rules out almost every file in one
lookup; only the specs naming a path are parsed (``specmill.core.spec``, which loads PyYAML
and pydantic on first use).
"""

from __future__ import annotations

import re

from specmill.hooks import _workspace

# What separates scalars in YAML flow and block lists; a path holding one of these
# (rare: a space, a comma, a quote) is looked up by substring instead.
_SEPARATORS = re.compile(r"[\s,\[\]{}\"'#]+")


class Owner:
    """The spec that declares a path: its file, module id and the line naming the path."""

    __slots__ = ("line", "module", "spec")

    def __init__(self, spec: str, module: str, line: int) -> None:
        self.spec, self.module, self.line = spec, module, line


def front_matter(text: str) -> str:
    """The YAML between a spec's opening ``---`` line and the next ``---``/``...`` line."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != "---":
        return ""
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index])
    return ""


def _as_path(token: str) -> str:
    """A token as ``normalize_relative`` would read it: ``./a\\b`` -> ``a/b``."""
    return "/".join(part for part in token.replace("\\", "/").split("/") if part not in ("", "."))


def words(front: str) -> set[str]:
    return {_as_path(token) for token in _SEPARATORS.split(front) if token}


def could_name(front: str, path: str) -> bool:
    """Whether a front matter may list ``path`` (no false negatives)."""
    if _SEPARATORS.search(path):
        return path in front or path.replace("/", "\\") in front
    return path in words(front)


class Owners:
    """Spec lookups for one hook run; spec texts are read once, on first need."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._specs: str | None = None
        self._texts: dict[str, str | None] = {}  # spec path -> its text (None: absent)
        self._fronts: dict[str, str] | None = None  # spec path -> its front matter
        self._index: dict[str, list[str]] = {}  # word -> specs whose front matter has it
        self._owner: dict[str, Owner | None] = {}

    @property
    def specs(self) -> str:
        """The specs folder from the config (reading the config only when needed)."""
        if self._specs is None:
            self._specs = _workspace.specs_folder(self.root)
        return self._specs

    def text(self, spec: str) -> str | None:
        if spec not in self._texts:
            data = _workspace.read_bytes(self.root, spec)
            self._texts[spec] = None if data is None else _workspace.decode(data)
        return self._texts[spec]

    def names(self, spec: str, path: str) -> bool:
        """Cheap check for the common case: the spec a header names still lists the file.

        A front matter that holds the path but does not declare it as an output (it is
        ``context`` of its own spec) passes here; `specmill check` sees it.
        """
        text = self.text(spec)
        return text is not None and could_name(front_matter(text), path)

    def owner(self, path: str) -> Owner | None:
        """The spec declaring ``path`` now, or None."""
        if path not in self._owner:
            found = None
            for spec in self._candidates(path):
                found = self._declared(spec, path)
                if found is not None:
                    break
            self._owner[path] = found
        return self._owner[path]

    def outputs(self, spec: str, text: str) -> tuple[str, ...]:
        """The outputs a spec's text declares (none when it does not parse)."""
        from specmill.core.spec import parse_spec
        from specmill.errors import SpecmillError

        try:
            return parse_spec(text, spec, specs_root=self.specs).outputs
        except SpecmillError:
            return ()

    def _candidates(self, path: str) -> list[str]:
        fronts = self._all_fronts()
        if _SEPARATORS.search(path):
            return [spec for spec, front in fronts.items() if could_name(front, path)]
        return self._index.get(path, [])

    def _all_fronts(self) -> dict[str, str]:
        if self._fronts is None:
            self._fronts = {}
            for spec in _workspace.spec_paths(self.root, self.specs):
                text = self.text(spec)
                if text is None:
                    continue
                self._fronts[spec] = front = front_matter(text)
                for word in words(front):
                    self._index.setdefault(word, []).append(spec)
        return self._fronts

    def _declared(self, spec: str, path: str) -> Owner | None:
        from specmill.core.spec import default_module_id, parse_spec
        from specmill.errors import SpecmillError

        text = self.text(spec) or ""
        try:
            parsed = parse_spec(text, spec, specs_root=self.specs)
        except SpecmillError:
            # A broken spec that names the path still claims it: `specmill-lint` says
            # what is wrong with it; treating the file as free would let edits through.
            lines = text.splitlines()
            line = next((n for n, text in enumerate(lines, 1) if path in text), 1)
            return Owner(spec, default_module_id(spec, self.specs), line)
        if path not in parsed.outputs:
            return None
        return Owner(spec, parsed.id, parsed.line_of(path))
