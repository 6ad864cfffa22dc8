"""The real openai SDK, through OpenAIBackend, against the scripted local server."""

from __future__ import annotations

import json
import threading
import time

import pytest

from specmill.core.config import BudgetConfig, ModelsConfig
from specmill.core.records import VerifierReport
from specmill.llm import BudgetExceeded, InvalidAnswerError, ModelError, make_backend
from specmill.llm.endpoints import PLACEHOLDER_KEY
from specmill.llm.openai_backend import OpenAIBackend


def test_answer_is_validated_and_its_usage_counted(
    fake_openai, openai_backend, chat_request, report, secret
):
    fake_openai.answer(report, usage=(1000, 500))
    backend = openai_backend()
    request = chat_request()

    response = backend.complete(request)

    assert response.value == VerifierReport.model_validate(report)
    record = response.record
    assert (record.role, record.module, record.model) == ("verifier", request.module, request.model)
    assert (record.template, record.template_sha256) == (request.template, request.template_sha256)
    assert (record.prompt_tokens, record.completion_tokens, record.outcome) == (1000, 500, "ok")
    price = backend.models.prices[request.model]
    expected_cost = (1000 * price.input + 500 * price.output) / 1_000_000
    assert record.cost_usd == pytest.approx(expected_cost)
    assert record.latency_s > 0
    assert backend.budget.tokens == 1500
    assert backend.budget.cost_usd == pytest.approx(expected_cost)
    sent = fake_openai.requests[0]
    assert sent.headers["authorization"] == f"Bearer {secret}"
    assert sent.body["model"] == request.model
    assert sent.body["messages"] == request.messages  # the API enforces the schema
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


def test_an_answer_in_a_json_fence_is_accepted(fake_openai, openai_backend, chat_request):
    fake_openai.answer(
        'Here you go:\n```json\n{"verdict": "pass", "summary": "ok", "findings": []}\n```'
    )
    response = openai_backend().complete(chat_request())
    assert response.value.verdict == "pass"
    assert response.reasks == 0


def test_prose_is_reasked_with_the_error(fake_openai, openai_backend, chat_request, report):
    prose = "The code looks fine to me, nothing to report."
    fake_openai.answer(prose, usage=(100, 10))
    fake_openai.answer(report, usage=(130, 40))

    response = openai_backend().complete(chat_request())

    assert response.reasks == 1
    assert (response.record.prompt_tokens, response.record.completion_tokens) == (230, 50)
    reask = fake_openai.requests[1].body["messages"]
    assert reask[-2] == {"role": "assistant", "content": prose}
    assert reask[-1]["role"] == "user"
    assert "not valid JSON" in reask[-1]["content"]


