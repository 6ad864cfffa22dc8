"""Which candidate of an attempt is best, and why. Pure.

The order (docs/candidates.md, "How the winner is chosen"):

1. passed (checks and the verifiers' quorum) beats failed;
2. among the passed: fewer blocking findings, then fewer findings of any severity,
   then fewer failing verifiers, then the smaller change against the previous
   generated version;
3. among the failed: checks passed beats checks failed beats files refused beats no
   answer (invalid answer, model error, budget, stopped), then the same counts;
4. last, the lower candidate index.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from specmill.core.records import CandidateStage

STAGES: tuple[CandidateStage, ...] = (
    "passed",
    "checks-passed",
    "checks-failed",
    "refused",
    "no-answer",
)
STAGE_WORDS: dict[CandidateStage, str] = {
    "passed": "passed",
    "checks-passed": "passed its checks, not the verifiers",
    "checks-failed": "failed its checks",
    "refused": "had its files refused",
    "no-answer": "gave no usable answer",
}


@dataclass(frozen=True)
class Standing:
    """One candidate, as far as ranking needs it."""

    candidate: int
    stage: CandidateStage
    blocking: int = 0
    findings: int = 0
    failing_verifiers: int = 0
    changed_lines: int = 0

    def key(self) -> tuple[int, int, int, int, int, int]:
        return (
            STAGES.index(self.stage),
            self.blocking,
            self.findings,
            self.failing_verifiers,
            self.changed_lines,
            self.candidate,
        )


def rank(standings: Sequence[Standing]) -> list[Standing]:
    """Best first."""
    return sorted(standings, key=Standing.key)


_COUNTS = (
    ("blocking", "blocking finding(s)"),
    ("findings", "finding(s)"),
    ("failing_verifiers", "failing verifier(s)"),
    ("changed_lines", "changed line(s) against the previous version"),
)


def explain(ranked: Sequence[Standing]) -> str:
    """Why the first of ``ranked`` is first, in one sentence."""
    if not ranked:
        return ""
    first = ranked[0]
    if len(ranked) == 1:
        return f"candidate {first.candidate} was the only one"
    runner = ranked[1]
    won = f"candidate {first.candidate} ranked first"
    if first.stage != runner.stage:
        if first.stage == "passed" and all(s.stage != "passed" for s in ranked[1:]):
            return f"{won}: the only one that passed"
        return (
            f"{won}: it {STAGE_WORDS[first.stage]}, the next best (candidate"
            f" {runner.candidate}) {STAGE_WORDS[runner.stage]}"
        )
    for field, words in _COUNTS:
        mine, theirs = getattr(first, field), getattr(runner, field)
        if mine != theirs:
            return (
                f"{won}: both {STAGE_WORDS[first.stage]}; it had fewer {words}"
                f" ({mine} against {theirs} for candidate {runner.candidate})"
            )
    return f"{won}: tied with candidate {runner.candidate} on every count; the lower index wins"


def changed_lines(previous: Mapping[str, str], files: Mapping[str, str]) -> int:
    """Lines added or removed, over every file, against the previous generated version."""
    total = 0
    for path in sorted(set(previous) | set(files)):
        old = previous.get(path, "").splitlines()
        new = files.get(path, "").splitlines()
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                total += (i2 - i1) + (j2 - j1)
    return total
