"""Seeded defects ("mutants") of generated files, deterministic for a seed. Pure.

As mutmut and cosmic-ray do, every place an operator applies is a *mutation point*
(operator, file, occurrence); the points are listed in a stable order and a seeded
``random.Random`` samples ``count`` of them, so a seed always gives the same mutants.
A Python mutant is made on the AST (the stdlib ``ast``) and spliced into the file's
text at the node's position, so the rest keeps its formatting, comments and line
numbers. A mutant that does not compile, or whose AST equals the original's
(equivalent), is *discarded* and counted, never shown to the checks or verifiers.
Other languages get textual operators: a comparison or operator flipped, a number
literal changed, a line deleted.
"""

from __future__ import annotations

import ast
import copy
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from specmill.core.paths import is_test_file as is_test_file

OPERATORS = (
    "comparison",
    "arithmetic",
    "boolean",
    "constant",
    "raise",
    "return",
    "statement",
    "arguments",
)

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_OFF_BY_ONE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
_ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}
_NEEDS_PARENTHESES = (ast.BinOp, ast.BoolOp, ast.Compare, ast.UnaryOp, ast.IfExp, ast.Lambda)
_OTHER_ERROR = {"ValueError": "TypeError", "TypeError": "ValueError"}


@dataclass(frozen=True)
class Point:
    """Where one operator can apply: the ``occurrence``-th node it fits in ``path``."""

    path: str
    operator: str
    occurrence: int
    line: int
    index: int = 0  # textual operators: which match on the line


@dataclass(frozen=True)
class Mutant:
    """One seeded defect: the whole mutated file, and the line it changed."""

    id: int
    path: str
    operator: str
    line: int  # 1-based, in the mutated file
    description: str
    text: str  # the mutated file
    discarded: Literal["", "equivalent", "does not compile"] = ""


def mutable_outputs(files: Mapping[str, str]) -> dict[str, str]:
    return {path: text for path, text in sorted(files.items()) if not is_test_file(path)}


# --- Python: AST operators ------------------------------------------------------------

Rewrite = Callable[[ast.AST], "tuple[ast.AST, str] | None"]


