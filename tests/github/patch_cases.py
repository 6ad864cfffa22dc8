"""Patches for the differential test, built from a recipe of bytes (hypothesis draws it).

One ``st.binary`` draw per patch keeps generation fast (a draw per choice costs
hypothesis a hundred times more), and shrinks well: every choice reads the next byte,
and a zero byte picks the simplest option (a canonical ``git format-patch`` shape, no
mutation). The repository the patches apply to is ``FILES``; ``ALLOWED`` are the
outputs the guard may let a patch change.
"""

from __future__ import annotations

from collections.abc import Callable

FILES = {  # path: (mode, content); mode 120000: a symbolic link to the content
    "src/calc.py": ("100644", "def add(a, b):\n    return a + b\n"),
    "src/util.py": ("100644", "x = 1\ny = 2\nz = 3\n"),
    "tests/test_calc.py": ("100644", "def test_add():\n    assert True\n"),
    "bin/tool.sh": ("100755", "#!/bin/sh\necho tool\n"),
    "src/café.py": ("100644", "c = 1\n"),
    "src/noeol.py": ("100644", "n = 1"),
    "src/alias.py": ("120000", "calc.py"),
    "lib": ("120000", "src"),
    ".github/workflows/ci.yml": ("100644", "on: push\njobs: {}\n"),
    ".env": ("100644", "TOKEN=secret\n"),
    "README.md": ("100644", "# readme\n"),
    "specs/calc.md": ("100644", "---\noutputs: [src/calc.py]\n---\n# Calc\n"),
    "docs/guide.md": ("100644", "guide\n"),
}
ALLOWED = frozenset(
    {
        "src/calc.py", "src/util.py", "tests/test_calc.py", "bin/tool.sh", "src/café.py",
        "src/noeol.py", "src/alias.py", "src/new.py", "tests/test_new.py", "lib/extra.py",
        "docs",
    }
)  # fmt: skip
PROTECTED = (".github/**", "specs/**", "specmill.toml", ".specmill/**")
POOL = [
    "src/calc.py", *sorted(ALLOWED - {"src/calc.py"}),
    ".github/workflows/ci.yml", ".github/workflows/evil.yml", ".env", "README.md",
    "specs/calc.md", "docs/guide.md", "src", ".git/config", "src/../.env", "SRC/calc.py",
    "src//calc.py", "/etc/passwd", "src/calc.py ",
]  # fmt: skip
MODES = ["100644", "100755", "120000", "160000", "100664", "644", "040000", "0100644"]
NEW_LINES = ["x = 2", "print('hi')", "on: push", "TOKEN=leak", ""]
KINDS = ["modify"] * 6 + ["create"] * 2 + ["delete", "rename", "copy", "mode"]
GIT_BINARY = "GIT binary patch\nliteral 3\nKcmZQzWC8#H2LJ>B\n\nliteral 2\nJcmYe~0ssKc0BisN\n"
RECIPE_BYTES = 48  # per patch; past its end every choice is the simplest


class Recipe:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        value = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return value

    def pick(self, options: list[str]) -> str:
        return options[self.byte() % len(options)]

    def number(self, top: int) -> int:
        return self.byte() % (top + 1)

    def rarely(self, one_in: int) -> bool:
        """True one time in ``one_in`` (never for a zero byte)."""
        value = self.byte()
        return value != 0 and value % one_in == 0


def quoted(path: str) -> str:
    """git's C-style quoting, forced (git quotes only when it must)."""
    out = []
    for byte in path.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def name(prefix: str, path: str, quote: bool) -> str:
    if path == "/dev/null":
        return path
    return quoted(prefix + path) if quote else prefix + path


def hunk(r: Recipe, path: str, kind: str) -> list[str]:
    """One hunk, most often against ``path``'s real content (so that git can apply it)."""
    source = r.pick(sorted(FILES)) if r.rarely(10) else path
    text = FILES.get(source, ("100644", "line one\nline two\n"))[1]
    lines = text.split("\n")
    complete = lines[-1] == ""
    body = lines[:-1] if complete else lines
    added = [r.pick(NEW_LINES) for _ in range(1 + r.number(1))]
    if kind == "create":
        out = [f"@@ -0,0 +1,{len(added)} @@", *("+" + line for line in added)]
    elif kind == "delete":
        out = [f"@@ -1,{len(body)} +0,0 @@", *("-" + line for line in body)]
    else:
        keep = [" " + line for line in body[:-1]]
        out = [f"@@ -1,{len(body)} +1,{len(keep) + len(added)} @@", *keep, "-" + body[-1]]
        if not complete:
            out.append("\\ No newline at end of file")
        out += ["+" + line for line in added]
    if r.rarely(20):  # a count that does not match the lines
        out[0] = out[0].replace(" @@", "1 @@", 1)
    return out


