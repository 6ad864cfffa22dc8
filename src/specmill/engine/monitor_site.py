"""Render the monitor's view as one self-contained HTML page, and write it.

Escaping, the one rule: everything from records and specs (module ids, findings,
questions, model names, paths) is untrusted and reaches the page through jinja2's
HTML autoescape, in text and attributes alike; the comparison data goes into a
``<script type="application/json">`` block through ``json_script``, which leaves no
``<``, ``>`` or ``&`` in it; links are built by ``core.monitor.view.spec_href``
(percent-encoded paths under a base we chose). The page's own stylesheet and script
are the only inline code, allowed by their SHA-256 in a Content-Security-Policy whose
``default-src 'none'`` forbids every load from anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
from functools import cache
from pathlib import Path
from typing import Any

from specmill import __version__
from specmill.core.monitor import charts
from specmill.core.monitor.graph import NODE_HEIGHT, NODE_WIDTH
from specmill.core.monitor.modules import GONE
from specmill.core.monitor.view import MonitorView
from specmill.errors import SpecmillError
from specmill.files import write_atomic

FOLDER = "monitor"
PAGE = "index.html"
GENERATOR = f"specmill {__version__} monitor"
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}  # fmt: skip


def _asset(name: str) -> str:
    resource = importlib.resources.files("specmill.templates") / FOLDER / name
    return resource.read_text(encoding="utf-8")


def source_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(script: str, style: str) -> str:
    return (
        f"default-src 'none'; script-src {source_hash(script)}; style-src {source_hash(style)};"
        " img-src data:; base-uri 'none'; form-action 'none'"
    )


def json_script(value: object) -> Any:
    """JSON that cannot end its ``<script>`` block or open a comment in it."""
    import markupsafe

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return markupsafe.Markup(text.translate(_JSON_ESCAPES))


def state_class(state: str) -> str:
    return "gone" if state == GONE else state


@cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("specmill.templates", FOLDER),
        undefined=jinja2.StrictUndefined,
        autoescape=True,  # HTML: every value is escaped unless it is our own Markup
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        usd=charts.usd,
        count=charts.count,
        seconds=charts.seconds,
        percent=charts.percent,
        json_script=json_script,
        state_class=state_class,
    )
    return env


def render_page(view: MonitorView) -> str:
    import markupsafe

    script, style = _asset("monitor.js"), _asset("monitor.css")
    page = (
        environment()
        .get_template("index.html.j2")
        .render(
            view=view,
            csp=content_security_policy(script, style),
            script=markupsafe.Markup(script),
            css=markupsafe.Markup(style),
            data={"runs": view.compare},
            generator=GENERATOR,
            node_width=NODE_WIDTH,
            node_height=NODE_HEIGHT,
        )
    )
    return str(page)


def write_site(folder: Path, page: str) -> Path:
    """``folder/index.html``; a page there that specmill did not write is never replaced."""
    target = folder / PAGE
    if folder.exists() and not folder.is_dir():
        raise SpecmillError(f"{folder} is not a folder", hint="give --out a folder")
    if target.is_file():
        head = target.read_text(encoding="utf-8", errors="replace")[:2000]
        if '<meta name="generator" content="specmill ' not in head:
            raise SpecmillError(
                f"{target} exists and was not written by specmill monitor; nothing was written",
                hint="choose another --out folder",
            )
    write_atomic(target, page)
    return target
