"""The three agents (planner, executor, verifiers): prompt in, validated record out.

Every call that sent a request, answered, failed or abandoned, lands in the ``Calls``
log with its ``CallRecord``, prompt and answer (``specmill.llm.call_life`` says when),
which the run saves with its record (``engine.runstore``). Each prompt
is measured part by part before it is sent, and cut in a stated order when it would
exceed its limit (``specmill.engine.prompt_parts``); the record says what was cut.

An output that exists and is longer than ``edit_threshold_lines`` is answered as
search/replace edits of its previous version (``specmill.engine.edits``). Edits that do
not apply are re-asked once; if they still fail, the executor writes whole files.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from specmill.core.config import DEFAULT_KEY_ENV, Config, Endpoint, ModelsConfig
from specmill.core.records import (
    CallRecord,
    ExecutorEdits,
    ExecutorOutput,
    FileContent,
    Plan,
    VerifierReport,
)
from specmill.engine.edits import apply_edits
from specmill.engine.exploration import Exploration
from specmill.engine.inputs import Brief
from specmill.engine.prompt_parts import CUT_ORDER, describe, measure, without
from specmill.engine.prompts import Prompt, PromptLibrary
from specmill.errors import SpecmillError
from specmill.llm.backend import ChatBackend, ChatRequest, Role
from specmill.llm.call_life import await_answer
from specmill.llm.events import CallListener
from specmill.llm.tokens import context_limit, counter

T = TypeVar("T", bound=BaseModel)


@dataclass
class Transcript:
    record: CallRecord
    messages: list[dict[str, Any]]
    answer: str  # the answer that validated, or the error


@dataclass
class Prepared:
    """A rendered prompt that fits its limit, and how it was measured and cut."""

    prompt: Prompt
    values: dict[str, Any]
    parts: dict[str, int]
    cut: list[str]
    token_count: str


@dataclass
class Calls:
    """Every model call of a run, in the order they finished (thread-safe)."""

    transcripts: list[Transcript] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, transcript: Transcript, replaces: CallRecord | None = None) -> None:
        """Log a call; ``replaces``: the record of an abandoned call that now has its own."""
        with self._lock:
            old = [i for i, t in enumerate(self.transcripts) if t.record is replaces]
            if replaces is not None and old:
                self.transcripts[old[0]] = transcript
            else:
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


def key_env_of(endpoint: Endpoint, models: ModelsConfig) -> str:
    """The variable that holds a verifier's key: its own when it names one, else the
    models' (``api_key_env``)."""
    return _own_key(endpoint) or models.api_key_env


def _own_key(endpoint: Endpoint | None) -> str | None:
    """A verifier's key variable, when it names one of its own (else the models' one)."""
    if endpoint is None:
        return None
    own = endpoint.base_url or endpoint.api_key_env != DEFAULT_KEY_ENV
    return endpoint.api_key_env if own else None


