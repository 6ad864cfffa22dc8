"""Jinja2 templates of the bot (``templates/github/*.j2``, package ``specmill.templates``).

Text that comes from agents or pull requests (finding messages, module ids, paths) is
untrusted: the ``text`` filter keeps it from closing our HTML-comment markers, injecting
HTML or pinging people with @-mentions; ``code`` puts it in an inline code span.
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


def text(value: object) -> str:
    """Untrusted text as Markdown that renders literally and notifies nobody."""
    escaped = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("@", "@\u2060")  # a word joiner breaks @-mentions


def code(value: object) -> str:
    """Untrusted text as one inline code span (backticks inside are fenced around)."""
    value = str(value).replace("\n", " ").replace("\r", " ")
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
    env.filters.update(text=text, code=code, cell=cell, shell=shell, mermaid_label=mermaid_label)
    return env


def render(name: str, **context: Any) -> str:
    return str(environment().get_template(name).render(**context))
