"""The public interface of a JavaScript or TypeScript module, as Python's is shown.

What another module can use: its exported declarations (``export …``, ``export { a }``,
``export default``, ``module.exports = { a }``, ``exports.a = …``, re-exports), and in
an exported class its public members (not ``#x``, ``_x``, ``private`` or ``protected``
ones). Function and method bodies become ``{ … }``; a doc comment is cut to its
summary, one line (a JSDoc block's first paragraph, before its ``@`` tags), as a
Python docstring is cut to its first paragraph; other comments inside go. Imports,
private helpers and side effects are left out. A module that exports nothing (a
script) is shown as every top-level declaration with bodies cut, doc comments cut the
same way. Pure: text in, text out (``None`` when it does not parse cleanly).
"""

from __future__ import annotations

import re
from typing import Any

from specmill.engine.interface import BODY_OWNERS, function_body, tree_sitter_parser

# Top-level statements that declare names, and where their names are.
_DECLARATIONS = {
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "abstract_class_declaration",
    "lexical_declaration",
    "variable_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "function_signature",
}
_MEMBERS = {
    "method_definition",
    "public_field_definition",
    "field_definition",
    "method_signature",
    "abstract_method_signature",
}
_CJS = re.compile(rb"^\s*(module\.)?exports\b")


def js_interface(text: str, language: str) -> str | None:
    parser = tree_sitter_parser(language)
    if parser is None:
        return None
    source = text.encode("utf-8", "surrogateescape")
    tree = parser.parse(source)
    if tree.root_node.has_error:
        return None
    return _Module(source).render(tree.root_node)


class _Module:
    def __init__(self, source: bytes) -> None:
        self.source = source

    def text(self, node: Any) -> bytes:
        return bytes(self.source[node.start_byte : node.end_byte])

    def render(self, root: Any) -> str:
        statements = list(root.named_children)
        exported = self._exported_names(statements)
        everything = not exported and not any(self._exports(s) for s in statements)
        kept = [
            self._exports(node)
            or self._declares(node, exported)
            or (everything and node.type in _DECLARATIONS)
            for node in statements
        ]
        blocks: list[bytes] = []
        docs: list[Any] = []  # the comments just above the next statement
        for index, node in enumerate(statements):
            if node.type == "comment":
                after = index + 1
                documents = after < len(statements) and kept[after]
                if index == 0 and not (documents and _touch(node, statements[after])):
                    blocks.append(summary(self.text(node)))  # the module's own doc
                else:
                    docs.append(node)
                continue
            if kept[index]:
                doc = _doc_of(docs, node)
                shown = summary(self.text(doc)) if doc is not None else b""
                blocks.append(shown + b"\n" + self.cut(node) if shown else self.cut(node))
            docs = []
        shown = b"\n\n".join(block for block in blocks if block)
        text = shown.decode("utf-8", "surrogateescape")
        # the lines left blank by what was taken out: no run of them, none after "{" or before "}"
        text = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", text)
        text = re.sub(r"\{\n(?:[ \t]*\n)+", "{\n", text)
        text = re.sub(r"\n(?:[ \t]*\n)+([ \t]*\})", r"\n\1", text)
        return text + "\n" if text else ""

    def _exports(self, node: Any) -> bool:
        if node.type == "export_statement":
            return True
        return node.type == "expression_statement" and bool(_CJS.match(self.text(node)))

    def _exported_names(self, statements: list[Any]) -> set[bytes]:
        """Local names exported by ``export { a as b }``, ``export default a`` or
        ``module.exports = { a, b: c }`` / ``module.exports = a``."""
        names: set[bytes] = set()
        for node in statements:
            if node.type == "export_statement":
                value = node.child_by_field_name("value")
                if value is not None and value.type == "identifier":
                    names.add(self.text(value))
                for clause in (c for c in node.named_children if c.type == "export_clause"):
                    for spec in clause.named_children:
                        name = spec.child_by_field_name("name")
                        if name is not None and node.child_by_field_name("source") is None:
                            names.add(self.text(name))
            elif self._exports(node):
                names |= self._commonjs_names(node)
        return names

    def _commonjs_names(self, node: Any) -> set[bytes]:
        """``module.exports = a``, ``= { a, b: c }``, ``exports.x = a``: a, b's c."""
        assignment = node.named_children[0] if node.named_children else None
        right = assignment.child_by_field_name("right") if assignment is not None else None
        if right is None:
            return set()
        if right.type == "identifier":
            return {self.text(right)}
        names = set()
        for item in right.named_children if right.type == "object" else []:
            value = item.child_by_field_name("value") if item.type == "pair" else item
            if value is not None and value.type in ("identifier", "shorthand_property_identifier"):
                names.add(self.text(value))
        return names

    def _declares(self, node: Any, names: set[bytes]) -> bool:
        if node.type not in _DECLARATIONS:
            return False
        name = node.child_by_field_name("name")
        if name is not None:
            return self.text(name) in names
        declared = [d.child_by_field_name("name") for d in node.named_children]
        return any(d is not None and self.text(d) in names for d in declared)

    def cut(self, node: Any) -> bytes:
        """``node``'s text with bodies cut, private members dropped, docs summarised."""
        edits: list[tuple[int, int, bytes]] = []
        pending = [node]
        while pending:
            current = pending.pop()
            if current.type == "class_body":
                edits += self._members(current)
                continue
            body = function_body(current) if BODY_OWNERS.search(current.type) else None
            if body is not None and self.source[body.start_byte : body.start_byte + 1] == b"{":
                edits.append((body.start_byte, body.end_byte, "{ … }".encode()))
                continue
            if current.type == "comment" and current is not node:
                edits.append((current.start_byte, current.end_byte, summary(self.text(current))))
                continue
            pending.extend(current.named_children)
        out, position = b"", node.start_byte
        for start, end, replacement in sorted(edits):
            out += self.source[position:start] + replacement
            position = end
        return out + self.source[position : node.end_byte]

    def _members(self, body: Any) -> list[tuple[int, int, bytes]]:
        """Edits of a class body: private members go, with their docs and their ``;``;
        public ones are cut like any declaration, their docs summarised; comments that
        document no public member (section banners, notes) go."""
        edits: list[tuple[int, int, bytes]] = []
        children = list(body.children)
        for index, member in enumerate(children):
            after = children[index + 1] if index + 1 < len(children) else None
            if member.type == "comment":
                documents = after is not None and after.type in _MEMBERS and _touch(member, after)
                if not documents or self._private(after):
                    edits.append(self._removal(member.start_byte, member.end_byte))
                else:
                    edits.append((member.start_byte, member.end_byte, summary(self.text(member))))
            elif member.type in _MEMBERS and self._private(member):
                end = after.end_byte if after is not None and after.type == ";" else member.end_byte
                edits.append(self._removal(member.start_byte, end))
            elif member.type in _MEMBERS:
                edits.append((member.start_byte, member.end_byte, self.cut(member)))
        return edits

    def _removal(self, start: int, end: int) -> tuple[int, int, bytes]:
        """Remove source[start:end], and its line when nothing else is on it."""
        return (_line_start(self.source, start), _line_end(self.source, end), b"")

    def _private(self, member: Any) -> bool:
        name = member.child_by_field_name("name") or member.child_by_field_name("property")
        if name is not None and (
            name.type == "private_property_identifier" or self.text(name).startswith(b"_")
        ):
            return True
        return any(
            c.type == "accessibility_modifier" and self.text(c) in (b"private", b"protected")
            for c in member.children
        )


