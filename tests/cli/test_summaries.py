"""A one-line result on a terminal, silence for scripts; lint reports every error.

The terminal is a real pseudo-terminal: the console script runs with its stdout on a
pty, as it does in a person's shell.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project

SPECMILL = shutil.which("specmill", path=str(Path(sys.executable).parent))


def on_terminal(project: Project, *args: str) -> tuple[int, str]:
    """``specmill ARGS`` with stdout on a pseudo-terminal: exit code and what it showed."""
    assert SPECMILL is not None, "the specmill console script is not installed"
    leader, follower = pty.openpty()
    done = subprocess.run(
        [SPECMILL, *args], cwd=project.root, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other side is closed and drained
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return done.returncode, shown.decode().replace("\r\n", "\n")


def test_check_says_ok_on_a_terminal_and_nothing_when_piped(billing: Project) -> None:
    code, shown = on_terminal(billing, "check")
    assert (code, shown) == (0, "ok: 2 modules, 3 outputs fresh\n")
    assert on_terminal(billing, "check", "--quiet") == (0, "")
    assert billing.main("check") == (0, "", "")
    code, shown = on_terminal(billing, "check", "src/billing/money.py")
    assert shown == "ok: 1 module, 1 output fresh\n"


def test_check_counts_its_problems_on_a_terminal(billing: Project) -> None:
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "x = 1\n")
    code, shown = on_terminal(billing, "check")
    assert code == 1
    assert shown.splitlines()[-1] == "found 1 problem"
    code, out, _ = billing.main("check")
    assert code == 1 and "found" not in out


def test_affected_says_when_nothing_is_affected(billing: Project) -> None:
    assert on_terminal(billing, "affected") == (0, "nothing affected\n")
    assert billing.main("affected") == (0, "", "")
    assert billing.main("affected", "--json")[1].strip() == "[]"


def test_lint_says_ok_on_a_terminal(billing: Project) -> None:
    assert on_terminal(billing, "lint") == (0, "ok: 2 specs and specmill.toml\n")
    assert on_terminal(billing, "lint", "-q") == (0, "")


BROKEN = """\
---
outputs:
  - src/ok.py
  - ../outside.py
  - src/ok.py
contxt: [docs/x.md]
tier: huge
---
# Broken
- **R1** one.
- **R1** the same id again.
"""


def test_lint_reports_every_error_of_every_file(billing: Project) -> None:
    billing.write("specs/broken.md", BROKEN)
    billing.write("specs/also.md", "---\noutputs: []\nbogus: 1\n---\n- **A1** a\n- **A1** b\n")
    code, out, _ = billing.main("lint")
    assert code == 1
    assert out.splitlines() == [
        "specs/also.md:2: invalid: outputs: List should have at least 1 item after"
        " validation, not 0",
        "specs/also.md:3: invalid: unknown key 'bogus' (allowed: id, outputs, depends_on,"
        " context, tier, checks)",
        "specs/also.md:6: invalid: duplicate requirement id A1 (first at line 5)",
        "specs/broken.md:4: invalid: outputs: '../outside.py' contains '..'; outputs must stay"
        " inside the repository",
        "specs/broken.md:5: invalid: output 'src/ok.py' is listed twice",
        "specs/broken.md:6: invalid: unknown key 'contxt' (allowed: id, outputs, depends_on,"
        " context, tier, checks)",
        "specs/broken.md:7: invalid: tier: Input should be 'auto', 'fast', 'standard' or 'strong'",
        "specs/broken.md:11: invalid: duplicate requirement id R1 (first at line 10)",
    ]


def test_lint_refuses_what_regen_would_refuse_later(billing: Project) -> None:
    config = billing.read("specmill.toml")
    billing.write(
        "specmill.toml", config + '\n[specmill.models]\nverifiers = [{model = "a"}]\nquorum = 2\n'
    )
    billing.write(
        ".specmill/templates/prompts/planner.j2",
        "{% block system %}You plan.{% endblock %}\n{% block user %}{{ spec.text }\n",
    )
    billing.write(".specmill/templates/prompts/verifier.j2", "no blocks at all\n")
    code, out, _ = billing.main("lint")
    assert code == 1
    lines = out.splitlines()
    quorum_line = config.count("\n") + 4
    assert (
        f"specmill.toml:{quorum_line}: invalid: models.quorum = 2, but only 1 verifier(s) are"
        " configured: no module could ever pass"
    ) in lines
    assert any(
        line.startswith(".specmill/templates/prompts/planner.j2:2: invalid: prompt template:")
        for line in lines
    ), lines
    assert any(
        line.startswith(".specmill/templates/prompts/verifier.j2:1: invalid: prompt template")
        and "lacks block(s) system, user" in line
        for line in lines
    ), lines


@pytest.mark.parametrize("name", ["_inputs.j2", "notes.j2"])
def test_a_prompt_part_only_has_to_compile(billing: Project, name: str) -> None:
    billing.write(f".specmill/templates/prompts/{name}", "{{ spec.text }}\n")
    assert billing.main("lint")[0] == 0
