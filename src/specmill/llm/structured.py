"""Structured output, pure: schemas for the API, and answers back into pydantic models.

No I/O here, so that both backends (and their tests) share one notion of what a valid
answer is, how a fenced or chatty answer is tolerated, and what the model is told when
it got it wrong.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

OutputMode = Literal["json_schema", "json_object_schema", "json_object", "none"]
# Size bounds a schema sent to a server carries: item counts and text lengths that no
# real plan, edit or verdict needs, so that decoding held to the schema by a grammar
# cannot run on in an endless array or string. Whole files, searches and replacements
# are not bounded. Lengths stay within llama.cpp's limit on one grammar repetition
# (MAX_REPETITION_THRESHOLD, 2,000); OpenAI's strict mode documents maxItems but not
# maxLength, and neither for fine-tuned models.
Bounds = Literal["none", "items", "items-and-lengths"]
MAX_ITEMS = 100
ITEM_LIMITS = {"approaches": 5, "requirement_lines": 500}
MAX_TEXT = 1000
TEXT_LIMITS = {"summary": 2000, "notes": 2000}
UNBOUNDED_TEXT = frozenset({"content", "search", "replace"})
# From the strongest guarantee to none: what ``structured_output = "auto"`` tries, in order.
LADDER: tuple[OutputMode, ...] = ("json_schema", "json_object_schema", "json_object", "none")
T = TypeVar("T", bound=BaseModel)

MAX_LISTED_ERRORS = 8
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)  # reasoning models on local servers


class AnswerProblem(ValueError):
    """Why an answer is unusable, phrased for the model that gave it (it is re-asked)."""


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form OpenAI's ``strict`` mode accepts.

    Strict mode wants every property required and ``additionalProperties: false`` on
    every object, rejects ``default`` and a ``$ref`` with sibling keys. Optional fields
    thus become required-but-nullable: the model writes ``null`` where it would omit the
    key, which the pydantic model accepts as the same thing.
    """
    schema = copy.deepcopy(model.model_json_schema())
    strict: dict[str, Any] = _strict(schema, schema)
    return strict


def _strict(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strict(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    node.pop("default", None)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        node = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
    for key in ("properties", "$defs"):
        if isinstance(node.get(key), dict):
            node[key] = {name: _strict(sub, root) for name, sub in node[key].items()}
    for key in ("items", "anyOf", "allOf", "oneOf", "prefixItems"):
        if key in node:
            node[key] = _strict(node[key], root)
    if isinstance(node.get("properties"), dict):
        node["required"] = list(node["properties"])
    if node.get("type") == "object":
        node.setdefault("additionalProperties", False)
    return node


def bounded(schema: dict[str, Any], bounds: Bounds) -> dict[str, Any]:
    """The schema with size bounds on its properties (in place, and returned)."""
    if bounds == "none":
        return schema
    for node in _objects(schema):
        for name, prop in node.get("properties", {}).items():
            for branch in [prop, *prop.get("anyOf", [])]:
                if branch.get("type") == "array":
                    branch["maxItems"] = ITEM_LIMITS.get(name, MAX_ITEMS)
                    branch = branch.get("items", {})  # a list of strings: each one bounded
                if bounds == "items-and-lengths" and _text(name, branch):
                    branch["maxLength"] = TEXT_LIMITS.get(name, MAX_TEXT)
    return schema


def _text(name: str, branch: dict[str, Any]) -> bool:
    """A free-text string to bound (not a whole file, not an enum)."""
    if branch.get("type") != "string" or name in UNBOUNDED_TEXT:
        return False
    return "enum" not in branch and "const" not in branch


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema within ``node`` (properties, items, $defs, anyOf)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found.extend(_objects(item))
    elif isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            found.append(node)
        for value in node.values():
            if isinstance(value, dict | list):
                found.extend(_objects(value))
    return found


def response_format(
    model: type[BaseModel], mode: OutputMode, *, bounds: Bounds = "none"
) -> dict[str, Any] | None:
    """The ``response_format`` argument for a mode, or None to send none.

    ``json_object_schema`` is JSON mode with the schema beside it, as llama.cpp's
    ``llama-server`` and llama-cpp-python's server take it (Anyscale's form): they
    constrain decoding to the schema with a grammar even where ``json_schema`` is
    refused.
    """
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": model.__name__[:64],
                "schema": bounded(strict_json_schema(model), bounds),
                "strict": True,
            },
        }
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": bounded(strict_json_schema(model), bounds)}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def weaker(mode: OutputMode) -> OutputMode | None:
    """The next mode down the ladder, or None below plain prompting."""
    index = LADDER.index(mode)
    return LADDER[index + 1] if index + 1 < len(LADDER) else None


def format_instruction(model: type[BaseModel]) -> str:
    """What the prompt must say when the API does not enforce the schema itself.

    It also contains the word "JSON", which OpenAI requires in json_object mode.
    """
    schema = json.dumps(model.model_json_schema(), separators=(",", ":"))
    return (
        "Answer with a single JSON object and nothing else (no prose, no code fences)."
        f" It must validate against this JSON schema:\n{schema}"
    )


def with_instruction(messages: list[dict[str, Any]], instruction: str) -> list[dict[str, Any]]:
    """A copy of the messages with the instruction in the (first) system message.

    Appending to the system message, rather than adding a message, keeps the chat
    templates of local servers happy: many refuse a second system message or two user
    messages in a row.
    """
    out = [dict(message) for message in messages]
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0]["content"] = f"{out[0]['content']}\n\n{instruction}"
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def extract_json(text: str) -> str:
    """The JSON part of an answer: inside a ``` fence, or from the first { to the last }."""
    stripped = _THINKING.sub("", text).strip()
    fenced = _FENCE.search(stripped)
    if fenced:
        return fenced.group(1).strip()
    if not stripped.startswith(("{", "[")):
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            return stripped[start : end + 1]
    return stripped


def encodable(text: str) -> str:
    """``text`` with any lone surrogate (a server's JSON may carry ``"\\ud800"``, which the
    SDK decodes as is) written as its escape: no request, file or log can encode one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def parse_answer(text: str, model: type[T]) -> T:
    """Validate an answer against the model, or raise ``AnswerProblem`` saying why not."""
    candidate = extract_json(text)
    if not candidate:
        raise AnswerProblem("the answer was empty")
    try:
        # strict=False: a raw newline or tab inside a string, which small local models
        # write even under a JSON grammar, is read as itself rather than refused
        data = json.loads(candidate, strict=False)
    except json.JSONDecodeError as exc:
        raise AnswerProblem(
            f"the answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:  # "\ud800" is valid JSON, but no file, prompt or record can hold the text
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise AnswerProblem(
            "the answer contains a lone surrogate escape (such as \\ud800), which is not"
            " text: write every character as itself or as a valid UTF-16 pair"
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AnswerProblem(describe_validation_error(exc, model)) from None


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """A short list of what is wrong, by field path, as the model should read it."""
    errors = exc.errors(include_url=False)
    lines = [
        f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
        for error in errors[:MAX_LISTED_ERRORS]
    ]
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"... and {len(errors) - MAX_LISTED_ERRORS} more")
    return f"the JSON does not match the {model.__name__} schema:\n" + "\n".join(
        f"- {line}" for line in lines
    )


def reask_message(problem: str) -> dict[str, str]:
    """The user message that sends a problem back to the model for another try."""
    return {
        "role": "user",
        "content": (
            f"Your previous answer could not be used: {problem}\n"
            "Answer again with only the corrected JSON object."
        ),
    }
