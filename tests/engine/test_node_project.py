"""Issue 18, items 2 and 6: a JavaScript project whose ``node_modules/`` is git-ignored.

``npx --no-install tsc`` and any test that ``require``s a dependency failed in
specmill's tree, which had no ``node_modules``: ``check_ignored_paths`` links it in.
And every run copied the generated files, tests included, into the work tree
(``.specmill/runs/<id>/files/``), where ``node --test`` collected them and failed; run
records now live in the git directory, the files as one JSON file.

No npm download: the test writes ``node_modules`` itself (the dependency, and a
``typescript`` package whose ``tsc`` compiles the sources with node's ``vm``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import runs_dir
from tests.engine.conftest import PASS, Factory, plan

pytestmark = pytest.mark.skipif(
    not (shutil.which("node") and shutil.which("npx")), reason="needs Node.js (node, npx)"
)
ESCAPE_JS = "src/escape.js"
ESCAPE_TEST = "test/escape.test.js"
TSC = """\
#!/usr/bin/env node
// A stand-in for tsc --noEmit: every source must compile.
const fs = require("fs"), path = require("path"), vm = require("vm");
let failed = 0;
for (const dir of ["src", "test"]) {
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".js"))) {
    try { new vm.Script(fs.readFileSync(path.join(dir, name), "utf8"), { filename: name }); }
    catch (error) { console.error(`${dir}/${name}: ${error.message}`); failed = 1; }
  }
}
process.exit(failed);
"""
FILES = {
    "package.json": '{"name": "shop", "private": true, "scripts": {"test": "node --test"}}\n',
    ".gitignore": "node_modules/\n",
    "src/entities.js": 'module.exports = { "<": "&lt;", ">": "&gt;" };\n',  # hand-written
    "node_modules/escape-html/package.json": '{"name": "escape-html", "main": "index.js"}\n',
    "node_modules/escape-html/index.js": "module.exports = (s, map) =>"
    " s.replace(/[<>]/g, (c) => map[c]);\n",
    "node_modules/typescript/package.json": '{"name": "typescript", "bin": {"tsc": "bin/tsc"}}\n',
    "node_modules/typescript/bin/tsc": TSC,
    "specs/escape.md": f"---\noutputs: [{ESCAPE_JS}, {ESCAPE_TEST}]\n---\n# Escape\n"
    "- **E1** `escape(s)` replaces `<` and `>` with their entities.\n",
}
CODE = {
    ESCAPE_JS: 'const escapeHtml = require("escape-html");\n'
    'const entities = require("./entities");\n'
    "module.exports = (s) => escapeHtml(s, entities);\n",
    ESCAPE_TEST: 'const test = require("node:test");\nconst assert = require("node:assert");\n'
    'const escape = require("../src/escape");\n\n'
    'test("escapes", () => assert.strictEqual(escape("<a>"), "&lt;a&gt;"));\n',
}
CONFIG = """\
[specmill]
checks = ["npx --no-install tsc --noEmit", "node --test"]
max_attempts = 1
{extra}
[specmill.models]
backend = "scripted"
script = "{script}"
verifiers = [{{model = "rev-a"}}, {{model = "rev-b"}}]
"""


def shop(tmp_path: Path, extra: str) -> Factory:
    root = tmp_path / "shop"
    root.mkdir()
    f = Factory(root)
    f.script = tmp_path / "script.json"
    for relative, text in FILES.items():
        f.write(relative, text)
    tsc = root / "node_modules/typescript/bin/tsc"
    tsc.chmod(0o755)
    (root / "node_modules/.bin").mkdir()
    (root / "node_modules/.bin/tsc").symlink_to("../typescript/bin/tsc")
    f.write("specmill.toml", CONFIG.format(extra=extra, script=f.script.as_posix()))
    f.git("init", "--quiet")
    f.commit("a shop, its dependencies installed (and ignored)")
    answer: dict[str, Any] = {
        "files": [{"path": p, "content": c} for p, c in CODE.items()],
        "notes": "",
    }
    f.answers(planner=[plan(ESCAPE_JS, ESCAPE_TEST)], executor=[answer], verifier=[PASS, PASS])
    return f


def test_checks_find_node_modules_and_node_test_passes_in_the_tree_after_regen(
    tmp_path: Path,
) -> None:
    f = shop(tmp_path, 'check_ignored_paths = ["node_modules"]\n')

    code, out, err = f.main("regen")

    assert code == 0, err
    assert "committed" in out
    (record,) = runs_dir(f.root).glob("*/record.json")
    checks = json.loads(record.read_text())["modules"][0]["checks"]
    assert [c["exit_code"] for c in checks] == [0, 0] and not any(c["insensitive"] for c in checks)
    assert json.loads((record.parent / "files.json").read_text()).keys() == CODE.keys()
    assert not (f.root / ".specmill").exists()  # nothing of specmill's in the work tree
    mine = subprocess.run(["node", "--test"], cwd=f.root, capture_output=True, text=True)
    assert mine.returncode == 0, mine.stdout + mine.stderr
    assert "# tests 1" in mine.stdout  # its own test only, no copy found anywhere


def test_without_the_setting_the_tree_has_no_node_modules_and_the_checks_say_so(
    tmp_path: Path,
) -> None:
    f = shop(tmp_path, "")
    head = f.git("rev-parse", "HEAD")

    code, _, err = f.main("regen")

    assert code == 1 and "checks failed" in err
    assert f.git("rev-parse", "HEAD") == head
    (record,) = runs_dir(f.root).glob("*/record.json")
    outputs = "\n".join(c["output"] for c in json.loads(record.read_text())["modules"][0]["checks"])
    assert "Cannot find module 'escape-html'" in outputs