def _compare(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    op = type(node.ops[0])
    new = _OFF_BY_ONE.get(op) or _FLIP.get(op)
    if new is None:
        return None
    mutated = copy.deepcopy(node)
    mutated.ops = [new()]
    return mutated, f"comparison {op.__name__} -> {new.__name__}"


def _arithmetic(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, (ast.BinOp, ast.AugAssign)):
        return None
    op = type(node.op)
    new = _ARITHMETIC.get(op)
    if new is None:
        return None
    mutated = copy.deepcopy(node)
    mutated.op = new()
    return mutated, f"operator {op.__name__} -> {new.__name__}"


def _boolean(node: ast.AST) -> tuple[ast.AST, str] | None:
    if isinstance(node, ast.BoolOp):
        mutated = copy.deepcopy(node)
        mutated.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return mutated, f"boolean {type(node.op).__name__} -> {type(mutated.op).__name__}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return copy.deepcopy(node.operand), "`not` removed"
    return None


def _constant(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    new = value + 1
    return ast.Constant(value=new), f"constant {value!r} -> {new!r}"


def _raise(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, ast.Raise):
        return None
    exc = node.exc
    func = exc.func if isinstance(exc, ast.Call) else exc
    if isinstance(func, ast.Name):
        other = _OTHER_ERROR.get(func.id, "RuntimeError" if func.id != "RuntimeError" else "")
        if other:
            mutated = copy.deepcopy(node)
            target = mutated.exc.func if isinstance(mutated.exc, ast.Call) else mutated.exc
            assert isinstance(target, ast.Name)
            target.id = other
            return mutated, f"raise {func.id} -> {other}"
    return ast.Pass(), "raise removed"


def _return(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, ast.Return):
        return None
    value = node.value
    if isinstance(value, ast.Constant) and isinstance(value.value, bool):
        replacement: ast.expr = ast.Constant(value=not value.value)
    elif value is None or (isinstance(value, ast.Constant) and value.value is None):
        replacement = ast.Constant(value=0)
    else:
        replacement = ast.Constant(value=None)
    return ast.Return(value=replacement), "returned value changed"


def _statement(node: ast.AST) -> tuple[ast.AST, str] | None:
    droppable = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Delete)
    if not isinstance(node, droppable):
        return None
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return None  # a docstring: dropping it changes no behaviour
    return ast.Pass(), "statement dropped"


def _arguments(node: ast.AST) -> tuple[ast.AST, str] | None:
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return None
    first, second = node.args[0], node.args[1]
    if isinstance(first, ast.Starred) or isinstance(second, ast.Starred):
        return None
    mutated = copy.deepcopy(node)
    mutated.args[0], mutated.args[1] = mutated.args[1], mutated.args[0]
    return mutated, "two arguments of a call swapped"


PYTHON_REWRITES: dict[str, Rewrite] = {
    "comparison": _compare,
    "arithmetic": _arithmetic,
    "boolean": _boolean,
    "constant": _constant,
    "raise": _raise,
    "return": _return,
    "statement": _statement,
    "arguments": _arguments,
}


def _positioned(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes in source order (``ast.walk`` is breadth-first: order by position).

    Nodes inside f-strings are left out: before Python 3.12 their positions are not
    reliable enough to splice text at.
    """
    inside = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for child in ast.walk(node)
        if child is not node
    }
    nodes = [
        n
        for n in ast.walk(tree)
        if getattr(n, "end_lineno", None) is not None and id(n) not in inside
    ]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))  # type: ignore[attr-defined]
    return iter(nodes)


def _python_points(path: str, text: str) -> list[Point]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    counts = dict.fromkeys(PYTHON_REWRITES, 0)
    points = []
    for node in _positioned(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstrings
        for operator, rewrite in PYTHON_REWRITES.items():
            if rewrite(node) is not None:
                points.append(Point(path, operator, counts[operator], node.lineno))  # type: ignore[attr-defined]
                counts[operator] += 1
    return points


def _offsets(text: str) -> list[int]:
    """Character offset of each line's start (ast positions are UTF-8 byte columns)."""
    starts, total = [0], 0
    for line in text.splitlines(keepends=True):
        total += len(line.encode("utf-8"))
        starts.append(total)
    return starts


def _apply_python(text: str, point: Point) -> tuple[str, str, int]:
    tree = ast.parse(text)
    rewrite = PYTHON_REWRITES[point.operator]
    seen = 0
    for node in _positioned(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        result = rewrite(node)
        if result is None:
            continue
        if seen < point.occurrence:
            seen += 1
            continue
        replacement, description = result
        source = text.encode("utf-8")
        starts = _offsets(text)
        begin = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        new = ast.unparse(ast.fix_missing_locations(replacement))
        if isinstance(replacement, _NEEDS_PARENTHESES):
            new = f"({new})"  # precedence: the spliced expression stays one operand
        mutated = source[:begin] + new.encode("utf-8") + source[end:]
        return mutated.decode("utf-8"), description, node.lineno  # type: ignore[attr-defined]
    raise ValueError(f"no {point.operator} point #{point.occurrence} in {point.path}")


def _judge_python(original: str, mutated: str) -> Literal["", "equivalent", "does not compile"]:
    try:
        compile(mutated, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return "does not compile"
    if ast.dump(ast.parse(mutated)) == ast.dump(ast.parse(original)):
        return "equivalent"
    return ""


# --- other languages: textual operators ---------------------------------------------

_TEXT_FLIPS = [
    ("==", "!="),
    ("!=", "=="),
    ("<=", "<"),
    (">=", ">"),
    ("&&", "||"),
    ("||", "&&"),
    (" + ", " - "),
    (" - ", " + "),
]
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
_COMMENT_OR_BLANK = re.compile(r"^\s*(?:$|#|//|/\*|\*|--|;)")


def _flips(line: str) -> list[tuple[int, str, str]]:
    found = []
    for old, new in _TEXT_FLIPS:
        start = line.find(old)
        while start != -1:
            found.append((start, old, new))
            start = line.find(old, start + len(old))
    return sorted(found)


def _text_points(path: str, text: str, skip: int) -> list[Point]:
    points = []
    counts = {"comparison": 0, "constant": 0, "statement": 0}

    def add(operator: str, line: int, index: int) -> None:
        points.append(Point(path, operator, counts[operator], line, index))
        counts[operator] += 1

    for number, line in enumerate(text.splitlines(), start=1):
        if number <= skip or _COMMENT_OR_BLANK.match(line):
            continue
        for index in range(len(_flips(line))):
            add("comparison", number, index)
        for index in range(len(_NUMBER.findall(line))):
            add("constant", number, index)
        add("statement", number, 0)
    return points


def _apply_text(text: str, point: Point) -> tuple[str, str, int]:
    lines = text.splitlines(keepends=True)
    line = lines[point.line - 1]
    if point.operator == "statement":
        return "".join(lines[: point.line - 1] + lines[point.line :]), "line deleted", point.line
    if point.operator == "constant":
        match = list(_NUMBER.finditer(line))[point.index]
        new = str(int(match.group()) + 1)
        changed = line[: match.start()] + new + line[match.end() :]
        description = f"literal {match.group()} -> {new}"
    else:
        start, old, rep = _flips(line)[point.index]
        changed = line[:start] + rep + line[start + len(old) :]
        description = f"operator {old.strip()} -> {rep.strip()}"
    lines[point.line - 1] = changed
    return "".join(lines), description, point.line


# --- sampling -----------------------------------------------------------------------


def mutation_points(files: Mapping[str, str], header_lines: Mapping[str, int]) -> list[Point]:
    """Every place an operator applies, in a stable order (file, then position)."""
    points: list[Point] = []
    for path, text in sorted(files.items()):
        if path.endswith(".py"):
            found = _python_points(path, text)
        else:
            found = _text_points(path, text, header_lines.get(path, 0))
        points += [p for p in found if p.line > header_lines.get(path, 0)]
    return points


def seed_mutants(
    files: Mapping[str, str],
    count: int,
    seed: int,
    header_lines: Mapping[str, int] | None = None,
) -> list[Mutant]:
    """``count`` mutants (or as many as there are points), the same for the same seed.

    Each comes back whole; those that are equivalent or do not compile carry the
    reason in ``discarded`` (they count as seeded, but nothing runs on them).
    """
    points = mutation_points(files, header_lines or {})
    chosen = random.Random(seed).sample(points, min(count, len(points)))
    mutants = []
    for number, point in enumerate(chosen, start=1):
        original = files[point.path]
        if point.path.endswith(".py"):
            text, description, line = _apply_python(original, point)
            discarded = _judge_python(original, text)
        else:
            text, description, line = _apply_text(original, point)
            discarded = "equivalent" if text == original else ""
        mutants.append(
            Mutant(number, point.path, point.operator, line, description, text, discarded)
        )
    return mutants
