"""A local OpenAI-compatible server for the examples that need a model (``specmill
doctor``, ``specmill regen`` right after ``specmill init``): it answers as the manual's
own scripted answers say (docs/models.md, "Scripted answers"), chosen by the schema the
request asks for, and any model name it is asked for is one it serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.engine.openai_server import Endpoint, counted, serve

PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.md"
MODELS = ["gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini"]  # what `specmill init` configures


def scripted_answers() -> dict[str, Any]:
    """The answers file of docs/models.md, as the page shows it."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Scripted answers") :]
    (answers,) = re.findall(r"^```yaml\n(.*?)^```", section, re.M | re.S)[:1]
    loaded: dict[str, Any] = yaml.safe_load(answers)
    return loaded


def responder() -> Any:
    script = scripted_answers()
    by_schema = {
        "Plan": script["planner"][0],
        "ExecutorOutput": script["executor"][0],
        "VerifierReport": script["modules"]["example.greeting"]["verifier"][0],
        "DoctorAnswer": {"ok": True},
    }

    def respond(body: dict[str, Any]) -> str | None:
        form = body.get("response_format") or {}
        name = form.get("json_schema", {}).get("name", "")
        return json.dumps(by_schema[name]) if name in by_schema else None

    return respond


@contextmanager
def model_server() -> Iterator[Endpoint]:
    with serve() as endpoint:
        endpoint.models = MODELS
        endpoint.respond = responder()
        endpoint.usage = counted
        yield endpoint