def file_patch(r: Recipe) -> list[str]:
    """A file patch: plausible (an allowed path, one mutation at most) or hostile."""
    plausible = r.byte() < 160
    paths = sorted(ALLOWED) if plausible else POOL
    kind = r.pick(KINDS)
    old = r.pick(paths)
    new = r.pick(paths) if kind in ("rename", "copy") else old
    quote = r.rarely(8)
    header = [f"diff --git {name('a/', old, quote)} {name('b/', new, quote)}"]
    mode = FILES.get(old, ("100644", ""))[0]
    extended = {
        "create": ["new file mode 100644", "index 0000000..1234567"],
        "delete": [f"deleted file mode {mode}", "index 1234567..0000000"],
        "rename": [f"similarity index {r.number(100)}%", f"rename from {name('', old, quote)}",
                   f"rename to {name('', new, quote)}"],
        "copy": [f"similarity index {r.number(100)}%", f"copy from {name('', old, quote)}",
                 f"copy to {name('', new, quote)}"],
        "mode": [f"old mode {r.pick(MODES)}", f"new mode {r.pick(MODES)}"],
    }.get(kind, [f"index 1234567..89abcde {mode}"])  # fmt: skip
    minus = "/dev/null" if kind == "create" else name("a/", old, quote)
    plus = "/dev/null" if kind == "delete" else name("b/", new, quote)
    body: list[str] = []
    if kind != "mode" and not r.rarely(12):
        body = [f"--- {minus}", f"+++ {plus}", *hunk(r, old if kind == "delete" else new, kind)]
    for _ in range(r.number(1 if plausible else 3)):
        mutate = MUTATIONS[r.pick(sorted(MUTATIONS))]
        header, extended, body = mutate(r, header, extended, body)
    return header + extended + body


Part = list[str]
Parts = tuple[Part, Part, Part]  # the diff --git line(s), the extended header, the rest


def other_minus(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    path = r.pick(POOL)
    return h, e, [f"--- a/{path}" if x.startswith("--- ") else x for x in b]


def other_plus(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    path = r.pick(POOL)
    return h, e, [f"+++ b/{path}" if x.startswith("+++ ") else x for x in b]


def legacy_rename(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    return h, [*e, f"rename old {r.pick(POOL)}", f"rename new {r.pick(POOL)}"], b


def synonyms(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    swap = {"rename from ": "rename old ", "rename to ": "rename new "}
    out = []
    for line in e:
        for canonical, legacy in swap.items():
            if line.startswith(canonical):
                line = legacy + line[len(canonical) :]
        out.append(line)
    return h, out, b


def copy_lines(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    return h, [*e, f"copy from {r.pick(POOL)}", f"copy to {r.pick(POOL)}"], b


def mode_line(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    line = r.pick(["old mode", "new mode", "new file mode", "deleted file mode"])
    return h, [*e, f"{line}{r.pick([' ', '  ', ' 0'])}{r.pick(MODES)}"], b


def index_mode(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    return h, [*e, f"index 1234567..89abcde {r.pick(MODES)}"], b


def crlf(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    every = r.rarely(2)
    head = [x + "\r" if every or x.startswith(("---", "+++")) else x for x in h + e]
    return head[: len(h)], head[len(h) :], [x + "\r" if every else x for x in b]


def skipped_header(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    """A ``diff --git`` line git skips, whose names the next file patch keeps."""
    path = r.pick(POOL)
    return [f"diff --git a/{path} b/{path}", "not a header line", *h], e, b


def binary(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    path = r.pick(POOL)
    marker = r.pick(
        [f"Files a/{path} and b/{path} differ", f"Binary files a/{path} and b/{path} differ",
         GIT_BINARY]
    )  # fmt: skip
    return h, [x for x in e if not x.startswith(("---", "+++"))], marker.split("\n")


def drop_names(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    return h, e, [x for x in b if not x.startswith(("--- ", "+++ "))]


def timestamp(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    stamp = "\t2024-01-01 00:00:00.000000000 +0000"
    return h, e, [x + stamp if x.startswith(("--- ", "+++ ")) else x for x in b]


def similarity(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    what = r.pick(["similarity", "dissimilarity"])
    return h, [*e, f"{what} index {r.number(120)}%"], b


def shuffle(r: Recipe, h: Part, e: Part, b: Part) -> Parts:
    e = list(e)
    for i in range(len(e) - 1, 0, -1):
        j = r.number(i)
        e[i], e[j] = e[j], e[i]
    return h, e, b


MUTATIONS: dict[str, Callable[[Recipe, Part, Part, Part], Parts]] = {
    f.__name__: f
    for f in (
        other_minus, other_plus, legacy_rename, synonyms, copy_lines, mode_line, index_mode,
        crlf, skipped_header, binary, drop_names, timestamp, similarity, shuffle,
    )
}  # fmt: skip
PROLOGUES = [
    [],
    ["From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001",
     "Subject: [PATCH] specmill: regenerate", "", "---", " 1 file changed", ""],
    ["--- a/src/calc.py", "+++ b/src/calc.py", "not a hunk"],
]  # fmt: skip


def build_patch(recipe: bytes) -> str:
    """The patch a recipe describes: a prologue, then one to three file patches."""
    r = Recipe(recipe)
    prologue = PROLOGUES[r.number(len(PROLOGUES) - 1)]
    files = [file_patch(r) for _ in range(1 + r.number(2))]
    return "\n".join([*prologue, *(line for lines in files for line in lines)]) + "\n"
