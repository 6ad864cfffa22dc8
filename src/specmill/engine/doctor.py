"""``specmill doctor``'s checks: can every configured role reach a model that answers?

For each role (planner, the three executor tiers, each verifier) it checks the key
variable, that the endpoint answers, that it serves the model (``GET /models`` where
the server offers it), the model's context window where the server says it
(``specmill.llm.context_window``), which structured-output mode works and whether
answers stream (one tiny schema-constrained call per model, through the same backend a
run uses, so it is priced, counted and negotiated the same way), the round trip's
latency, and whether the model has a price.

A role ``cannot work`` when its key is missing for OpenAI, its endpoint is down or
refuses the key, the server does not list the model, or the call fails; each such
role carries what to change. Text a server sent is made printable before it is shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import openai
from pydantic import BaseModel, ConfigDict

from specmill.core.config import Config
from specmill.core.prices import run_prices
from specmill.core.printable import printable
from specmill.llm import ChatRequest, LLMError
from specmill.llm.backend import Role
from specmill.llm.budget import Budget
from specmill.llm.endpoints import DEFAULT_BASE_URL, Endpoint, host_of, resolve_base_url
from specmill.llm.openai_backend import OpenAIBackend

Status = Literal["ok", "cannot work"]
MAX_LISTED_MODELS = 8


class DoctorAnswer(BaseModel):
    """What the tiny call asks for: one field, so any model that can do JSON can do it."""

    model_config = ConfigDict(extra="forbid")
    ok: bool


PROMPT = [
    {"role": "system", "content": "You check that you can answer in JSON."},
    {"role": "user", "content": 'Answer with the JSON object {"ok": true}.'},
]


@dataclass
class RoleCheck:
    """What doctor found for one role; ``problems`` say what to change."""

    role: str
    model: str
    endpoint: str  # host[:port]
    key_env: str
    key: Literal["set", "missing", "not needed"] = "set"
    reachable: bool | None = None  # None: not checked (no key for OpenAI)
    listed: bool | None = None  # None: the server has no /models, or it was not reached
    mode: str | None = None  # the structured-output mode that worked
    context_window: int | None = None  # tokens, prompt and answer; None: not said
    context_source: str | None = None  # where the server said it
    streaming: str | None = None  # "yes", "yes, without usage", "no"; None: no call
    latency_s: float | None = None  # the tiny call's round trip, else /models'
    priced: bool = False
    cost_usd: float = 0.0
    tokens: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return "cannot work" if self.problems else "ok"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


@dataclass(frozen=True)
class _Target:
    role: str
    kind: Role
    model: str
    base_url: str | None  # a verifier's own endpoint; None: the config's
    key_env: str


@dataclass
class _Listing:
    """One ``GET /models`` per endpoint: reachable, and the models it serves."""

    reachable: bool
    models: list[str] | None = None  # None: no /models here
    latency_s: float | None = None
    problem: str | None = None


def _targets(config: Config) -> list[_Target]:
    m = config.models
    targets = [
        _Target("planner", "planner", m.planner, None, m.api_key_env),
        _Target("fast", "executor", m.fast, None, m.api_key_env),
        _Target("standard", "executor", m.standard, None, m.api_key_env),
        _Target("strong", "executor", m.strong, None, m.api_key_env),
    ]
    for number, verifier in enumerate(m.verifiers, start=1):
        targets.append(
            _Target(
                f"verifier {number}",
                "verifier",
                verifier.model,
                verifier.base_url,
                verifier.api_key_env,
            )
        )
    return targets


def diagnose(
    config: Config,
    *,
    calls: bool = True,
    environ: dict[str, str],
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[RoleCheck], Budget]:
    """Check every role; returns the checks and the budget the calls were counted in."""
    prices = run_prices(config.models)  # as a run prices its calls
    budget = Budget(config.budget, prices)
    backend = OpenAIBackend(config.models, budget)
    listings: dict[tuple[str, str], _Listing] = {}
    answered: dict[tuple[str, str, str], RoleCheck] = {}
    checks: list[RoleCheck] = []
    try:
        for target in _targets(config):
            base_url = resolve_base_url(config.models, target.base_url)
            endpoint_host = host_of(base_url)
            check = RoleCheck(
                role=target.role,
                model=printable(target.model),
                endpoint=printable(endpoint_host),
                key_env=target.key_env,
                priced=target.model in prices,
            )
            checks.append(check)
            has_key = bool(environ.get(target.key_env))
            if not has_key:
                check.key = "missing" if base_url == DEFAULT_BASE_URL else "not needed"
            if check.key == "missing":
                check.problems.append(
                    f"set the environment variable {target.key_env} (OpenAI needs a key), or"
                    " point models.base_url at a server that needs none"
                )
                continue
            listing = listings.get((base_url, target.key_env))
            if listing is None:
                listing = _list_models(backend, base_url, target.key_env, clock)
                listings[(base_url, target.key_env)] = listing
            check.reachable = listing.reachable
            check.latency_s = listing.latency_s
            if listing.problem:
                check.problems.append(listing.problem)
                continue
            window = backend.windows.window(
                backend.endpoint(base_url, target.key_env).client, base_url, target.model
            )
            if window is not None:
                check.context_window, check.context_source = window.tokens, window.source
            if listing.models is not None:
                check.listed = target.model in listing.models
                if not check.listed:
                    offered = ", ".join(printable(m) for m in listing.models[:MAX_LISTED_MODELS])
                    more = " …" if len(listing.models) > MAX_LISTED_MODELS else ""
                    check.problems.append(
                        f"{endpoint_host} does not serve the model {printable(target.model)!r};"
                        f" it offers: {offered or 'nothing'}{more}. Change the model name in"
                        f" [specmill.models] ({_key_of(target)})"
                    )
                    continue
            if calls:
                key = (base_url, target.key_env, target.model)
                if key in answered:  # the same model on the same endpoint: asked once
                    _copy_answer(answered[key], check)
                else:
                    limit = config.models.max_output_tokens.of(target.kind)
                    _ask(backend, target, check, limit)
                    answered[key] = check
    finally:
        backend.close()
    return checks, budget


def _list_models(
    backend: OpenAIBackend,
    base_url: str,
    key_env: str,
    clock: Callable[[], float],
) -> _Listing:
    endpoint: Endpoint = backend.endpoint(base_url, key_env, label="specmill doctor")
    started = clock()
    try:
        page = endpoint.client.models.list()
        models = [str(getattr(item, "id", "")) for item in page.data]
        backend.windows.learn_listing(base_url, page.data)  # its context fields
    except openai.APIConnectionError:
        return _Listing(
            reachable=False,
            problem=f"could not connect to {endpoint.host}: check models.base_url (or"
            " OPENAI_BASE_URL, or the verifier's base_url) and that the server is running",
        )
    except openai.APIStatusError as error:
        status = getattr(error, "status_code", 0)
        latency = round(clock() - started, 3)
        if status in (401, 403):
            return _Listing(
                reachable=True,
                latency_s=latency,
                problem=f"{endpoint.host} refused the API key in ${key_env} (HTTP {status}):"
                " check that variable",
            )
        return _Listing(reachable=True, latency_s=latency)  # no /models here: not an error
    except (openai.APIError, ValueError, AttributeError, TypeError):  # a 200 that is no model list
        return _Listing(reachable=True, latency_s=round(clock() - started, 3))
    return _Listing(reachable=True, models=models, latency_s=round(clock() - started, 3))


def _ask(backend: OpenAIBackend, target: _Target, check: RoleCheck, max_output: int) -> None:
    request: ChatRequest[DoctorAnswer] = ChatRequest(
        role=target.kind,
        module="(doctor)",
        model=target.model,
        messages=[dict(message) for message in PROMPT],
        response_model=DoctorAnswer,
        template="doctor",
        template_sha256="",
        base_url=target.base_url,
        api_key_env=target.key_env,
        max_output_tokens=max_output,
    )
    try:
        response = backend.complete(request)
    except LLMError as error:
        check.problems.append(printable(str(error)))
        record = error.record
        if record is not None:
            check.cost_usd, check.tokens = record.cost_usd, _tokens(record)
        return
    record = response.record
    check.mode = record.structured_output
    check.streaming = _streaming(backend, target, record.streamed)
    check.latency_s = record.latency_s
    check.cost_usd = record.cost_usd
    check.tokens = _tokens(record)


def _streaming(backend: OpenAIBackend, target: _Target, streamed: bool | None) -> str:
    """Whether the answer came streamed, and with the server's token counts."""
    if not streamed:
        return "no"
    base_url = resolve_base_url(backend.models, target.base_url)
    plain = backend.stream_mode_for(base_url, target.model) == "plain"
    return "yes, without usage" if plain else "yes"


def _copy_answer(source: RoleCheck, check: RoleCheck) -> None:
    check.mode, check.latency_s, check.streaming = source.mode, source.latency_s, source.streaming
    check.problems.extend(source.problems)  # same model, same endpoint: same fate


def _tokens(record: Any) -> int:
    return int(record.prompt_tokens + record.completion_tokens)


def _key_of(target: _Target) -> str:
    if target.kind == "verifier":
        return f"models.verifiers[{int(target.role.split()[-1]) - 1}].model"
    return f"models.{target.role}"
