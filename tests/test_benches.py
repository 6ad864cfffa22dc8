"""The hot-path benches run at a tiny size, so that they cannot rot (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"
COMMANDS = ("check", "status", "lint", "affected --base", "hook (1 file)")


def load_check_bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # check_bench imports its sibling hook_bench
    try:
        spec = importlib.util.spec_from_file_location("check_bench", BENCH / "check_bench.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["check_bench"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("check_bench", None)


def test_check_bench_prints_the_four_figures_with_their_goals() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "check_bench.py"), "--quick", "--modules", "12"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    ratio = r"ratio \(best / best\) +[\d.]+x   goal <= {}x: (met|NOT MET)"
    for title, goal in (("1. check: 12 modules", "2"), ("2. affected --base main: 12", "50")):
        assert title in out
        assert re.search(ratio.format(goal), out), out
    assert "3. hook on 1 staged generated file" in out
    assert re.search(ratio.format(r"1\.1"), out), out
    heavy = "|".join(
        re.escape(name)
        for name in (
            "pydantic",
            "openai",
            "github (PyGithub)",
            "git (GitPython)",
            "jinja2",
            "rich",
            "specmill.engine",
            "specmill.llm",
            "specmill.github",
        )
    )
    for command in COMMANDS:
        row = re.search(
            rf"^  {re.escape(command)} +[\d.]+ms +-?[\d.]+ms +[\d.]+ms +[\d.]+ms   (.*)$",
            out,
            re.MULTILINE,
        )
        assert row, f"no import row for {command}:\n{out}"
        listed = row.group(1)
        assert listed == "none" or re.fullmatch(rf"(({heavy}) [\d.]+ ms(, )?)+", listed), listed
    assert re.search(r"goal: no heavy package on these hot paths: (met|NOT MET \(.+\))", out)


def test_hook_bench_quick_run_prints_the_ratio_and_the_goal() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH / "hook_bench.py"),
            "--quick",
            "--files",
            "3",
            "--rounds",
            "1",
            "--bin",
            str(Path(sys.executable).parent),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^1 generated .* [\d.]+x / [\d.]+x$", result.stdout, re.MULTILINE)
    assert re.search(r"goal: 1 generated file <= 1\.1x .*: (met|NOT MET)", result.stdout)


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |     typing_extensions
import time:       200 |        300 |   pydantic.version
import time:        50 |        350 | pydantic
import time:        10 |         10 |   git.util
import time:        20 |         30 | github
import time:         5 |          5 |     pydantic.fields
import time:        40 |         45 |   specmill.core.config
import time:        60 |        105 | specmill.cli.check
"""


def test_importtime_is_attributed_to_the_outermost_import_of_each_package() -> None:
    bench = load_check_bench()
    roots = bench.parse_importtime("Usage: noise\n" + IMPORTTIME)
    assert [(node.name, node.cumulative_us) for node in roots] == [
        ("pydantic", 350),
        ("github", 30),
        ("specmill.cli.check", 105),
    ]
    assert [child.name for child in roots[2].children] == ["specmill.core.config"]
    assert [child.name for child in roots[2].children[0].children] == ["pydantic.fields"]
    pydantic = bench.outermost(roots, "pydantic")
    assert [(node.name, node.cumulative_us) for node in pydantic] == [
        ("pydantic", 350),
        ("pydantic.fields", 5),
    ]
    assert [node.name for node in bench.outermost(roots, "git")] == ["git.util"]  # not github
    assert [node.name for node in bench.outermost(roots, "specmill")] == ["specmill.cli.check"]
    assert bench.outermost(roots, "openai") == []
