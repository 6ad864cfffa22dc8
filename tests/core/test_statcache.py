"""The stat cache must never hide a change: a changed file is always re-read."""

import dataclasses
import os
import time
from pathlib import Path

import pytest

from specmill.core import project as project_module
from specmill.core.project import load_project
from specmill.core.status import ModuleStatus, OutputStatus, find_problems, project_status
from tests.conftest import Project


def age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def states(root: Path) -> list[str]:
    project = load_project(root)
    result = [o.state for m in project_status(project) for o in m.outputs]
    project.save_cache()
    return result


def test_cache_is_used_and_invalidated_by_edits(billing: Project) -> None:
    for path in billing.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            age(path)
    assert states(billing.root) == ["fresh", "fresh", "fresh"]
    cache_file = billing.root / ".git" / "specmill" / "stat-cache.json"
    assert cache_file.exists()
    assert "src/billing/invoice.py" in cache_file.read_text()

    # same size, different content: mtime/ctime change and the cache must notice
    target = billing.root / "src/billing/invoice.py"
    text = target.read_text()
    target.write_text(text.replace("return 0", "return 1"))
    assert states(billing.root) == ["fresh", "hand-edited", "fresh"]


def test_racy_fresh_files_are_not_cached(billing: Project) -> None:
    states(billing.root)  # files were just written: too recent to trust
    cache_file = billing.root / ".git" / "specmill" / "stat-cache.json"
    assert not cache_file.exists() or "src/billing/invoice.py" not in cache_file.read_text()


def test_corrupt_cache_is_ignored(billing: Project) -> None:
    cache_file = billing.root / ".git" / "specmill" / "stat-cache.json"
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text("{not json")
    assert states(billing.root) == ["fresh", "fresh", "fresh"]


def test_spec_cache_invalidated_by_spec_edit(billing: Project) -> None:
    for path in billing.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            age(path)
    states(billing.root)
    spec = billing.root / "specs/billing/money.md"
    spec.write_text(spec.read_text().replace("src/billing/money.py", "src/billing/cash.py"))
    project = load_project(billing.root)
    assert project.by_id["billing.money"].outputs == ("src/billing/cash.py",)


def test_statuses_from_the_caches_are_the_ones_init_builds(billing: Project) -> None:
    """``module_status`` builds fresh modules without ``__init__``: every field is there
    and they equal the ones the constructor makes, as their outputs do."""
    for path in billing.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            age(path)
    states(billing.root)  # writes the caches
    project = load_project(billing.root)
    for status in project_status(project):
        spec = project.by_path[status.spec]
        assert spec.depends_on == tuple(spec.front.depends_on)
        made = ModuleStatus(
            status.module,
            status.spec,
            project.inputs_hash(spec),
            [OutputStatus(o.path, o.state, o.header, o.header_line) for o in status.outputs],
        )
        assert status == made and status.fresh
        assert vars(status) == vars(made)
        for got, want in zip(status.outputs, made.outputs, strict=True):
            assert (got.state, got._asdict(), hash(got)) == ("fresh", want._asdict(), hash(want))


def test_a_warm_check_reads_no_spec_and_no_output(
    billing: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both caches warm and nothing changed, every spec and every output comes
    from the caches (a key written one way and looked up another would miss silently)."""
    for path in billing.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            age(path)
    states(billing.root)  # writes the caches
    cold = states(billing.root)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read although cached")

    monkeypatch.setattr(project_module, "parse_spec", refuse)
    monkeypatch.setattr(project_module, "probe_text", refuse)
    assert states(billing.root) == cold == ["fresh", "fresh", "fresh"]


def test_a_fresh_output_whose_header_names_another_module_is_still_a_problem(
    billing: Project,
) -> None:
    """``find_problems`` passes fresh outputs by only when their header names their own
    module: a header copied from another module's output is reported."""
    project = load_project(billing.root)
    statuses = project_status(project)
    first = statuses[0]
    output = first.outputs[0]
    assert output.state == "fresh" and output.header is not None
    moved = output._replace(header=output.header._replace(module="billing.other"))
    statuses[0] = dataclasses.replace(first, outputs=[moved, *first.outputs[1:]])
    problems = find_problems(project, statuses)
    assert [(p.path, p.kind) for p in problems] == [(output.path, "invalid")]
    assert "header names module 'billing.other'" in problems[0].message
