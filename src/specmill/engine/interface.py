"""What an agent sees of a file it reads but does not write: its interface, or its text.

A dependency's outputs (and a ``context`` code file) enter a prompt as their public
interface, not their bodies:

- Python, with ``ast``: the module docstring, ``__all__``, public module constants,
  public classes (whole docstrings) and functions with their decorators, signatures
  and docstring summaries (first paragraph), and public methods (dunder methods
  included); bodies are left out (``...`` where no docstring stands for them).
- JavaScript and TypeScript (``specmill.engine.js_interface``): exported declarations
  and public class members, bodies cut, doc comments cut to a one-line summary.
- Other languages with a tree-sitter grammar shipped by ``tree-sitter-language-pack``:
  the file with every function and method body replaced by ``{ … }``.

A file whose interface cannot be extracted (a syntax error, an unknown language) and
prose (Markdown, text) is shown as text, clipped only at line boundaries with an explicit
``… N lines omitted …`` marker. Pure: text in, text out.
"""

from __future__ import annotations

import ast
import functools
import inspect
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

log = logging.getLogger(__name__)

Form = Literal["interface", "text", "clipped"]
CONSTANT_CHARS = 80  # a module constant's value longer than this is shown as `...`

# File extension -> tree-sitter-language-pack grammar name.
TREE_SITTER_LANGUAGES = {
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".scala": "scala",
    ".swift": "swift",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".php": "php",
}
PYTHON = (".py", ".pyi")
# Node types whose body is code to omit: functions, methods, constructors, lambdas.
BODY_OWNERS = re.compile(r"function|method|constructor|lambda|closure")
JS_LANGUAGES = ("javascript", "typescript", "tsx")  # shown by public names: js_interface


@dataclass(frozen=True)
class Shown:
    """A file as an agent sees it, and in which form."""

    text: str
    form: Form


def omitted(count: int) -> str:
    return f"… {count} line{'s' if count != 1 else ''} omitted …"


def clip_lines(text: str, limit: int) -> str:
    """``text`` cut to at most about ``limit`` characters, only between whole lines.

    Keeps lines from the head (two thirds of the room) and the tail (the rest), and
    says how many lines were left out between them.
    """
    if len(text) <= limit:
        return text
    pieces = text.split("\n")  # not splitlines(): "\x1e", "\u2028"… are inside a line here
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    head: list[str] = []
    room = limit * 2 // 3
    for line in lines:
        if len(line) > room:
            break
        head.append(line)
        room -= len(line)
    tail: list[str] = []
    room += limit - limit * 2 // 3
    for line in reversed(lines[len(head) :]):
        if len(line) > room:
            break
        tail.append(line)
        room -= len(line)
    tail.reverse()
    kept = "".join(head)
    if kept and not kept.endswith("\n"):
        kept += "\n"
    return f"{kept}{omitted(len(lines) - len(head) - len(tail))}\n{''.join(tail)}"


def show(path: str, text: str, limit: int) -> Shown:
    """How an agent sees a file it reads: interface for code, text for prose."""
    extracted = interface(path, text)
    if extracted is not None and len(extracted) < len(text):
        return Shown(clip_lines(extracted, limit), "interface")
    clipped = clip_lines(text, limit)
    return Shown(clipped, "text" if clipped == text else "clipped")