class Agents:
    def __init__(
        self, config: Config, backend: ChatBackend, prompts: PromptLibrary, calls: Calls
    ) -> None:
        self.config = config
        self.backend = backend
        self.prompts = prompts
        self.calls = calls
        # Told of every prompt before it is sent (the progress display): module, role,
        # tokens, parts cut.
        self.on_prompt: Callable[[str, str, int, list[str]], None] | None = None
        self.listener: CallListener | None = None  # told how each call streams

    def prepare(self, role: Role, brief: Brief, model: str, **variables: Any) -> Prepared:
        """The prompt, measured, with parts left out in ``CUT_ORDER`` until it fits."""
        count = counter(model)
        limit = context_limit(model, self.config.models.max_prompt_tokens)
        values = {**brief.variables(), **variables}
        if role == "executor":
            values.setdefault("edit_paths", [])
            values.setdefault("edit_failure", None)
            values.setdefault("candidate", None)  # a lone candidate
        if role == "verifier":
            values.setdefault("notes", "")  # the executor's claims, when it made any
        parts = measure(values, count.count)
        prompt = self.prompts.render(f"{role}.j2", **values)
        cut: list[str] = []
        for part in CUT_ORDER:
            if limit is None or count.count_messages(prompt.messages) <= limit:
                break
            if part in parts:
                values = without(values, part)
                cut.append(describe(part, parts[part]))
                prompt = self.prompts.render(f"{role}.j2", **values)
        total = count.count_messages(prompt.messages)
        if limit is not None and total > limit:
            raise SpecmillError(
                f"the {role} prompt for {brief.module} is {total:,} tokens ({count.method}),"
                f" over its limit of {limit:,} even without"
                f" {', '.join(cut) or 'the parts that may be cut'}",
                hint="raise models.max_prompt_tokens, use a model with a larger context, or"
                " split the spec",
            )
        if self.on_prompt is not None:
            self.on_prompt(brief.module, role, total, cut)
        return Prepared(prompt, values, parts, cut, count.method)

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
        prepared: Prepared | None = None,
        follow_up: list[dict[str, Any]] | None = None,
        edit_problems: list[str] | None = None,
        **variables: Any,
    ) -> tuple[T, str]:
        """The validated answer and its text; the call is logged in ``calls``."""
        prepared = prepared or self.prepare(role, brief, model, **variables)
        messages = [*prepared.prompt.messages, *(follow_up or [])]
        request = ChatRequest(
            role=role,
            module=brief.module,
            model=model,
            messages=messages,
            response_model=answer,
            template=prepared.prompt.template,
            template_sha256=prepared.prompt.sha256,
            attempt=attempt,
            base_url=endpoint.base_url if endpoint else None,
            api_key_env=_own_key(endpoint),
            max_output_tokens=self.config.models.max_output_tokens.of(role),
            candidate=index,
            seed=exploration.seed if exploration else None,
            temperature=exploration.temperature if exploration else None,
            cancel=cancel,
            listener=self.listener,
        )

        def note(record: CallRecord) -> CallRecord:
            record.prompt_parts = prepared.parts
            record.prompt_cut = prepared.cut
            record.token_count = prepared.token_count
            if role == "executor":
                record.answer_form = "edits" if answer is ExecutorEdits else "whole"
            record.edit_problems = list(edit_problems or [])
            return record

        def log(record: CallRecord, text: str, replaces: CallRecord | None) -> None:
            self.calls.add(Transcript(note(record), messages, text), replaces)

        response = await_answer(self.backend, request, log)
        return response.value, response.text

    def plan(self, brief: Brief) -> Plan:
        return self._ask("planner", brief, self.config.models.planner, Plan)[0]

    def execute(
        self,
        brief: Brief,
        plan: Plan,
        exploration: Exploration,
        attempt: int,
        feedback: dict[str, Any] | None,
        cancel: threading.Event | None = None,
    ) -> ExecutorOutput:
        threshold = self.config.edit_threshold_lines
        editable = {
            path: text
            for path, text in brief.previous.items()
            if feedback is None and len(text.splitlines()) > threshold
        }
        whole: dict[str, Any] = {
            "plan": plan,
            "feedback": feedback,
            "edit_failure": None,
            "candidate": _shown(exploration),
        }
        how: dict[str, Any] = {
            "index": exploration.index,
            "exploration": exploration,
            "cancel": cancel,
        }
        model = exploration.model
        if not editable:
            return self._ask("executor", brief, model, ExecutorOutput, attempt, **how, **whole)[0]
        return self._edit(brief, model, attempt, editable, whole, how)

    def _edit(
        self,
        brief: Brief,
        model: str,
        attempt: int,
        editable: dict[str, str],
        whole: dict[str, Any],
        how: dict[str, Any],
    ) -> ExecutorOutput:
        """Ask for edits of ``editable``; re-ask once for those that fail, then whole files."""
        prepared = self.prepare("executor", brief, model, **whole, edit_paths=sorted(editable))
        if not prepared.values["edit_paths"]:  # the previous version was cut: whole files
            return self._ask("executor", brief, model, ExecutorOutput, attempt, **how, **whole)[0]
        answer, text = self._ask(
            "executor", brief, model, ExecutorEdits, attempt, **how, prepared=prepared
        )
        written = {f.path: f for f in answer.files}  # a whole file wins over edits of it
        notes = answer.notes
        applied = apply_edits({p: t for p, t in editable.items() if p not in written}, answer.edits)
        if not applied.clean:  # as Aider does: the failed edits only, the others stay
            retry = self.prompts.render(
                "edit_retry.j2", problems=applied.problems, applied=applied.applied
            )
            answer, _ = self._ask(
                "executor",
                brief,
                model,
                ExecutorEdits,
                attempt,
                **how,
                prepared=prepared,
                follow_up=[{"role": "assistant", "content": text}, retry.messages[1]],
                edit_problems=applied.problems,
            )
            applied = apply_edits(applied.texts, answer.edits)
            if not applied.clean:
                failure = "\n".join(applied.problems)
                return self._ask(
                    "executor",
                    brief,
                    model,
                    ExecutorOutput,
                    attempt,
                    **how,
                    edit_problems=applied.problems,
                    **{**whole, "edit_failure": failure},
                )[0]
            written.update((f.path, f) for f in answer.files if f.path not in applied.texts)
            notes = "\n".join(n for n in (notes, answer.notes) if n)
        edited = [FileContent(path=p, content=t) for p, t in applied.texts.items()]
        return ExecutorOutput(files=[*edited, *written.values()], notes=notes)

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
        )[0]


def _shown(exploration: Exploration) -> dict[str, Any] | None:
    """The executor template's ``candidate``: None for a lone candidate."""
    if not exploration.varied:
        return None
    return {
        "index": exploration.index,
        "count": exploration.count,
        "approach": exploration.approach,
    }
