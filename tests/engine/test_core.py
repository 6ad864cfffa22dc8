"""The engine's pure parts and small adapters, without a pipeline around them."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from specmill.core.config import Config, Endpoint, ModelsConfig
from specmill.core.records import (
    FileContent,
    Finding,
    ModuleResult,
    RunRecord,
    Verdict,
    VerifierReport,
)
from specmill.core.spec import parse_spec
from specmill.engine.agents import verifier_names
from specmill.engine.checks import run_check, scrubbed_environment
from specmill.engine.guard import guard, refusal
from specmill.engine.inputs import clip
from specmill.engine.prompts import PromptLibrary, numbered
from specmill.engine.provenance import commit_message, parse_trailers
from specmill.engine.scheduler import Schedule
from specmill.engine.trace import line_in
from specmill.engine.verdicts import (
    decide,
    escalate,
    first_tier,
    normalize,
    verdict_of,
)
from specmill.errors import SpecmillError

OUTPUTS = ("src/a.py", "tests/test_a.py")
PROTECTED = Config().protected_patterns


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("src/a.py", None),
        ("./src//a.py", None),
        ("/etc/passwd", "absolute"),
        ("../a.py", "'..'"),
        ("src/../../a.py", "'..'"),
        (".git/hooks/pre-commit", ".git/"),
        ("src/.git/config", ".git/"),
        (".github/workflows/ci.yml", "protected path (.github/**)"),
        ("specmill.toml", "protected path (specmill.toml)"),
        ("specs/a.md", "protected path (specs/**)"),
        ("src/b.py", "not one of the spec's outputs"),
        ("C:/x.py", "absolute"),
    ],
)
def test_refusal(path: str, why: str | None) -> None:
    reason = refusal(path, OUTPUTS, PROTECTED)
    assert (reason is None) if why is None else (why in (reason or ""))


def test_a_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "src").symlink_to(outside)
    result = guard([FileContent(path="src/a.py", content="x")], OUTPUTS, PROTECTED, root)
    assert not result.accepted
    assert result.findings[0].kind == "path-refused"
    assert "symlink" in result.findings[0].message


def test_quorum_and_disagreement() -> None:
    bad = Finding(kind="code-defect", severity="major", message="wrong", requirement="R1")
    passing = Verdict(verifier="a", verdict="pass")
    failing = Verdict(verifier="b", verdict="fail", findings=[bad])
    majority = decide([passing, failing], None)
    assert (majority.passed, majority.disagreement, majority.blocking) == (False, True, [bad])
    one_is_enough = decide([passing, failing], 1)
    assert (one_is_enough.passed, one_is_enough.findings, one_is_enough.blocking) == (
        True,
        [bad],
        [],
    )
    assert decide([passing, passing, failing], None).passed
    errored = decide([passing, Verdict(verifier="c", verdict="error")], None)
    assert not errored.passed and "1 could not give a valid report" in errored.reason


def test_a_pass_with_a_blocking_finding_is_a_fail() -> None:
    bad = Finding(kind="code-defect", severity="blocker", message="x")
    report = VerifierReport(verdict="pass", summary="fine", findings=[bad])
    assert verdict_of("a", report).verdict == "fail"


def test_finding_lines_are_checked_and_spec_lines_filled() -> None:
    spec = parse_spec("---\noutputs: [src/a.py]\n---\n# A\n- **R1** does it.\n", "specs/a.md")
    finding = Finding(
        kind="code-defect",
        severity="minor",
        message="m",
        requirement="R1",
        file="src/a.py",
        line=99,
    )
    fixed = normalize(finding, spec, {"src/a.py": 10})
    assert (fixed.line, fixed.spec_line) == (None, 5)


def test_tiers() -> None:
    assert first_tier("auto", "low") == "fast"
    assert first_tier("auto", "high") == "strong"
    assert first_tier("standard", "low") == "standard"
    assert [escalate("fast"), escalate("standard"), escalate("strong")] == [
        "standard",
        "strong",
        "strong",
    ]


def test_trailers_round_trip() -> None:
    record = RunRecord(run_id="20250101-000000-abcdef", started_at="2025-01-01T00:00:00+00:00")
    modules = [
        ModuleResult(
            module="a", spec="specs/a.md", inputs_hash="sha256:" + "1" * 64, status="passed"
        ),
        ModuleResult(
            module="b.c", spec="specs/b/c.md", inputs_hash="sha256:" + "2" * 64, status="passed"
        ),
    ]
    trailers = parse_trailers(commit_message(record, modules))
    assert trailers.run == record.run_id
    assert trailers.modules == {"a": "sha256:" + "1" * 64, "b.c": "sha256:" + "2" * 64}
    assert parse_trailers("fix: a typo\n\nSigned-off-by: x").is_specmill is False


def test_the_check_environment_has_no_secrets() -> None:
    config = Config(
        secret_env=["INTERNAL_DSN"],
        models=ModelsConfig(
            api_key_env="LLM_KEY", verifiers=[Endpoint(model="m", api_key_env="OTHER_LLM")]
        ),
    )
    environ = {
        "PATH": "/bin",
        "OPENAI_API_KEY": "x",
        "ANTHROPIC_API_KEY": "x",
        "GITHUB_TOKEN": "x",
        "NPM_TOKEN": "x",
        "AWS_SECRET": "x",
        "LLM_KEY": "x",
        "OTHER_LLM": "x",
        "INTERNAL_DSN": "x",
        "GIT_DIR": "/elsewhere/.git",
        "HOME": "/home/me",
    }
    assert scrubbed_environment(environ, config) == {"PATH": "/bin", "HOME": "/home/me"}


def test_a_check_times_out_and_its_children_die(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    started = time.monotonic()
    result = run_check(
        f"(sleep 1; touch {marker}) & sleep 5", tmp_path, env=dict(os.environ), timeout=0.3
    )
    assert result.timed_out and result.exit_code is None and not result.passed
    assert time.monotonic() - started < 3
    time.sleep(1.2)
    assert not marker.exists()  # the background child was killed with its group


def test_clip_keeps_head_and_tail() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    clipped = clip(text, 300)
    assert clipped.startswith("line 0\n") and clipped.endswith("line 999\n")
    assert "characters omitted" in clipped and len(clipped) < 400


def test_schedule_runs_in_dependency_order_and_skips_dependents_of_failures() -> None:
    started: list[str] = []
    lock = threading.Lock()

    def work(module: str) -> str:
        with lock:
            started.append(module)
        return "fail" if module == "b" else "ok"

    results = Schedule(
        ["a", "b", "c", "d"],
        {"b": ["a"], "c": ["b"], "d": ["a"]},
        work,
        passed=lambda r: r == "ok",
        skip=lambda m, why: f"skipped ({why})",
        workers=4,
    ).run()
    assert results == {
        "a": "ok",
        "b": "fail",
        "c": "skipped (skipped: its dependency b did not pass)",
        "d": "ok",
    }
    assert started[0] == "a" and "c" not in started


def test_independent_modules_run_concurrently() -> None:
    def work(module: str) -> float:
        time.sleep(0.2)
        return time.monotonic()

    started = time.monotonic()
    Schedule(
        list("abcdefgh"), {}, work, passed=lambda r: True, skip=lambda m, w: 0.0, workers=8
    ).run()
    assert time.monotonic() - started < 0.6


def test_prompt_overrides_and_strict_variables(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path)
    shipped = library.digest("planner.j2")
    folder = tmp_path / ".specmill/templates/prompts"
    folder.mkdir(parents=True)
    (folder / "planner.j2").write_text(
        "{% block system %}Plan {{ module }}.{% endblock %}{% block user %}{{ nope }}{% endblock %}"
    )
    library = PromptLibrary(tmp_path)
    assert library.digest("planner.j2") != shipped
    with pytest.raises(SpecmillError, match="'nope' is undefined"):
        library.render("planner.j2", module="m")
    (folder / "verifier.j2").write_text("{% block system %}only one block{% endblock %}")
    with pytest.raises(SpecmillError, match="lacks block"):
        PromptLibrary(tmp_path).render("verifier.j2")


def test_helpers() -> None:
    assert numbered("a\nb\n") == "1 | a\n2 | b"
    assert verifier_names([Endpoint(model="x"), Endpoint(model="x"), Endpoint(model="y")]) == [
        "x#1",
        "x#2",
        "y",
    ]
    assert line_in("a\nb\nc\n", "h\nh\nh\na\nb\nX\n", 5) == 2
    assert line_in("a\nb\nc\n", "a\nX\n", 2) is None
