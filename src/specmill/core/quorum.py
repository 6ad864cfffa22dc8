"""The one verdict rule, for ``regen``, ``verify``, the bundle report and the commit status.

Pure. A module passes when its checks pass and its quorum passes: at least the
quorum (default: a majority) of its verifiers vote pass. Dissent is shown, never
hidden, and never turns a passed quorum into a failure: the findings of verifiers
outside the quorum are comments, not blockers. When the quorum fails, the blocking
findings of the verifiers that voted fail are what blocks (and what goes back to the
executor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from specmill.core.records import Finding, ModuleResult, Verdict


def required_votes(verifiers: int, quorum: int | None) -> int:
    return quorum if quorum is not None else verifiers // 2 + 1


def unique_findings(findings: Sequence[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.kind, f.requirement, f.file, f.line, f.message.strip().lower())
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


@dataclass(frozen=True)
class QuorumVerdict:
    passed: bool
    needed: int
    passes: int
    findings: list[Finding] = field(default_factory=list)  # every verifier's, deduplicated
    blocking: list[Finding] = field(default_factory=list)  # only when the quorum failed
    dissent: list[str] = field(default_factory=list)  # verifiers that voted the other way
    reason: str = ""

    @property
    def disagreement(self) -> bool:
        return bool(self.dissent)

    @property
    def comments(self) -> list[Finding]:
        """Findings that do not block: all of them when the quorum passed."""
        return [f for f in self.findings if f not in self.blocking]


def apply_quorum(verdicts: Sequence[Verdict], quorum: int | None) -> QuorumVerdict:
    """Pass when at least ``quorum`` verifiers (default: a majority) vote pass."""
    findings = unique_findings([f for v in verdicts for f in v.findings])
    if not verdicts:
        return QuorumVerdict(True, 0, 0, reason="no verifiers configured: checks alone decided")
    needed = required_votes(len(verdicts), quorum)
    votes = [v.verdict for v in verdicts]
    passes = votes.count("pass")
    if passes >= needed:
        dissent = [v.verifier for v in verdicts if v.verdict != "pass"]
        reason = f"{passes}/{len(votes)} verifiers passed"
        if dissent:
            reason += f"; dissent: {', '.join(dissent)}"
        return QuorumVerdict(True, needed, passes, findings, [], dissent, reason)
    blocking = unique_findings(
        [f for v in verdicts if v.verdict == "fail" for f in v.findings if f.blocking]
    )
    dissent = [v.verifier for v in verdicts if v.verdict == "pass"]
    errors = votes.count("error")
    reason = f"{passes}/{len(votes)} verifiers passed, {needed} needed"
    if errors:
        reason += f" ({errors} could not give a valid report)"
    return QuorumVerdict(False, needed, passes, findings, blocking, dissent, reason)


def module_passes(checks_passed: bool, verdict: QuorumVerdict) -> bool:
    """The rule itself: checks pass and the quorum passes; nothing else decides."""
    return checks_passed and verdict.passed


def judge_recorded(module: ModuleResult) -> QuorumVerdict:
    """The quorum of a recorded module, recomputed from its verdicts (reports, status)."""
    return apply_quorum(module.verdicts, module.votes_needed)


def recorded_passes(module: ModuleResult) -> bool:
    """A recorded module passes when the engine passed it and the rule agrees."""
    if module.status == "unchanged":
        return True
    if module.votes_needed is None:  # a record from before the quorum was recorded
        return module.status == "passed"
    checks_passed = all(c.passed for c in module.checks)
    return module.status == "passed" and module_passes(checks_passed, judge_recorded(module))
