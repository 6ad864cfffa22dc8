"""A backend that answers from a script file: for tests and ``specmill demo``.

The script maps roles to lists of answers, consumed in order, optionally per module::

    planner: [{...plan...}]
    executor: [{...files...}]
    verifier: [{...report...}, "raw text, to exercise junk handling"]
    modules:
      billing.invoice:
        verifier: [{...a failing report...}, {...a passing one...}]

An answer is a JSON object (sent as its JSON text) or a string (sent as is). A
module's own list, when it has one for the role, is the only one used for that module
and role. A request with no answer left raises ``ScriptExhaustedError`` naming the role
and module: a script that silently ran dry would hide a pipeline that asks too often.
Answers go through the same validate-and-re-ask loop as the openai backend.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from specmill.core.config import ModelsConfig
from specmill.errors import ConfigError
from specmill.llm.backend import ChatRequest, ChatResponse
from specmill.llm.budget import Budget, estimate_tokens
from specmill.llm.conversation import Answer, converse, prompt_chars
from specmill.llm.errors import ScriptExhaustedError
from specmill.llm.tokens import CHARS_PER_TOKEN

T = TypeVar("T", bound=BaseModel)
ROLES = ("planner", "executor", "verifier")


class ScriptedBackend:
    """``ChatBackend`` whose answers come from a script, never from the network."""

    def __init__(
        self,
        script: Mapping[str, Any],
        *,
        source: str = "<script>",
        models: ModelsConfig | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.models = models or ModelsConfig(backend="scripted")
        self.budget = budget or Budget(prices=self.models.prices)
        self.source = source
        self._queues = _queues(script, source)
        self._used: dict[str, int] = dict.fromkeys(self._queues, 0)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> ScriptedBackend:
        """Load a JSON (``.json``) or YAML script."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the model script: {exc.strerror}", path=str(path)
            ) from None
        try:
            script = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"model script is not valid: {exc}", path=str(path)) from None
        return cls(script, source=str(path), **kwargs)

    @classmethod
    def from_config(
        cls, models: ModelsConfig, budget: Budget, *, repo_root: Path | None
    ) -> ScriptedBackend:
        """The backend ``models.script`` names, relative to the repository root."""
        if not models.script:
            raise ConfigError(
                'models.backend = "scripted" needs models.script, the answers file',
                path="specmill.toml",
            )
        path = Path(models.script)
        if not path.is_absolute() and repo_root is not None:
            path = repo_root / path
        return cls.from_file(path, models=models, budget=budget)

    def complete(self, request: ChatRequest[T]) -> ChatResponse[T]:
        return converse(
            request,
            lambda messages, max_output: self._next(request, messages, max_output),
            budget=self.budget,
            reask_limit=self.models.reask_limit,
        )

    def close(self) -> None:
        """Nothing to release."""

    def remaining(self) -> dict[str, int]:
        """Answers not yet consumed, by list (``planner``, ``modules.x.verifier``…)."""
        with self._lock:
            return {name: len(queue) for name, queue in self._queues.items() if queue}

    def _next(
        self, request: ChatRequest[Any], messages: list[dict[str, Any]], max_output: int
    ) -> Answer:
        """The next scripted answer, cut at ``max_output`` tokens as a server would."""
        own = f"modules.{request.module}.{request.role}"
        name = own if own in self._queues else request.role
        with self._lock:
            queue = self._queues.get(name)
            if not queue:
                used = self._used.get(name, 0)
                raise ScriptExhaustedError(
                    f"scripted backend: no {request.role} answer left for module"
                    f" {request.module} in {self.source} (list {name!r}: {used} answer(s),"
                    " all used). Add answers to the script, or find why the pipeline asked"
                    " again."
                )
            text = queue.popleft()
            self._used[name] += 1
        completion = estimate_tokens(len(text))
        truncated = 0 < max_output < completion
        if truncated:
            completion, text = max_output, text[: max_output * CHARS_PER_TOKEN]
        return Answer(
            text=text,
            prompt_tokens=estimate_tokens(prompt_chars(messages)),
            completion_tokens=completion,
            truncated=truncated,
        )


def _queues(script: object, source: str) -> dict[str, deque[str]]:
    """Check the script's shape and flatten it to named queues of answer texts."""
    if not isinstance(script, Mapping):
        raise ConfigError("a model script must be a mapping of roles to answers", path=source)
    queues: dict[str, deque[str]] = {}
    for key, value in script.items():
        if key in ROLES:
            queues[key] = _answers(value, key, source)
        elif key == "modules" and isinstance(value, Mapping):
            for module, roles in value.items():
                if not isinstance(roles, Mapping):
                    raise ConfigError(f"modules.{module} must map roles to answers", path=source)
                for role, answers in roles.items():
                    if role not in ROLES:
                        raise ConfigError(f"modules.{module}: unknown role {role!r}", path=source)
                    name = f"modules.{module}.{role}"
                    queues[name] = _answers(answers, name, source)
        else:
            raise ConfigError(
                f"unknown key {key!r} in model script (expected {', '.join(ROLES)}, modules)",
                path=source,
            )
    return queues


def _answers(value: object, name: str, source: str) -> deque[str]:
    if not isinstance(value, list):
        raise ConfigError(f"{name} must be a list of answers", path=source)
    texts: deque[str] = deque()
    for index, answer in enumerate(value):
        if isinstance(answer, str):
            texts.append(answer)
        elif isinstance(answer, (dict, list)):
            texts.append(json.dumps(answer, ensure_ascii=False))
        else:
            raise ConfigError(
                f"{name}[{index}] must be a JSON object or a string, not {type(answer).__name__}",
                path=source,
            )
    return texts
