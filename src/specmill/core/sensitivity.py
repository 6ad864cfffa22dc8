"""Can a module's checks fail? The pure half of the sensitivity probe.

A check that passes whatever the module's outputs hold is no evidence: it imports an
editable install of your checkout instead of the code under test, tests another
folder, or tests nothing of the module. The probe runs the checks once on a tree where
every output that is not a test file holds ``SABOTAGE``, a line that no common
language parses (Python, JavaScript, TypeScript, Go, Rust, C, shell, JSON all refuse
it): a check that still passes is *insensitive*. Its pass does not count unless the
config's ``insensitive_checks = "warn"`` accepts it; either way every report names it.

``probe_key`` says whether a cached probe still holds: the check commands, the
outputs' paths and the environment the checks get.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from specmill.core.paths import is_test_file
from specmill.core.records import CheckResult

VERSION = 1  # a new probe (another sabotage) makes every cached probe stale
SABOTAGE = "<<<<<<< specmill sensitivity probe: this output is sabotaged on purpose )]}\n"


def sabotaged(outputs: Sequence[str]) -> dict[str, str]:
    """The outputs to sabotage: all but test files (the checks' own side)."""
    return {path: SABOTAGE for path in outputs if not is_test_file(path)}


def probe_key(
    commands: Sequence[str], outputs: Sequence[str], environment: Mapping[str, object]
) -> str:
    canonical = json.dumps(
        {
            "version": VERSION,
            "commands": list(commands),
            "outputs": sorted(outputs),
            "environment": environment,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Sensitivity:
    """What the probe found for one module's checks."""

    insensitive: dict[str, str] = field(default_factory=dict)  # command -> likely cause
    results: list[CheckResult] = field(default_factory=list)  # on the sabotaged outputs

    def blocks(self, accept: bool) -> bool:
        """The module cannot pass: an insensitive check, and the config does not accept it."""
        return bool(self.insensitive) and not accept

    def reason(self) -> str:
        """One line: which checks cannot fail, and why."""
        parts = [
            f"`{command}` passes with the module's outputs sabotaged ({cause})"
            for command, cause in self.insensitive.items()
        ]
        return "its checks cannot fail: " + "; ".join(parts)

    def evidence(self, accept: bool) -> list[CheckResult]:
        """The insensitive checks as results (what a module that stops here records)."""
        ran = {r.command: r for r in self.results}
        found = []
        for command in self.insensitive:
            result = ran.get(command) or CheckResult(
                command=command,
                exit_code=0,
                duration_s=0.0,
                output="[specmill: passed with the module's outputs sabotaged (cached probe)]",
            )
            found.append(result)
        return mark(found, self, accept)


def mark(
    results: Sequence[CheckResult], sensitivity: Sensitivity, accept: bool
) -> list[CheckResult]:
    """``results`` with the insensitive checks named (and counted only if ``accept``)."""
    marked = []
    for result in results:
        cause = sensitivity.insensitive.get(result.command)
        if cause is not None:
            update = {
                "insensitive": True,
                "insensitive_accepted": accept,
                "insensitive_cause": cause,
            }
            result = result.model_copy(update=update)
        marked.append(result)
    return marked
