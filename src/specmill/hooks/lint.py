"""specmill-lint: specs and configuration are valid and consistent (as `specmill lint`).

pre-commit runs it when a Markdown file or a config file changes; it lints the whole
project, because a change to one spec can break another (a deleted dependency, a
conflict over an output), and prints one ``path:line: kind: message`` line per problem.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from specmill.core.lint import lint_problems
from specmill.core.problems import HINTS
from specmill.core.project import find_root, load_project
from specmill.errors import SpecmillError
from specmill.workflow_commands import guarded

HOOK = "specmill-lint"


@guarded
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=HOOK, description="Fail when a spec or the specmill config is invalid."
    )
    parser.add_argument("filenames", nargs="*", help="ignored: the whole project is linted")
    parser.parse_args(argv)
    try:
        problems = lint_problems(load_project(find_root(Path.cwd())))
    except SpecmillError as exc:
        print(f"{HOOK}: error: {exc}")
        if exc.hint:
            print(f"  fix: {exc.hint}")
        return 1
    for problem in problems:
        print(problem.format())
    for kind, hint in dict.fromkeys((p.kind, p.hint or HINTS[p.kind]) for p in problems):
        print(f"  fix: {kind}: {hint}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