def test_truncated_json_is_reasked_saying_it_was_cut_off(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.answer('{"verdict": "fail", "summary": "R2 is', finish_reason="length")
    fake_openai.answer(report)

    response = openai_backend().complete(chat_request())

    assert response.value.verdict == "fail"
    last = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "not valid JSON" in last
    assert "cut off" in last


def test_schema_valid_nonsense_ends_in_invalid_answer_after_the_reasks(
    fake_openai, openai_backend, chat_request
):
    nonsense = {"answer": 42, "confidence": "high"}
    for _ in range(3):
        fake_openai.answer(nonsense, usage=(50, 5))

    with pytest.raises(InvalidAnswerError) as caught:
        openai_backend(reask_limit=2).complete(chat_request())

    assert len(fake_openai.requests) == 3
    reask = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "verdict: Field required" in reask
    assert "answer: Extra inputs are not permitted" in reask
    error = caught.value
    assert "VerifierReport" in str(error)
    assert '"answer": 42' in error.excerpt
    assert error.record is not None
    assert (error.record.outcome, error.record.prompt_tokens) == ("invalid", 150)


def test_429_waits_as_long_as_retry_after_says(fake_openai, openai_backend, chat_request, report):
    fake_openai.error(429, "Rate limit reached", headers={"Retry-After": "0.3"})
    fake_openai.answer(report)

    openai_backend().complete(chat_request())

    first, second = fake_openai.requests
    assert second.at - first.at >= 0.3  # the injected backoff alone is ~1 ms


def test_500_is_retried_with_the_injected_backoff(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.error(500, "upstream hiccup")
    fake_openai.error(503, "overloaded")
    fake_openai.answer(report)

    started = time.monotonic()
    openai_backend(max_retries=2).complete(chat_request())

    assert len(fake_openai.requests) == 3
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("max_retries", [0, 3])
def test_429_forever_ends_in_a_model_error_after_the_configured_retries(
    fake_openai, openai_backend, chat_request, max_retries
):
    fake_openai.always(
        status=429,
        body={"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
        headers={"Retry-After": "0.01"},
    )

    with pytest.raises(ModelError) as caught:
        openai_backend(max_retries=max_retries).complete(chat_request())

    assert len(fake_openai.requests) == max_retries + 1
    message = str(caught.value)
    host = fake_openai.url.split("//")[1].split("/")[0]
    for part in (
        "test-model",
        host,
        "HTTP 429",
        f"{max_retries + 1} attempt",
        "models.concurrency",
    ):
        assert part in message
    assert caught.value.status == 429
    assert caught.value.record is not None and caught.value.record.outcome == "error"


@pytest.mark.parametrize("padding", [0, 276])  # 276: a cut at 300 chars splits the key
def test_an_echoed_api_key_never_reaches_the_error(
    fake_openai, openai_backend, chat_request, secret, padding
):
    said = f"bad upstream {'.' * padding}{secret} end"
    fake_openai.always(status=500, body={"error": {"message": said}})

    with pytest.raises(ModelError) as caught:
        openai_backend(max_retries=1).complete(chat_request())

    message = str(caught.value)
    assert secret[:10] not in message
    assert secret[:10] not in repr(caught.value.args)
    assert "***" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_401_is_not_retried_and_names_the_variable_not_the_key(
    fake_openai, openai_backend, chat_request, secret
):
    fake_openai.error(401, f"Incorrect API key provided: {secret[:8]}****{secret[-4:]}")
    backend = openai_backend()

    with pytest.raises(ModelError) as caught:
        backend.complete(chat_request())

    assert len(fake_openai.requests) == 1
    message = str(caught.value)
    assert f"${backend.models.api_key_env}" in message
    assert secret[:8] not in message and "Incorrect API key" not in message


def test_a_slow_server_ends_in_a_model_error_at_the_timeout(
    fake_openai, openai_backend, chat_request
):
    fake_openai.always(content="{}", delay=3.0)

    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        openai_backend(timeout=0.5, max_retries=1).complete(chat_request())

    assert time.monotonic() - started < 2.0
    assert len(fake_openai.requests) == 2
    assert "no answer within models.timeout = 0.5 s" in str(caught.value)


def test_rejected_json_schema_falls_back_to_json_object_with_schema_and_remembers(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.error(
        400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported"
    )
    fake_openai.answer(report)
    fake_openai.answer(report)
    backend = openai_backend()

    backend.complete(chat_request())
    backend.complete(chat_request(module="billing.money"))

    formats = [seen.body["response_format"]["type"] for seen in fake_openai.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    schemas = [seen.body["response_format"].get("schema") for seen in fake_openai.requests]
    assert schemas[0] is None and schemas[1] == schemas[2]
    assert schemas[1]["additionalProperties"] is False and "verdict" in schemas[1]["properties"]
    system = fake_openai.requests[1].body["messages"][0]
    assert system["role"] == "system"
    assert "JSON schema" in system["content"] and '"verdict"' in system["content"]
    assert len(fake_openai.requests[1].body["messages"]) == 2  # no extra message


def test_plain_prompting_when_json_object_is_rejected_too(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.error(400, "response_format json_schema: unknown type")
    fake_openai.error(422, "response_format: schema is not allowed with json_object")
    fake_openai.error(422, "response_format: json_object is not supported by this server")
    fake_openai.answer(report)

    response = openai_backend().complete(chat_request())

    assert response.record.structured_output == "none"

    last = fake_openai.requests[-1].body
    assert "response_format" not in last
    assert "JSON schema" in last["messages"][0]["content"]


def test_no_fallback_when_json_schema_is_configured(fake_openai, openai_backend, chat_request):
    fake_openai.error(400, "'response_format' of type 'json_schema' is not supported")

    with pytest.raises(ModelError) as caught:
        openai_backend(structured_output="json_schema").complete(chat_request())

    assert len(fake_openai.requests) == 1
    assert "structured_output" in str(caught.value)


def test_an_unrelated_400_does_not_fall_back(fake_openai, openai_backend, chat_request):
    fake_openai.error(400, "'messages' is too short - 'messages'")

    with pytest.raises(ModelError) as caught:
        openai_backend().complete(chat_request())

    assert len(fake_openai.requests) == 1
    assert "'messages' is too short" in str(caught.value)


def test_budget_refuses_a_call_before_it_is_made(fake_openai, openai_backend, chat_request, report):
    fake_openai.answer(report, usage=(900, 50))
    backend = openai_backend(budget=BudgetConfig(max_tokens=1000))
    backend.complete(chat_request())

    long_prompt = [{"role": "user", "content": "x" * 800}]  # ~200 tokens
    with pytest.raises(BudgetExceeded) as caught:
        backend.complete(chat_request(messages=long_prompt))

    assert len(fake_openai.requests) == 1
    assert "max_tokens" in str(caught.value) and "not made" in str(caught.value)
    assert caught.value.record is None


def test_budget_in_dollars(fake_openai, openai_backend, chat_request, report):
    fake_openai.answer(report, usage=(1000, 1000))  # $0.002 + $0.008
    backend = openai_backend(budget=BudgetConfig(max_usd=0.01))
    backend.complete(chat_request())
    assert backend.budget.cost_usd == pytest.approx(0.01)

    with pytest.raises(BudgetExceeded, match="max_usd"):
        backend.complete(chat_request())
    assert len(fake_openai.requests) == 1


def test_the_concurrency_limit_holds(fake_openai, openai_backend, chat_request, report):
    fake_openai.always(content=json.dumps(report), delay=0.2)
    backend = openai_backend(concurrency=2)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            backend.complete(chat_request())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(fake_openai.requests) == 6
    assert fake_openai.max_in_flight == 2


def test_missing_usage_is_estimated(fake_openai, openai_backend, chat_request, report):
    fake_openai.answer(report, usage=None)
    record = openai_backend().complete(chat_request()).record
    assert record.prompt_tokens > 0 and record.completion_tokens == -(-len(json.dumps(report)) // 4)


def test_a_local_server_without_a_key_gets_a_placeholder(
    fake_openai, openai_backend, chat_request, monkeypatch, report
):
    fake_openai.answer(report)
    backend = openai_backend()
    monkeypatch.delenv(backend.models.api_key_env)
    backend.complete(chat_request())
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_no_key_and_no_endpoint_is_a_clear_error(openai_backend, chat_request, monkeypatch):
    backend = openai_backend(base_url=None)
    monkeypatch.delenv(backend.models.api_key_env)
    with pytest.raises(
        ModelError, match=f"Set the environment variable {backend.models.api_key_env}"
    ):
        backend.complete(chat_request())


def test_the_sdks_own_environment_is_enough(
    fake_openai, openai_backend, chat_request, monkeypatch, report
):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    fake_openai.answer(report)

    openai_backend(base_url=None, api_key_env="OPENAI_API_KEY").complete(chat_request())

    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_an_endpoint_override_gets_its_own_reused_client(
    fake_openai, openai_backend, chat_request, monkeypatch, report, secret
):
    monkeypatch.setenv("OTHER_PROVIDER_KEY", "sk-other")
    for _ in range(3):
        fake_openai.answer(report)
    backend = openai_backend()
    other = chat_request(base_url=fake_openai.url + "/", api_key_env="OTHER_PROVIDER_KEY")

    backend.complete(chat_request())
    backend.complete(other)
    backend.complete(chat_request())

    keys = [seen.headers["authorization"] for seen in fake_openai.requests]
    assert keys == [f"Bearer {secret}", "Bearer sk-other", f"Bearer {secret}"]
    assert backend._endpoint(chat_request()) is backend._endpoint(chat_request())
    assert len(backend._endpoints) == 2


def test_fake_server_is_strict(fake_openai):
    """The fixture itself: an unscripted request is counted, so teardown would fail."""
    import httpx2

    response = httpx2.post(f"{fake_openai.url}/chat/completions", json={"model": "m"})
    assert response.status_code == 418
    assert fake_openai.unexpected == 1
    fake_openai.unexpected = 0  # this test expected it


def test_make_backend_builds_the_openai_backend_with_the_runs_budget(fake_openai):
    backend = make_backend(
        ModelsConfig(base_url=fake_openai.url), BudgetConfig(max_tokens=7), repo_root=None
    )
    try:
        assert isinstance(backend, OpenAIBackend)
        assert backend.budget.config.max_tokens == 7
    finally:
        backend.close()


def _writes_to_its_limit(body: dict) -> tuple[int, int]:
    """Usage of a model that always writes as much as it may: the prompt as counted at
    four characters a token, the output at the limit the request sent."""
    prompt = sum(len(m["content"]) for m in body["messages"]) // 4
    return prompt, body.get("max_tokens", 100_000)


def _answers_in_250_or_writes_to_a_lowered_limit(body: dict) -> tuple[int, int]:
    prompt, limit = _writes_to_its_limit(body)
    return prompt, 250 if limit == 600 else limit


@pytest.mark.parametrize(
    "usage", [_writes_to_its_limit, _answers_in_250_or_writes_to_a_lowered_limit]
)
def test_a_run_with_max_tokens_never_ends_above_it(
    fake_openai, openai_backend, chat_request, report, usage
):
    """Each call sends its output limit, lowered to what the budget has left once the
    model's longest answer fits in less, and the run stops before a call whose answer
    could not fit: it never passes budget.max_tokens, even when every call writes to
    the limit it was sent."""
    fake_openai.always(content=json.dumps(report), usage=usage)
    backend = openai_backend(
        budget=BudgetConfig(max_tokens=1_700), max_output_tokens={"verifier": 600}
    )
    sent_limits = []
    with pytest.raises(BudgetExceeded, match=r"over budget\.max_tokens = 1,700") as caught:
        for _ in range(10):
            backend.complete(chat_request(max_output_tokens=600))
            sent_limits.append(fake_openai.requests[-1].body["max_tokens"])
    assert sent_limits[0] == 600
    if usage is _writes_to_its_limit:  # a call cut shorter than its answers is not made
        assert set(sent_limits) == {600} and "at least 600 for the answer" in str(caught.value)
    else:
        assert sent_limits[-1] < 600  # the last one was lowered
    assert backend.budget.tokens <= 1_700


def test_max_completion_tokens_when_the_model_refuses_max_tokens(
    fake_openai, openai_backend, chat_request, report
):
    """OpenAI's o-series and gpt-5 answer this 400 to max_tokens (its real body)."""
    fake_openai.error(
        400,
        body={
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this"
                " model. Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        },
    )
    fake_openai.answer(report)
    fake_openai.answer(report)
    backend = openai_backend()
    backend.complete(chat_request(max_output_tokens=700))
    backend.complete(chat_request(max_output_tokens=700))  # remembered: no second refusal

    first, second, third = (seen.body for seen in fake_openai.requests)
    assert first["max_tokens"] == 700 and "max_completion_tokens" not in first
    assert second["max_completion_tokens"] == 700 and "max_tokens" not in second
    assert third["max_completion_tokens"] == 700


def test_a_candidates_seed_and_temperature_are_sent_and_recorded(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.answer(report)

    response = openai_backend().complete(chat_request(candidate=2, seed=2, temperature=0.7))

    body = fake_openai.requests[0].body
    assert (body["seed"], body["temperature"]) == (2, 0.7)
    assert response.record.candidate == 2


def test_sampling_a_model_rejects_is_dropped_and_remembered(
    fake_openai, openai_backend, chat_request, report
):
    # What OpenAI answers a reasoning model asked for a temperature.
    fake_openai.error(
        400,
        "Unsupported value: 'temperature' does not support 0.7 with this model."
        " Only the default (1) value is supported.",
    )
    fake_openai.answer(report)
    fake_openai.answer(report)
    backend = openai_backend()
    backend.complete(chat_request(seed=1, temperature=0.7))
    backend.complete(chat_request(seed=2, temperature=0.7))

    sent = [("temperature" in s.body, "seed" in s.body) for s in fake_openai.requests]
    assert sent == [(True, True), (False, False), (False, False)]


def test_a_cancelled_call_is_not_sent(fake_openai, openai_backend, chat_request):
    import threading

    from specmill.llm.errors import CallCancelled

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CallCancelled) as caught:
        openai_backend().complete(chat_request(cancel=cancel))
    assert fake_openai.requests == [] and caught.value.record is None


def test_every_request_a_call_sent_is_counted_in_its_record(
    fake_openai, openai_backend, chat_request, report
):
    fake_openai.error(500, "upstream hiccup")  # retried
    fake_openai.error(400, "'response_format' of type 'json_schema' is not supported")
    fake_openai.answer("Sure, looks fine.")  # re-asked
    fake_openai.answer(report)

    record = openai_backend(max_retries=1).complete(chat_request()).record

    assert record.requests == len(fake_openai.requests) == 4
    assert (record.outcome, record.estimated) == ("ok", False)


def test_asking_differently_is_not_a_retry(fake_openai, openai_backend, chat_request, report):
    """A response format refused, then the output limit's name: with no retries allowed,
    the call still gets its answer (the endpoint said how to ask, not to wait)."""
    fake_openai.error(400, "'response_format' of type 'json_schema' is not supported")
    fake_openai.error(
        400,
        body={"error": {"message": "Unsupported parameter: 'max_tokens'", "param": "max_tokens"}},
    )
    fake_openai.answer(report)

    record = openai_backend(max_retries=0).complete(chat_request(max_output_tokens=500)).record

    assert record.requests == 3


def test_a_call_queued_for_a_slot_holds_no_budget(
    fake_openai, openai_backend, chat_request, report
):
    """Slot first, then the reservation: a call waiting behind models.concurrency leaves
    the budget to the calls that run."""
    fake_openai.always(content=json.dumps(report), delay=0.5)
    backend = openai_backend(concurrency=1, budget=BudgetConfig(max_tokens=100_000))
    request = {"max_output_tokens": 5_000}
    calls = [
        threading.Thread(target=backend.complete, args=(chat_request(**request),)) for _ in range(2)
    ]
    for call in calls:
        call.start()
    deadline = time.monotonic() + 5
    while not fake_openai.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the second call is queued for the slot by now
    held = backend.budget.held_tokens
    assert len(fake_openai.requests) == 1
    assert 5_000 < held < 2 * 5_000  # one prompt and one output limit: the running call's
    for call in calls:
        call.join()
    assert len(fake_openai.requests) == 2 and backend.budget.held_tokens == 0
