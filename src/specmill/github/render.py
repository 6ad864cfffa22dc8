"""Jinja2 templates of the bot (``templates/github/*.j2``, package ``specmill.templates``).

Text that comes from agents or pull requests (finding messages, module ids, paths,
branch names) is untrusted, and every template passes it through a filter: ``text``
makes it one inert inline run (no block syntax, link, image, HTML, marker or
@-mention); ``code`` puts it in an inline code span; ``cell`` keeps it in its table
cell; ``shell`` quotes it as one shell word; ``mermaid_label`` keeps an allow-list.
"""

from __future__ import annotations

import importlib.resources
import re
import shlex
from functools import cache
from typing import Any

TEMPLATE_PACKAGE = "specmill.templates"
TEMPLATE_FOLDER = "github"


def _source(name: str) -> tuple[str, str, Any]:
    resource = importlib.resources.files(TEMPLATE_PACKAGE) / TEMPLATE_FOLDER / name
    return resource.read_text(encoding="utf-8"), f"{TEMPLATE_FOLDER}/{name}", lambda: True


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PUNCTUATION = re.compile(r"([\\`*_\[\]!#~])")  # emphasis, code, links, images, headings
_LEADING = re.compile(r"^(?:([-+=])|(\d+)([.)]))")  # list items, setext underlines
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=\bwww)(\.)")
WORD_JOINER = "\u2060"


def text(value: object) -> str:
    """Untrusted text as one inert inline run of Markdown that notifies nobody.

    Newlines and other control characters become spaces, so nothing can start a block
    (a heading, a fence, a quote, a list). Markdown punctuation is backslash-escaped,
    so no link, image, emphasis or code span opens; ``<``, ``>`` and ``&`` become
    entities (no HTML, no comment marker); a word joiner breaks @-mentions (and
    e-mail autolinks) and GitHub's autolinks of bare ``https://`` and ``www.`` addresses.
    """
    value = " ".join(_CONTROL.sub(" ", str(value)).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _PUNCTUATION.sub(r"\\\1", value)
    value = _LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", value)
    value = _AUTOLINK.sub(lambda m: m[1] + WORD_JOINER if m[1] else WORD_JOINER + m[2], value)
    return value.replace("@", "@" + WORD_JOINER)


_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?\Z")


def mention(value: object) -> str:
    """``@login`` for a GitHub user name (the one mention we mean), anything else as text.

    A team (``acme/everyone``) or anything that is not a login never notifies anyone.
    """
    login = str(value)
    return f"@{login}" if _LOGIN.match(login) else text(f"@{login}")


def code(value: object) -> str:
    """Untrusted text as one inline code span (backticks inside are fenced around)."""
    value = _CONTROL.sub(" ", str(value))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def cell(value: object) -> str:
    """Rendered Markdown made safe inside a table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def shell(value: object) -> str:
    """One shell word, for the reproduce-locally commands."""
    return shlex.quote(" ".join(str(value).split()))


def mermaid_label(value: object) -> str:
    """Text safe inside a Mermaid ``["…"]`` node label: an allow-list of characters.

    Anything else (quotes, brackets, newlines that would start a ``click … href``
    statement, entities, Markdown) is dropped, not escaped.
    """
    return re.sub(r"[^A-Za-z0-9_.\- ]", "", str(value))[:200]


@cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML: untrusted text goes through |text or |code
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        text=text, code=code, cell=cell, shell=shell, mermaid_label=mermaid_label, mention=mention
    )
    return env


def render(name: str, **context: Any) -> str:
    return str(environment().get_template(name).render(**context))
