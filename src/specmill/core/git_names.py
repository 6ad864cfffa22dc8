"""How ``git apply`` reads a file name out of a patch line: git's ``apply.c``, ported. Pure.

The patch reader (``specmill.core.git_patch``) must find exactly the names git finds, or
a patch could name one file to us and another to git. So these functions follow git's
C code step by step (git 2.39: ``find_name``, ``find_name_gnu``, ``find_name_common``,
``git_header_name``, ``skip_tree_prefix``, ``squash_slash``; ``unquote_c_style`` from
``quote.c``), quirks included: they work on the whole patch (``buf``) from an offset, as
git's do on its NUL-terminated buffer (a quoted name may run past the end of its line,
a search for ``.`` may find one on a later line), and "white space" is git's own
(space, tab, line feed, carriage return), not Python's.
"""

from __future__ import annotations

GIT_SPACE = b" \t\n\r"  # git's sane_ctype: \v and \f are not space to git
TERM_TAB = 2  # a tab ends a "---"/"+++" name; a space does not (git's TERM_TAB)
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9}
_ESCAPES |= {ord("v"): 11, ord("\\"): ord("\\"), ord('"'): ord('"')}


def at(buf: bytes, pos: int) -> int:
    """The byte at ``pos``, or 0 past the end (git's buffer ends in NUL bytes)."""
    return buf[pos] if 0 <= pos < len(buf) else 0


def is_space(byte: int) -> bool:
    return byte != 0 and byte in GIT_SPACE


def unquote_c_style(buf: bytes, pos: int) -> tuple[bytes, int] | None:
    """A C-quoted name starting at ``pos`` (``"a/caf\\303\\251"``): its bytes, and the
    offset past the closing quote; None where git's ``unquote_c_style`` fails."""
    if at(buf, pos) != ord('"'):
        return None
    pos += 1
    out = bytearray()
    while True:
        char = at(buf, pos)
        pos += 1
        if char == ord('"'):
            return bytes(out), pos
        if char != ord("\\"):
            if char == 0:
                return None
            out.append(char)
            continue
        char = at(buf, pos)
        pos += 1
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord("0") <= char <= ord("3"):
            value = char - ord("0")
            for _ in range(2):
                digit = at(buf, pos)
                pos += 1
                if not ord("0") <= digit <= ord("7"):
                    return None
                value = value << 3 | (digit - ord("0"))
            out.append(value)
        else:
            return None


def squash_slash(name: bytes | None) -> bytes | None:
    """``a//b`` as ``a/b`` (git removes double slashes from every name it finds)."""
    if name is None:
        return None
    while b"//" in name:
        name = name.replace(b"//", b"/")
    return name


def _until_nul(name: bytes) -> bytes:
    """A name as C sees it: up to its first NUL byte (``\\000`` in a quoted name)."""
    return name.split(b"\0", 1)[0]


def find_name_gnu(buf: bytes, pos: int, p_value: int) -> bytes | None:
    unquoted = unquote_c_style(buf, pos)
    if unquoted is None:
        return None
    name = _until_nul(unquoted[0])
    cut = 0
    for _ in range(p_value):
        slash = name.find(b"/", cut)
        if slash < 0:
            return None
        cut = slash + 1
    return squash_slash(name[cut:])


def find_name_common(
    buf: bytes, pos: int, default: bytes | None, p_value: int, terminate: int
) -> bytes | None:
    start = pos if p_value == 0 else None
    while True:
        char = at(buf, pos)
        if is_space(char) and (char == ord("\n") or _terminates(char, terminate)):
            break
        if char == 0 and pos >= len(buf):
            break  # git would read past its buffer here; no line of ours ends like this
        pos += 1
        if char == ord("/"):
            p_value -= 1
            if p_value == 0:
                start = pos
    if start is None or pos == start:
        return squash_slash(default)
    name = buf[start:pos]
    if default is not None and len(default) < len(name) and name.startswith(default):
        return squash_slash(default)
    return squash_slash(_until_nul(name))


def _terminates(char: int, terminate: int) -> bool:
    if char == ord(" "):
        return False  # neither TERM_SPACE is ever asked for
    return not (char == ord("\t") and not terminate & TERM_TAB)


def find_name(
    buf: bytes, pos: int, default: bytes | None, p_value: int, terminate: int
) -> bytes | None:
    if at(buf, pos) == ord('"'):
        name = find_name_gnu(buf, pos, p_value)
        if name is not None:
            return name
    return find_name_common(buf, pos, default, p_value, terminate)


def is_dev_null(buf: bytes, pos: int) -> bool:
    return buf.startswith(b"/dev/null", pos) and is_space(at(buf, pos + 9))


def skip_tree_prefix(p_value: int, text: bytes) -> int | None:
    """Where the name starts after ``p_value`` leading components; None: absolute."""
    if not p_value:
        return None if text[:1] == b"/" else 0
    slashes = p_value
    for index, char in enumerate(text):
        if char == ord("/"):
            slashes -= 1
            if slashes <= 0:
                return None if index == 0 else index + 1
    return None


def git_header_name(buf: bytes, pos: int, length: int, p_value: int = 1) -> bytes | None:
    """The name a ``diff --git`` line gives both sides (git's ``def_name``), or None."""
    line, end = pos + len(b"diff --git "), pos + length
    if at(buf, line) == ord('"'):
        opening = unquote_c_style(buf, line)
        if opening is None:
            return None
        name, second = _until_nul(opening[0]), opening[1]
        cut = skip_tree_prefix(p_value, name)
        if cut is None:
            return None
        name = name[cut:]
        while second < end and is_space(at(buf, second)):
            second += 1
        if end <= second:
            return None
        if at(buf, second) == ord('"'):
            other = unquote_c_style(buf, second)
            if other is None:
                return None
            text = _until_nul(other[0])
            cut = skip_tree_prefix(p_value, text)
            return name if cut is not None and text[cut:] == name else None
        rest = buf[second:end]
        cut = skip_tree_prefix(p_value, rest)
        return name if cut is not None and rest[cut:] == name else None
    start = skip_tree_prefix(p_value, buf[line:end])
    if start is None:
        return None
    first = line + start
    for quote in range(first, end):
        if buf[quote] == ord('"'):
            other = unquote_c_style(buf, quote)
            if other is None:
                return None
            text = _until_nul(other[0])
            cut = skip_tree_prefix(p_value, text)
            if cut is None:
                return None
            tail = text[cut:]
            if (
                len(tail) < quote - first
                and buf[first : first + len(tail)] == tail
                and is_space(at(buf, first + len(tail)))
            ):
                return tail
            return None
    line_end = buf.find(b"\n", first)
    if line_end < 0:
        return None
    line_len = line_end - first
    for size in range(line_len + 1):
        char = at(buf, first + size)
        if char == ord("\n"):
            return None
        if char not in (ord("\t"), ord(" ")):
            continue
        if at(buf, first + size + 1) == 0:
            return None
        text = buf[first + size + 1 : first + line_len]
        cut = skip_tree_prefix(p_value, text)
        if cut is None:
            return None  # git 2.39 gives up here (later gits look for another space)
        second = first + size + 1 + cut
        if (
            at(buf, second + size) == ord("\n")
            and buf[second : second + size] == buf[first : first + size]
        ):
            return buf[first : first + size]
    return None
