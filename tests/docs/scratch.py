"""Scratch repositories for the manual's examples, and the runner that executes a block.

A block runs in a real shell (bash) in a git repository made by a *recipe* below, with
``specmill`` the code under test (this virtual environment's ``bin`` first on ``PATH``)
and ``HOME`` a temporary folder. Where a model is needed, the recipe configures the
scripted backend, or (``MODEL_RECIPES``) the block sees ``OPENAI_BASE_URL`` of a local
server that answers as the scripted answers do: no network, no cost. Recipes are built
once per test module and copied, one copy per page and repository name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.docs.blocks import Block, Command, matches

BLOCK_TIMEOUT = 90  # seconds for a whole block
# Said once per process on a machine without tiktoken's encoding file (no network at
# install): a fact about the machine, not about the example, so never compared.
MACHINE_NOTE = re.compile(r"tiktoken encoding \S+ is not on this machine ")
SENTINEL = re.compile(r"\n?\x1especmill-docs (\d+)\x1e\n")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Doe",
    "GIT_AUTHOR_EMAIL": "ada@example.invalid",
    "GIT_COMMITTER_NAME": "Ada Doe",
    "GIT_COMMITTER_EMAIL": "ada@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def environment(home: Path, model_url: str = "") -> dict[str, str]:
    """What a block's commands see: this venv's specmill, a home of their own, and a key
    and base URL only where a recipe points at a model (``model_url``)."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "specmill").exists(), f"run pytest with the Python of a venv: {venv_bin}"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n", encoding="utf-8"
    )
    return {
        "PATH": os.pathsep.join([str(venv_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as on a terminal
        "PYTHONDONTWRITEBYTECODE": "1",
        "PRE_COMMIT_HOME": str(home / ".cache" / "pre-commit"),
        **GIT_IDENTITY,
        **({"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "sk-docs"} if model_url else {}),
    }


@dataclass
class Ran:
    command: Command
    output: list[str]
    status: int | None  # None: the block timed out before it ended

    def problem(self) -> str | None:
        if self.status is None:
            return "did not end: the block timed out"
        if self.status != self.command.exit:
            return f"exited {self.status}, not {self.command.exit}"
        if self.command.output is not None and not matches(self.command.output, self.output):
            return "printed other output than shown"
        return None


def run(block: Block, repo: Path, env: dict[str, str]) -> list[Ran]:
    """Run a block's commands one after another in one shell, as a reader would."""
    script = ["exec 2>&1"]
    for command in block.to_run():
        script += [
            command.text,
            '__s=$?; printf \'\\036specmill-docs %d\\036\\n\' "$__s"; (exit "$__s")',
        ]
    shell = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        start_new_session=True,  # a group of its own: a timeout ends all it started
    )
    try:
        printed, _ = shell.communicate(timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(shell.pid, signal.SIGKILL)
        printed, _ = shell.communicate()
    text = printed.decode("utf-8", "replace")
    parts = SENTINEL.split(text)
    ran = []
    for index, command in enumerate(block.to_run()):
        if 2 * index + 1 < len(parts):
            output, status = parts[2 * index], int(parts[2 * index + 1])
        else:
            output, status = (parts[2 * index] if 2 * index < len(parts) else ""), None
        lines = [
            line.rstrip()
            for line in output.replace(str(repo), "REPO").splitlines()
            if not MACHINE_NOTE.match(line)
        ]
        ran.append(Ran(command, lines, status))
        if status is None:
            break
    return ran


def report(block: Block, ran: list[Ran]) -> str:
    """What went wrong, with the command, the shown and the printed output."""
    out = []
    for r in ran:
        problem = r.problem()
        if problem:
            out.append(f"{block.page}:{r.command.line}: `{r.command.text}` {problem}")
            if r.command.output is not None:
                out += ["--- shown", *r.command.output]
            out += ["--- printed", *r.output, "---"]
    return "\n".join(out)


# --- recipes -------------------------------------------------------------------------


def git(repo: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def specmill(repo: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        ["specmill", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"specmill {' '.join(args)}:\n{done.stdout}{done.stderr}"


def write(repo: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def empty(repo: Path, env: dict[str, str]) -> None:
    """A git repository with one commit and nothing of specmill's."""
    git(repo, env, "init", "--quiet")
    write(repo, {"README.md": "# shop\n"})
    git(repo, env, "add", "--all")
    git(repo, env, "commit", "--quiet", "-m", "start")


def billing(repo: Path, env: dict[str, str]) -> None:
    """The manual's running example: billing.money and billing.invoice generated by a
    scripted regen and committed, and a remote ``origin`` with ``main``."""
    git(repo, env, "init", "--quiet")
    write(repo, BILLING)
    git(repo, env, "add", "--all")
    git(repo, env, "commit", "--quiet", "-m", "billing specs, with scripted answers")
    specmill(repo, env, "regen", "-q", "billing.money", "billing.invoice")
    origin = repo.parent / (repo.name + "-origin.git")
    git(repo.parent, env, "clone", "--quiet", "--bare", str(repo), str(origin))
    git(repo, env, "remote", "add", "origin", str(origin))
    git(repo, env, "fetch", "--quiet", "origin")


def tax(repo: Path, env: dict[str, str]) -> None:
    """``billing``, plus code you already have: billing.tax's spec and hand-written
    ``src/billing/tax.py``, committed, not adopted (``specmill check`` reports it)."""
    write(repo, TAX)
    git(repo, env, "add", "--all")
    git(repo, env, "commit", "--quiet", "-m", "the tax spec, for code we have")


def shop(repo: Path, env: dict[str, str]) -> None:
    """A project before specmill: hand-written ``src/billing/tax.py`` and the spec just
    written for it (Getting started, step 2), committed; no ``specmill.toml`` yet."""
    write(repo, {"src/billing/__init__.py": "", **TAX})
    git(repo, env, "add", "--all")
    git(repo, env, "commit", "--quiet", "-m", "the tax code, and its spec")


def unpriced(repo: Path, env: dict[str, str]) -> None:
    """A configuration that parses but cannot work: a budget in dollars, and a model
    that has no price (docs/configuration.md, "One configuration check")."""
    write(repo, {"specmill.toml": UNPRICED})
    git(repo, env, "add", "--all")
    git(repo, env, "commit", "--quiet", "-m", "a budget in dollars")


UNPRICED = """\
[specmill]

[specmill.models]
verifiers = [{ model = "gpt-4.1" }, { model = "claude-sonnet" }]

[specmill.budget]
max_usd = 5.0
"""

MODEL_RECIPES = {"shop"}  # their blocks see OPENAI_BASE_URL: the local model server
Recipe = Callable[[Path, dict[str, str]], None]
# Each recipe: the one it starts from (a copy of its repository), and what it adds.
RECIPES: dict[str, tuple[str | None, Recipe]] = {
    "empty": (None, empty),
    "billing": (None, billing),
    "tax": ("billing", tax),
    "shop": ("empty", shop),
    "unpriced": ("empty", unpriced),
}


class Scratch:
    """Builds each recipe once, hands out copies: one per page and repository name."""

    def __init__(self, base: Path, model_url: str) -> None:
        self.base = base
        self.model_url = model_url
        self.built: dict[str, Path] = {}
        self.copies: dict[tuple[str, str], tuple[Path, dict[str, str]]] = {}
        self.done: dict[tuple[str, str], int] = {}  # blocks run so far in each copy

    def template(self, recipe: str) -> Path:
        if recipe not in self.built:
            start, build = RECIPES[recipe]
            folder = self.base / "recipes" / recipe
            if start:
                root, env = self.copy(self.template(start), folder, recipe)
            else:
                root, env = folder / "repo", environment(folder / "home")
                root.mkdir(parents=True)
            build(root, env)
            self.built[recipe] = root
        return self.built[recipe]

    def repo(self, page: str, name: str) -> tuple[Path, dict[str, str]]:
        key = (page, name)
        if key not in self.copies:
            target = self.base / "copies" / re.sub(r"\W+", "-", f"{page}-{name}")
            recipe = name.split("#")[0]
            self.copies[key] = self.copy(self.template(recipe), target, recipe)
        return self.copies[key]

    def copy(self, template: Path, target: Path, recipe: str) -> tuple[Path, dict[str, str]]:
        """The template's folder (repository, origin, home) copied, with a home of its own."""
        shutil.copytree(template.parent, target, symlinks=True)
        env = environment(target / "home", self.model_url if recipe in MODEL_RECIPES else "")
        origin = target / "repo-origin.git"
        if origin.exists():  # the copy's own remote, not the template's
            git(target / "repo", env, "remote", "set-url", "origin", str(origin))
        return target / "repo", env


# The running example's files. Invoice's code is long enough for `trace …invoice.py:29`.
MONEY = '''\
"""Amounts of money in cents."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Money:
    cents: int

    def __add__(self, other: "Money") -> "Money":
        return Money(self.cents + other.cents)
'''

INVOICE = '''\
"""An invoice: line items and their total."""

from dataclasses import dataclass, field

from billing.money import Money


@dataclass(frozen=True)
class Line:
    description: str
    unit_price: Money
    quantity: int

    def total(self) -> Money:
        return Money(self.unit_price.cents * self.quantity)


@dataclass
class Invoice:
    lines: list[Line] = field(default_factory=list)

    def add(self, description: str, unit_price: Money, quantity: int) -> None:
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        self.lines.append(Line(description, unit_price, quantity))

    def total(self) -> Money:
        result = Money(0)
        for line in self.lines:
            result = result + line.total()
        return result
'''

INVOICE_TESTS = """\
import unittest

from billing.invoice import Invoice
from billing.money import Money


class InvoiceTest(unittest.TestCase):
    def test_total(self) -> None:
        invoice = Invoice()
        invoice.add("pen", Money(150), 2)
        self.assertEqual(invoice.total(), Money(300))

    def test_negative_quantity(self) -> None:
        with self.assertRaises(ValueError):
            Invoice().add("pen", Money(150), -1)
"""

ANSWERS = f"""\
# Scripted answers (docs/models.md#scripted-answers-the-pipeline-without-a-model)
modules:
  billing.money:
    planner:
      - files: [{{path: src/billing/money.py, purpose: "Money, M1"}}]
        public_api: ["Money(cents: int)"]
        steps: [{{description: "a frozen dataclass that adds", requirements: [M1]}}]
        complexity: low
        ambiguities: []
    executor:
      - notes: "M1 as planned"
        files:
          - path: src/billing/money.py
            content: {json.dumps(MONEY)}
    verifier: &pass
      - {{verdict: pass, summary: "the requirements hold", findings: []}}
      - {{verdict: pass, summary: "the requirements hold", findings: []}}
  billing.invoice:
    planner:
      - files:
          - {{path: src/billing/invoice.py, purpose: "Invoice, R1 and R2"}}
          - {{path: tests/billing/test_invoice.py, purpose: "tests of R1 and R2"}}
        public_api: ["Invoice.add(description, unit_price, quantity)", "Invoice.total()"]
        steps:
          - {{description: "refuse a negative quantity in add", requirements: [R2]}}
          - {{description: "sum the line totals", requirements: [R1]}}
        complexity: low
        ambiguities: []
    executor:
      - notes: "R1 and R2 as planned"
        files:
          - path: src/billing/invoice.py
            content: {json.dumps(INVOICE)}
            requirement_lines:
              - {{start: 22, end: 25, requirements: [R2]}}
              - {{start: 27, end: 31, requirements: [R1]}}
          - path: tests/billing/test_invoice.py
            content: {json.dumps(INVOICE_TESTS)}
    verifier: *pass
"""

BILLING = {
    "specmill.toml": """\
[specmill]
checks = ["python -m unittest discover -s tests -t . -q"]
check_import_roots = ["src"]

[specmill.models]
backend = "scripted"              # answers from answers.yaml: no model, no key, $0
script = "answers.yaml"
""",
    "answers.yaml": ANSWERS,
    ".gitignore": "__pycache__/\n",
    "specs/billing/money.md": """\
---
outputs:
  - src/billing/money.py
checks:
  - python -c "from billing.money import Money; assert Money(1) + Money(2) == Money(3)"
---
# Money
- **M1** `Money(cents)` is an amount in cents; two amounts add up.
""",
    "specs/billing/invoice.md": """\
---
outputs:
  - src/billing/invoice.py
  - tests/billing/test_invoice.py
depends_on: [billing.money]
---
# Invoice
- **R1** `Invoice.total()` returns the sum of line totals.
- **R2** Adding a line item with a negative quantity raises `ValueError`.
""",
    "src/billing/__init__.py": "",
    "tests/__init__.py": "",
    "tests/billing/__init__.py": "",
}

TAX = {
    "specs/billing/tax.md": """\
---
outputs:
  - src/billing/tax.py
---
# Tax
- **T1** `vat(cents)` is 20% of an amount, rounded down to a cent.
""",
    "src/billing/tax.py": "def vat(cents: int) -> int:\n    return cents // 5\n",
}