def summary(comment: bytes) -> bytes:
    """A doc comment cut to one line: a block's first paragraph before its @tags, a line
    comment's first line. Empty when nothing is left but tags."""
    text = comment.decode("utf-8", "surrogateescape")
    if text.startswith("//"):
        return text.split("\n", 1)[0].rstrip().encode("utf-8", "surrogateescape")
    opener = "/**" if text.startswith("/**") else "/*"
    lines = [line.strip().lstrip("*").strip() for line in text[len(opener) : -2].split("\n")]
    words: list[str] = []
    for line in lines:
        if line.startswith("@") or (not line and words):
            break
        if line:
            words.append(line)
    joined = " ".join(words)
    return f"{opener} {joined} */".encode("utf-8", "surrogateescape") if joined else b""


def _doc_of(comments: list[Any], node: Any) -> Any:
    """The first comment of the run that ends right above ``node`` (a run of ``//``
    lines is one doc), else None."""
    if not comments or not _touch(comments[-1], node):
        return None
    first = len(comments) - 1
    while first and _touch(comments[first - 1], comments[first]):
        first -= 1
    return comments[first]


def _touch(comment: Any, node: Any) -> bool:
    """Whether ``comment`` ends on the line just above ``node`` (or on its line)."""
    return bool(comment.end_point[0] + 1 >= node.start_point[0])


def _line_start(source: bytes, position: int) -> int:
    """The start of ``position``'s line when only blanks precede it there."""
    start = source.rfind(b"\n", 0, position) + 1
    return start if not source[start:position].strip() else position


def _line_end(source: bytes, position: int) -> int:
    """Past the line end after ``position`` when only blanks follow it there."""
    end = source.find(b"\n", position)
    end = len(source) if end < 0 else end
    return end + 1 if not source[position:end].strip() else position
