"""The three agents (planner, executor, verifiers): prompt in, validated record out.

Every call, answered or failed, lands in the ``Calls`` log with its ``CallRecord``,
prompt and answer, which the run saves under ``.specmill/runs/<run-id>/``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from specmill.core.config import Config, Endpoint
from specmill.core.records import CallRecord, ExecutorOutput, Plan, Tier, VerifierReport
from specmill.engine.inputs import Brief
from specmill.engine.prompts import PromptLibrary
from specmill.llm.backend import ChatBackend, ChatRequest, Role
from specmill.llm.errors import LLMError

T = TypeVar("T", bound=BaseModel)


@dataclass
class Transcript:
    record: CallRecord
    messages: list[dict[str, Any]]
    answer: str  # the answer that validated, or the error


@dataclass
class Calls:
    """Every model call of a run, in the order they finished (thread-safe)."""

    transcripts: list[Transcript] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, transcript: Transcript) -> None:
        with self._lock:
            self.transcripts.append(transcript)

    @property
    def records(self) -> list[CallRecord]:
        with self._lock:
            return [t.record for t in self.transcripts]


def verifier_names(endpoints: Sequence[Endpoint]) -> list[str]:
    """A label per verifier: its model, numbered when two use the same model."""
    names = []
    for index, endpoint in enumerate(endpoints):
        same = [e for e in endpoints if e.model == endpoint.model]
        names.append(endpoint.model if len(same) == 1 else f"{endpoint.model}#{index + 1}")
    return names


def _own_key(endpoint: Endpoint | None) -> str | None:
    """A verifier's key variable, when it names one of its own (else the models' one)."""
    if endpoint is None:
        return None
    default = Endpoint.model_fields["api_key_env"].default
    return endpoint.api_key_env if endpoint.base_url or endpoint.api_key_env != default else None


class Agents:
    def __init__(
        self, config: Config, backend: ChatBackend, prompts: PromptLibrary, calls: Calls
    ) -> None:
        self.config = config
        self.backend = backend
        self.prompts = prompts
        self.calls = calls

    def _ask(
        self,
        role: Role,
        brief: Brief,
        model: str,
        answer: type[T],
        attempt: int = 1,
        endpoint: Endpoint | None = None,
        **variables: Any,
    ) -> T:
        prompt = self.prompts.render(f"{role}.j2", **brief.variables(), **variables)
        request = ChatRequest(
            role=role,
            module=brief.module,
            model=model,
            messages=prompt.messages,
            response_model=answer,
            template=prompt.template,
            template_sha256=prompt.sha256,
            attempt=attempt,
            base_url=endpoint.base_url if endpoint else None,
            api_key_env=_own_key(endpoint),
            max_output_tokens=self.config.models.max_output_tokens.of(role),
        )
        try:
            response = self.backend.complete(request)
        except LLMError as exc:
            if exc.record is not None:
                self.calls.add(Transcript(exc.record, prompt.messages, f"error: {exc}"))
            raise
        self.calls.add(Transcript(response.record, prompt.messages, response.text))
        return response.value

    def plan(self, brief: Brief) -> Plan:
        return self._ask("planner", brief, self.config.models.planner, Plan)

    def execute(
        self,
        brief: Brief,
        plan: Plan,
        tier: Tier,
        attempt: int,
        feedback: dict[str, Any] | None,
    ) -> ExecutorOutput:
        model = getattr(self.config.models, tier)
        return self._ask(
            "executor", brief, model, ExecutorOutput, attempt, plan=plan, feedback=feedback
        )

    def verify(
        self,
        brief: Brief,
        plan: Plan | None,
        endpoint: Endpoint,
        files: dict[str, str],
        checks: list[dict[str, Any]],
        attempt: int,
    ) -> VerifierReport:
        return self._ask(
            "verifier",
            brief,
            endpoint.model,
            VerifierReport,
            attempt,
            endpoint,
            plan=plan,
            files=files,
            checks=checks,
        )
