"""The scripted backend: answers in order, per module, loud when it runs out."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
import yaml

from specmill.core.config import BudgetConfig, ModelsConfig
from specmill.core.records import ExecutorOutput, Plan, VerifierReport
from specmill.errors import ConfigError
from specmill.llm import (
    BACKENDS,
    BudgetExceeded,
    ChatRequest,
    InvalidAnswerError,
    ScriptExhaustedError,
    make_backend,
)
from specmill.llm.scripted import ScriptedBackend

PLAN = {
    "files": [{"path": "src/billing/invoice.py", "purpose": "the Invoice class"}],
    "public_api": ["Invoice.total() -> Decimal"],
    "steps": [{"description": "sum line totals", "requirements": ["R1"]}],
    "complexity": "low",
    "ambiguities": [],
}
CODE = {"files": [{"path": "src/billing/invoice.py", "content": "class Invoice: ..."}], "notes": ""}


def verdict(summary: str, result: str = "pass") -> dict[str, Any]:
    return {"verdict": result, "summary": summary, "findings": []}


RESPONSE_MODELS = {"planner": Plan, "executor": ExecutorOutput, "verifier": VerifierReport}


def ask(backend: ScriptedBackend, role: str, module: str = "billing.invoice") -> Any:
    request = ChatRequest(
        role=role,  # type: ignore[arg-type]
        module=module,
        model="scripted",
        messages=[{"role": "user", "content": "x" * 400}],
        response_model=RESPONSE_MODELS[role],
        template=f"{role}.md.j2",
        template_sha256="0" * 64,
    )
    return backend.complete(request)


def test_answers_come_in_order_per_role() -> None:
    backend = ScriptedBackend(
        {"planner": [PLAN], "executor": [CODE], "verifier": [verdict("one"), verdict("two")]}
    )
    assert ask(backend, "planner").value == Plan.model_validate(PLAN)
    assert ask(backend, "executor").value.files[0].path == "src/billing/invoice.py"
    assert [ask(backend, "verifier").value.summary for _ in range(2)] == ["one", "two"]
    assert backend.remaining() == {}


def test_a_modules_own_answers_take_precedence() -> None:
    backend = ScriptedBackend(
        {
            "verifier": [verdict("generic")],
            "modules": {"billing.invoice": {"verifier": [verdict("invoice", "fail")]}},
        }
    )
    assert ask(backend, "verifier", "billing.invoice").value.summary == "invoice"
    assert ask(backend, "verifier", "billing.money").value.summary == "generic"


def test_running_out_is_loud_and_names_role_and_module() -> None:
    backend = ScriptedBackend({"planner": [PLAN]}, source="answers.yaml")
    ask(backend, "planner")
    with pytest.raises(ScriptExhaustedError) as caught:
        ask(backend, "planner", "billing.money")
    message = str(caught.value)
    assert "planner" in message and "billing.money" in message and "answers.yaml" in message


def test_a_used_up_module_list_does_not_fall_through_to_the_generic_one() -> None:
    backend = ScriptedBackend(
        {"verifier": [verdict("generic")], "modules": {"billing.invoice": {"verifier": []}}}
    )
    with pytest.raises(ScriptExhaustedError, match=r"modules\.billing\.invoice\.verifier"):
        ask(backend, "verifier")
    assert backend.remaining() == {"verifier": 1}


def test_a_role_missing_from_the_script_is_loud() -> None:
    with pytest.raises(ScriptExhaustedError, match="no executor answer left"):
        ask(ScriptedBackend({"planner": [PLAN]}), "executor")


def test_junk_is_reasked_through_the_shared_loop() -> None:
    backend = ScriptedBackend({"verifier": ["Looks fine to me!", verdict("second try")]})
    response = ask(backend, "verifier")
    assert response.value.summary == "second try"
    assert response.reasks == 1
    # tokens are estimated from text length: 400 chars, then 400 + the junk + the re-ask
    assert response.record.prompt_tokens > 200
    assert response.record.completion_tokens > 0


def test_junk_until_the_reasks_run_out_is_an_invalid_answer() -> None:
    backend = ScriptedBackend(
        {"verifier": ['{"verdict": "maybe"}'] * 3},
        models=ModelsConfig(backend="scripted", reask_limit=2),
    )
    with pytest.raises(InvalidAnswerError, match="VerifierReport") as caught:
        ask(backend, "verifier")
    assert caught.value.record is not None and caught.value.record.outcome == "invalid"


def test_answers_are_each_used_once_across_threads() -> None:
    summaries = [f"answer {n}" for n in range(40)]
    backend = ScriptedBackend({"verifier": [verdict(s) for s in summaries]})
    seen: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            summary = ask(backend, "verifier").value.summary
            with lock:
                seen.append(summary)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(summaries)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_make_backend_loads_the_script_relative_to_the_repo(tmp_path: Path, suffix: str) -> None:
    script = {"planner": [PLAN], "verifier": ["not json", verdict("ok")]}
    text = json.dumps(script) if suffix == ".json" else yaml.safe_dump(script)
    (tmp_path / f"answers{suffix}").write_text(text, encoding="utf-8")
    models = ModelsConfig(backend="scripted", script=f"answers{suffix}")

    backend = make_backend(models, BudgetConfig(), repo_root=tmp_path)

    assert isinstance(backend, ScriptedBackend)
    assert ask(backend, "planner").value.complexity == "low"
    assert ask(backend, "verifier").reasks == 1


def test_the_budget_applies_to_scripted_runs_too(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text(yaml.safe_dump({"planner": [PLAN, PLAN]}))
    models = ModelsConfig(backend="scripted", script="answers.yaml")
    backend = make_backend(models, BudgetConfig(max_tokens=200), repo_root=tmp_path)
    ask(backend, "planner")
    assert 100 < backend.budget.tokens <= 200  # the next 400-char prompt would overrun
    with pytest.raises(BudgetExceeded):
        ask(backend, "planner")
    assert backend.remaining() == {"planner": 1}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("script", "complaint"),
    [
        ([PLAN], "mapping"),
        ({"planer": [PLAN]}, "unknown key 'planer'"),
        ({"planner": PLAN}, "planner must be a list"),
        ({"planner": [3]}, r"planner\[0\] must be a JSON object or a string"),
        ({"modules": {"billing.invoice": {"reviewer": []}}}, "unknown role 'reviewer'"),
    ],
)
def test_a_malformed_script_is_a_config_error(script: object, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        ScriptedBackend(script)  # type: ignore[arg-type]


def test_missing_script_settings_and_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs models\.script"):
        make_backend(ModelsConfig(backend="scripted"), BudgetConfig(), repo_root=tmp_path)
    with pytest.raises(ConfigError, match="cannot read"):
        make_backend(
            ModelsConfig(backend="scripted", script="nope.yaml"), BudgetConfig(), repo_root=tmp_path
        )
    (tmp_path / "bad.json").write_text("{planner: [")
    with pytest.raises(ConfigError, match="not valid"):
        make_backend(
            ModelsConfig(backend="scripted", script="bad.json"), BudgetConfig(), repo_root=tmp_path
        )


def test_the_registry_covers_every_configurable_backend() -> None:
    backend = get_type_hints(ModelsConfig)["backend"]
    assert set(BACKENDS) == set(get_args(backend))


def test_importing_the_llm_package_does_not_import_openai() -> None:
    """The scripted demo and the engine's imports should not pay for the SDK."""
    code = "import sys, specmill.llm, specmill.llm.scripted; print('openai' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
