"""What ``specmill init`` proposes, from what the repository already shows. Pure.

- The ecosystem, from its manifest (the first found, in this order): ``package.json``
  (Node: ``npm test`` when the manifest has a test script, else ``node --test``),
  ``go.mod`` (``go test ./...``), ``Cargo.toml`` (``cargo test``), ``pyproject.toml``,
  ``setup.py``, ``setup.cfg`` or ``requirements.txt`` (``pytest -q``); none: Python. It
  decides the checks proposed in the config and the language of the example spec.
- Whether a workflow regenerates pull requests with the specmill Action: a step that
  ``uses:`` an action named ``specmill`` (``owner/specmill@ref``, a fork too) in a
  mode that regenerates (``run`` or ``generate``) with a model (``api-key`` or
  ``base-url``). Then the stale hook only reports: the bot regenerates.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# npm writes this test script into a new package.json: it fails on purpose.
NPM_PLACEHOLDER = 'echo "Error: no test specified" && exit 1'
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")  # a name printed into a TOML comment


@dataclass(frozen=True)
class Ecosystem:
    name: str  # python | node | go | rust: the example spec's template
    manifest: str  # the file that told ("" when none did)
    check: str  # the check command proposed in the config
    why: str  # where that command comes from, in a few words
    example: str  # the example spec's output
    esm: bool = False  # node: package.json says "type": "module"


def _node(manifest: str | None) -> Ecosystem:
    try:
        data = json.loads(manifest or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    scripts = data.get("scripts")
    test = scripts.get("test") if isinstance(scripts, dict) else None
    esm = data.get("type") == "module"
    if isinstance(test, str) and test.strip() and test.strip() != NPM_PLACEHOLDER:
        check, why = "npm test", "package.json's test script"
    else:
        check, why = "node --test", "package.json, which has no test script: Node's test runner"
    return Ecosystem("node", "package.json", check, why, "src/example/greeting.js", esm)


ECOSYSTEMS: dict[str, Callable[[str | None], Ecosystem]] = {
    "node": _node,
    "go": lambda _: Ecosystem(
        "go", "go.mod", "go test ./...", "go's test tool", "example/greeting.go"
    ),
    "rust": lambda _: Ecosystem("rust", "Cargo.toml", "cargo test", "cargo", "src/greeting.rs"),
    "python": lambda _: Ecosystem("python", "", "pytest -q", "pytest", "src/example/greeting.py"),
}
MANIFESTS = (
    ("package.json", "node"),
    ("go.mod", "go"),
    ("Cargo.toml", "rust"),
    ("pyproject.toml", "python"),
    ("setup.py", "python"),
    ("setup.cfg", "python"),
    ("requirements.txt", "python"),
)


def detect_ecosystem(
    read: Callable[[str], str | None], chosen: str | None = None
) -> tuple[Ecosystem, list[str]]:
    """The project's ecosystem (or the ``chosen`` one) and the other manifests found."""
    found = [(name, kind) for name, kind in MANIFESTS if read(name) is not None]
    if chosen is None and found:
        chosen = found[0][1]
    kind = chosen or "python"
    manifest = next((name for name, k in found if k == kind), "")
    ecosystem = ECOSYSTEMS[kind](read(manifest) if manifest else None)
    if kind == "python":
        why = manifest or "no package.json, go.mod, Cargo.toml or pyproject.toml here: Python"
        ecosystem = dataclasses.replace(ecosystem, manifest=manifest, why=why)
    return ecosystem, [name for name, k in found if k != kind]


def regenerating_workflow(workflows: Mapping[str, str]) -> str | None:
    """The first workflow (by file name) whose specmill step regenerates; its name is
    returned only when it is a plain file name (it is printed into the config)."""
    import yaml

    for name in sorted(workflows):
        try:
            document = yaml.safe_load(workflows[name])
        except yaml.YAMLError:
            continue
        if any(_regenerates(step) for step in _steps(document)):
            return name if _SAFE_NAME.fullmatch(name) else "a workflow"
    return None


def _steps(document: object) -> list[object]:
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        return []
    steps: list[object] = []
    for job in jobs.values():
        listed = job.get("steps") if isinstance(job, dict) else None
        steps += listed if isinstance(listed, list) else []
    return steps


def _regenerates(step: object) -> bool:
    if not isinstance(step, dict) or not isinstance(step.get("uses"), str):
        return False
    action = step["uses"].split("@", 1)[0].strip().split("/")
    if len(action) < 2 or action[1].lower() != "specmill":
        return False
    given = step.get("with")
    given = given if isinstance(given, dict) else {}
    model = any(str(given.get(key) or "").strip() for key in ("api-key", "base-url"))
    return model and str(given.get("mode") or "run").strip() in ("run", "generate")
