"""The manual's scripted answers example (docs/models.md), run as it tells it: init, the
models table and answers.yaml from the page, commit, regen (no model, $0), check."""

from __future__ import annotations

import re
from pathlib import Path

from specmill.core.records import ExecutorOutput, Plan, VerifierReport
from tests.conftest import Project, git

PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def page_section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("## Scripted answers: the pipeline without a model")
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page_section(), re.M | re.S)


def test_the_scripted_example_regenerates_init_s_example_for_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "new"
    root.mkdir()
    git(root, "init", "--quiet")
    repo = Project(root)
    code, _, err = repo.main("init")
    assert code == 0, err
    (models,) = blocks("toml")
    (answers,) = blocks("yaml")
    config = repo.read("specmill.toml")
    table = config.index("[specmill.models]")
    repo.write("specmill.toml", config[:table] + models)
    repo.write("answers.yaml", answers)
    repo.commit("set up specmill, with scripted answers")

    code, out, err = repo.main("regen")
    assert code == 0, err
    assert "model: scripted answers from answers.yaml (no model is called)" in err
    assert "wrote src/example/greeting.py" in out
    summary = next(line for line in out.splitlines() if "model call(s)" in line)
    assert summary.startswith("4 model call(s), ") and ", $0.0000;" in summary
    assert "`4 model\ncall(s)`, `$0.0000`" in page_section()  # what the page says it prints
    assert repo.main("check") == (0, "", "")
    assert 'return f"Hello, {name}!"' in repo.read("src/example/greeting.py")
    assert git(root, "status", "--porcelain") == ""  # committed


def test_the_answers_are_the_schemas_the_page_names() -> None:
    import yaml

    (answers,) = blocks("yaml")
    script = yaml.safe_load(answers)
    Plan.model_validate(script["planner"][0])
    ExecutorOutput.model_validate(script["executor"][0])
    for report in script["modules"]["example.greeting"]["verifier"]:
        VerifierReport.model_validate(report)
