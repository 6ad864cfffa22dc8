"""Structured output, pure: strict schemas, tolerant parsing, what the model is told."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from specmill.core.records import Plan, VerifierReport
from specmill.llm.structured import (
    AnswerProblem,
    extract_json,
    format_instruction,
    parse_answer,
    response_format,
    strict_json_schema,
    with_instruction,
)


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    weight: int = 1


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inner: Inner = Field(description="a $ref with a sibling key")
    note: str | None = None
    tags: list[str] = Field(default_factory=list)


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node))
    return set()


@pytest.mark.parametrize("model", [Outer, Plan, VerifierReport])
def test_strict_schema_requires_everything_and_forbids_extras(model: type[BaseModel]) -> None:
    schema = strict_json_schema(model)
    objects = _objects(schema)
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert "default" not in _keys(schema)


def test_a_ref_with_siblings_is_inlined() -> None:
    inner = strict_json_schema(Outer)["properties"]["inner"]
    assert "$ref" not in inner
    assert inner["description"] == "a $ref with a sibling key"
    assert inner["required"] == ["name", "weight"]


def test_nulls_for_optional_fields_still_validate() -> None:
    """Strict mode makes the model write null where it would omit a key."""
    value = parse_answer('{"inner": {"name": "a", "weight": 2}, "note": null, "tags": []}', Outer)
    assert value.note is None


def test_response_format_per_mode() -> None:
    assert response_format(Outer, "json_schema")["json_schema"]["name"] == "Outer"  # type: ignore[index]
    assert response_format(Outer, "json_object") == {"type": "json_object"}
    assert response_format(Outer, "none") is None


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "a"}',
        '```json\n{"name": "a"}\n```',
        '```\n{"name": "a"}\n```',
        'Sure! Here it is:\n```json\n{"name": "a"}\n```\nAnything else?',
        'The answer is {"name": "a"} as requested.',
        '<think>maybe {"name": "b"}?</think>\n{"name": "a"}',
    ],
)
def test_json_is_found_in_chatty_answers(text: str) -> None:
    assert parse_answer(text, Inner) == Inner(name="a")


def test_prose_is_a_problem_saying_it_is_not_json() -> None:
    with pytest.raises(AnswerProblem, match="not valid JSON"):
        parse_answer("Looks good to me.", Inner)


def test_an_empty_answer_is_a_problem() -> None:
    with pytest.raises(AnswerProblem, match="empty"):
        parse_answer("   ", Inner)


def test_a_validation_problem_lists_fields_by_path() -> None:
    with pytest.raises(AnswerProblem) as caught:
        parse_answer('{"inner": {"weight": "heavy"}, "colour": "red"}', Outer)
    message = str(caught.value)
    assert "inner.name: Field required" in message
    assert "inner.weight:" in message
    assert "colour: Extra inputs are not permitted" in message


def test_extract_json_leaves_plain_json_alone() -> None:
    assert extract_json(" [1, 2] ") == "[1, 2]"


def test_instruction_goes_into_the_system_message_without_mutating() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Go"}]
    out = with_instruction(messages, format_instruction(Inner))
    assert len(out) == 2
    assert out[0]["content"].startswith("Be brief.\n\n")
    assert "JSON" in out[0]["content"] and '"name"' in out[0]["content"]
    assert messages[0]["content"] == "Be brief."


def test_instruction_adds_a_system_message_when_there_is_none() -> None:
    out = with_instruction([{"role": "user", "content": "Go"}], "Answer in JSON.")
    assert out == [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Go"},
    ]


@pytest.mark.parametrize("model", [Plan, VerifierReport])
def test_agent_schemas_match_what_the_sdk_itself_sends(model: type[BaseModel]) -> None:
    """Our schema for agent answers is the one ``client.chat.completions.parse`` sends.

    If a new SDK changes its strict conversion, this says so before OpenAI does.
    """
    from openai.lib import type_to_response_format_param

    sdk = type_to_response_format_param(model)
    assert strict_json_schema(model) == sdk["json_schema"]["schema"]  # type: ignore[index]


def test_a_raw_newline_inside_a_string_is_read_as_itself() -> None:
    """Gemma 3 270M on llama-cpp-python wrote this under a JSON grammar."""
    value = parse_answer(
        '{"verdict": "pass", "summary": "],[\n\t ", "findings": []}', VerifierReport
    )
    assert value.summary == "],[\n\t "