def interface(path: str, text: str) -> str | None:
    """The public interface of a code file, or None (prose, unknown language, bad syntax)."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in PYTHON:
        return python_interface(text)
    language = TREE_SITTER_LANGUAGES.get(suffix)
    if language in JS_LANGUAGES:
        from specmill.engine.js_interface import js_interface

        return js_interface(text, language)
    if language is not None:
        return tree_sitter_interface(text, language)
    return None


# --- Python ------------------------------------------------------------------------


def python_interface(source: str, *, summaries: bool = True) -> str | None:
    """Signatures, docstrings, constants and ``__all__`` of a Python module; None if it
    does not parse. With ``summaries``, a function's or method's docstring is cut to its
    first paragraph (PEP 257's summary line); module and class docstrings stay whole."""
    try:
        tree = ast.parse(source)
        body = _Interface(_all_names(tree), summaries).module(tree.body)
        return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n" if body else ""
    except (SyntaxError, ValueError):  # ValueError: a null byte in the source
        return None
    except (RecursionError, MemoryError):  # `((((…))))` thousands deep: shown as text
        return None


def _all_names(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in _assigned(node):
            value = node.value
            if isinstance(value, (ast.List, ast.Tuple)):
                return {
                    e.value
                    for e in value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
    return set()


def _public(name: str, exported: set[str]) -> bool:
    return name in exported or not name.startswith("_") or name in ("__all__", "__version__")


def _docstring(node: ast.AST, indent: int = 0, summary: bool = False) -> list[ast.stmt]:
    """The node's docstring, re-indented for ``indent``; with ``summary``, only its first
    paragraph (PEP 257's summary)."""
    body = getattr(node, "body", [])
    first = body[0] if body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return []
    text = inspect.cleandoc(first.value.value)
    if summary:
        text = text.split("\n\n", 1)[0]
    text = "\n".join(
        (" " * indent + line if line else line) if n else line
        for n, line in enumerate(text.split("\n"))
    )
    return [ast.Expr(value=ast.Constant(value=text))]


def _ellipsis() -> ast.stmt:
    return ast.Expr(value=ast.Constant(value=...))


def _assigned(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _constant(node: ast.Assign | ast.AnnAssign) -> ast.stmt:
    value = node.value
    if value is not None and len(ast.unparse(value)) > CONSTANT_CHARS:
        node.value = ast.Constant(value=...)
    return node


class _Interface:
    """Strips a module's statements down to its public interface (in place)."""

    def __init__(self, exported: set[str], summaries: bool) -> None:
        self.exported = exported
        self.summaries = summaries

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, indent: int) -> ast.stmt:
        # A docstring alone is a valid body; without one, `...`.
        node.body = _docstring(node, indent + 4, self.summaries) or [_ellipsis()]
        return node

    def cls(self, node: ast.ClassDef, indent: int) -> ast.stmt:
        kept: list[ast.stmt] = list(_docstring(node, indent + 4))
        for item in node.body[len(kept) :]:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                dunder = item.name.startswith("__") and item.name.endswith("__")
                if dunder or not item.name.startswith("_"):
                    kept.append(self.function(item, indent + 4))
            elif isinstance(item, ast.ClassDef) and not item.name.startswith("_"):
                kept.append(self.cls(item, indent + 4))
            elif isinstance(item, (ast.Assign, ast.AnnAssign)) and any(
                not name.startswith("_") for name in _assigned(item)
            ):
                kept.append(_constant(item))
        node.body = kept or [_ellipsis()]
        return node

    def module(self, body: list[ast.stmt], indent: int = 0) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        exported = self.exported
        for index, node in enumerate(body):
            docstring = _docstring(ast.Module(body=body, type_ignores=[])) if index == 0 else []
            if docstring and indent == 0:
                kept += docstring
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if _public(node.name, exported):
                    kept.append(self.function(node, indent))
            elif isinstance(node, ast.ClassDef):
                if _public(node.name, exported):
                    kept.append(self.cls(node, indent))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                if any(_public(name, exported) for name in _assigned(node)):
                    kept.append(_constant(node))
            elif isinstance(node, ast.ImportFrom):  # kept when it re-exports a name of __all__
                if any((alias.asname or alias.name) in exported for alias in node.names):
                    kept.append(node)
            elif isinstance(node, ast.If):  # `if TYPE_CHECKING:`, platform branches
                inner = self.module(node.body, indent + 4)
                if inner:
                    node.body, node.orelse = inner, self.module(node.orelse, indent + 4)
                    kept.append(node)
        return kept


# --- other languages: tree-sitter -------------------------------------------------


@functools.cache
def tree_sitter_parser(language: str) -> Any:
    try:
        from tree_sitter_language_pack import get_parser
    except ImportError:  # pragma: no cover - a dependency; absent only in odd installs
        return None
    try:
        return get_parser(language)  # type: ignore[arg-type]
    except Exception as exc:  # a grammar the installed pack lacks
        log.debug("no tree-sitter grammar for %s: %s", language, exc)
        return None


def function_body(node: Any) -> Any:
    """A function node's body: its `body` field, or (Kotlin) its `function_body` child."""
    body = node.child_by_field_name("body")
    if body is None:
        body = next((c for c in node.named_children if c.type == "function_body"), None)
    return body


def tree_sitter_interface(text: str, language: str) -> str | None:
    """The file with every function and method body replaced by ``{ … }``; None when
    the grammar is missing or the file does not parse cleanly."""
    parser = tree_sitter_parser(language)
    if parser is None:
        return None
    source = text.encode("utf-8", "surrogateescape")
    tree = parser.parse(source)
    if tree.root_node.has_error:
        return None
    cuts: list[tuple[int, int]] = []
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        body = function_body(node) if BODY_OWNERS.search(node.type) else None
        if body is not None and source[body.start_byte : body.start_byte + 1] == b"{":
            cuts.append((body.start_byte, body.end_byte))
            continue
        pending.extend(node.named_children)
    parts: list[bytes] = []
    position = 0
    for start, end in sorted(cuts):
        parts += [source[position:start], "{ … }".encode()]
        position = end
    parts.append(source[position:])
    shown = b"".join(parts).decode("utf-8", "surrogateescape")
    return re.sub(r"\n{3,}", "\n\n", shown)
