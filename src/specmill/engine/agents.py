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
from specmill.core.records import CallRecord, ExecutorOutput, Plan, VerifierReport
from specmill.engine.exploration import Exploration
from specmill.engine.inputs import Brief
from specmill.engine.prompts import PromptLibrary
from specmill.llm.backend import ChatBackend, ChatRequest, ChatResponse, Role
from specmill.llm.errors import CallCancelled, LLMError

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
        *,
        index: int | None = None,
        exploration: Exploration | None = None,
        cancel: threading.Event | None = None,
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
            candidate=index,
            seed=exploration.seed if exploration else None,
            temperature=exploration.temperature if exploration else None,
            cancel=cancel,
        )
        try:
            response = self._complete(request, prompt.messages)
        except LLMError as exc:
            if exc.record is not None:
                self.calls.add(Transcript(exc.record, prompt.messages, f"error: {exc}"))
            raise
        self.calls.add(Transcript(response.record, prompt.messages, response.text))
        return response.value

    def _complete(self, request: ChatRequest[T], messages: list[dict[str, Any]]) -> ChatResponse[T]:
        """The backend's answer; with ``request.cancel``, given up on once it is set.

        An HTTP request in flight cannot be taken back: it finishes in the background
        and is recorded when it does, but nobody waits for it.
        """
        if request.cancel is None:
            return self.backend.complete(request)
        done = threading.Event()
        lock = threading.Lock()
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["response"] = self.backend.complete(request)
            except BaseException as exc:  # Ctrl-C from a backend included
                box["error"] = exc
            with lock:
                done.set()
                late = box.get("abandoned", False)
            if late:  # nobody waits for it, but it was a call that cost: record it
                self._record_late(box, messages)

        threading.Thread(target=call, daemon=True).start()
        while not done.wait(0.05):
            if request.cancel.is_set():
                with lock:
                    if not done.is_set():
                        box["abandoned"] = True
                        raise CallCancelled(f"{request.label}: cancelled, no longer needed")
        if "error" in box:
            raise box["error"]
        response: ChatResponse[T] = box["response"]
        return response

    def _record_late(self, box: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        if "response" in box:
            self.calls.add(Transcript(box["response"].record, messages, box["response"].text))
        elif isinstance(box.get("error"), LLMError) and box["error"].record is not None:
            error = box["error"]
            self.calls.add(Transcript(error.record, messages, f"error: {error}"))

    def plan(self, brief: Brief) -> Plan:
        return self._ask("planner", brief, self.config.models.planner, Plan)

    def execute(
        self,
        brief: Brief,
        plan: Plan,
        exploration: Exploration,
        attempt: int,
        feedback: dict[str, Any] | None,
        cancel: threading.Event | None = None,
    ) -> ExecutorOutput:
        return self._ask(
            "executor",
            brief,
            exploration.model,
            ExecutorOutput,
            attempt,
            index=exploration.index,
            exploration=exploration,
            cancel=cancel,
            plan=plan,
            feedback=feedback,
            candidate=_shown(exploration),
        )

    def verify(
        self,
        brief: Brief,
        plan: Plan | None,
        endpoint: Endpoint,
        files: dict[str, str],
        checks: list[dict[str, Any]],
        attempt: int,
        *,
        notes: str = "",
        candidate: int | None = None,
        cancel: threading.Event | None = None,
    ) -> VerifierReport:
        return self._ask(
            "verifier",
            brief,
            endpoint.model,
            VerifierReport,
            attempt,
            endpoint,
            index=candidate,
            cancel=cancel,
            plan=plan,
            files=files,
            checks=checks,
            notes=notes,
        )


def _shown(exploration: Exploration) -> dict[str, Any] | None:
    """The executor template's ``candidate``: None for a lone candidate."""
    if not exploration.varied:
        return None
    return {
        "index": exploration.index,
        "count": exploration.count,
        "approach": exploration.approach,
    }
