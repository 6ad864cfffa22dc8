"""Size bounds in the schema a server's grammar enforces: valid where they go, never
tighter than a real answer."""

from __future__ import annotations

import importlib.resources
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from specmill.core.records import ExecutorEdits, ExecutorOutput, Plan, VerifierReport
from specmill.llm.structured import response_format

AGENT_ANSWERS = [Plan, ExecutorOutput, ExecutorEdits, VerifierReport]
ROLE_ANSWERS = {"planner": Plan, "executor": ExecutorOutput, "verifier": VerifierReport}
# OpenAI's Structured Outputs guide, "Supported schemas" (strict mode): the types, the
# composition keywords, annotations, and the constraints it lists: string pattern and
# format; number multipleOf, maximum, exclusiveMaximum, minimum, exclusiveMinimum;
# array minItems and maxItems. minLength and maxLength are not among them.
OPENAI_STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "anyOf",
    "$defs", "$ref", "enum", "const", "title", "description",
    "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "minItems", "maxItems",
}  # fmt: skip
LLAMA_CPP_MAX_REPETITION = 2000  # src/llama-grammar.cpp MAX_REPETITION_THRESHOLD


def _schema(model: type[BaseModel], mode: str, bounds: str) -> dict[str, Any]:
    sent = response_format(model, mode, bounds=bounds)  # type: ignore[arg-type]
    assert sent is not None
    return sent["json_schema"]["schema"] if mode == "json_schema" else sent["schema"]


def _keywords(node: Any, inside_properties: bool = False) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_properties:
                found.add(key)
            found |= _keywords(value, inside_properties=key in ("properties", "$defs"))
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


@pytest.mark.parametrize("model", AGENT_ANSWERS, ids=lambda m: m.__name__)
def test_what_goes_to_openai_stays_within_its_strict_mode(model):
    schema = _schema(model, "json_schema", "items")
    used = _keywords(schema)
    assert used <= OPENAI_STRICT_KEYWORDS, used - OPENAI_STRICT_KEYWORDS
    assert "maxItems" in used and "maxLength" not in used
    assert "maxItems" not in _keywords(_schema(model, "json_schema", "none"))  # fine-tuned


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema"])
def test_a_local_grammar_gets_item_counts_and_text_lengths(mode):
    schema = _schema(ExecutorEdits, mode, "items-and-lengths")
    edit = schema["$defs"]["SearchReplace"]["properties"]
    assert "maxLength" not in edit["search"] and "maxLength" not in edit["replace"]
    assert "maxLength" in edit["path"] and "maxItems" in schema["properties"]["edits"]
    whole = schema["$defs"]["FileContent"]["properties"]
    assert "maxLength" not in whole["content"]  # a whole file is not bounded
    lines = whole["requirement_lines"]["anyOf"][0]  # list | None: the list is bounded
    assert lines["maxItems"] >= 100


@pytest.mark.parametrize("model", AGENT_ANSWERS, ids=lambda m: m.__name__)
def test_every_bound_fits_llama_cpp_grammar_limits(model):
    for bound in _bounds(_schema(model, "json_schema", "items-and-lengths")):
        assert 0 < bound <= LLAMA_CPP_MAX_REPETITION


def test_the_demo_model_real_answers_fit_the_bounds():
    script = importlib.resources.files("specmill.templates").joinpath("demo", "model.yaml")
    modules = yaml.safe_load(script.read_text(encoding="utf-8"))["modules"]
    checked = 0
    for roles in modules.values():
        for role, answers in roles.items():
            schema = _schema(ROLE_ANSWERS[role], "json_schema", "items-and-lengths")
            for answer in answers:
                assert _overruns(answer, schema, schema) == [], (role, answer)
                checked += 1
    assert checked == 11


def test_a_bound_is_caught_by_the_checker_used_above():
    schema = _schema(Plan, "json_schema", "items-and-lengths")
    plan = {"files": [], "public_api": [], "steps": [], "complexity": "low", "ambiguities": []}
    plan["approaches"] = ["one way"] * 6
    plan["public_api"] = ["x" * 1001]
    assert _overruns(plan, schema, schema) == ["public_api: 1001 chars", "approaches: 6 items"]


def _bounds(node: Any) -> list[int]:
    found: list[int] = []
    if isinstance(node, dict):
        found += [node[k] for k in ("maxItems", "maxLength") if k in node]
        for value in node.values():
            found += _bounds(value)
    elif isinstance(node, list):
        for item in node:
            found += _bounds(item)
    return found


def _overruns(data: Any, node: dict[str, Any], root: dict[str, Any], at: str = "") -> list[str]:
    """Where ``data`` exceeds a maxItems or maxLength of ``node``."""
    if "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    for branch in node.get("anyOf", []):
        if branch.get("type") == {list: "array", str: "string", dict: "object"}.get(type(data)):
            node = branch
    found: list[str] = []
    if isinstance(data, list):
        if len(data) > node.get("maxItems", len(data)):
            found.append(f"{at}: {len(data)} items")
        for item in data:
            found += _overruns(item, node.get("items", {}), root, at)
    elif isinstance(data, str) and len(data) > node.get("maxLength", len(data)):
        found.append(f"{at}: {len(data)} chars")
    elif isinstance(data, dict):
        for key, value in data.items():
            found += _overruns(value, node.get("properties", {}).get(key, {}), root, key)
    return found
