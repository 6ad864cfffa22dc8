"""Deciding an attempt: verifier votes, quorum, disagreement, tiers. Pure.

Which candidate is best is ``specmill.engine.ranking``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from specmill.core.config import Config
from specmill.core.records import Complexity, Finding, Tier, Verdict, VerifierReport
from specmill.core.spec import Spec
from specmill.errors import ConfigError

TIERS: tuple[Tier, ...] = ("fast", "standard", "strong")
BY_COMPLEXITY: dict[Complexity, Tier] = {"low": "fast", "medium": "standard", "high": "strong"}


def first_tier(spec_tier: str, complexity: Complexity | None) -> Tier:
    """The spec's tier, or for ``auto`` the one the plan's complexity calls for."""
    for tier in TIERS:
        if spec_tier == tier:
            return tier
    return BY_COMPLEXITY[complexity or "medium"]


def escalate(tier: Tier) -> Tier:
    """One tier up after a failed attempt (the strongest stays)."""
    return TIERS[min(TIERS.index(tier) + 1, len(TIERS) - 1)]


def required_votes(verifiers: int, quorum: int | None) -> int:
    return quorum if quorum is not None else verifiers // 2 + 1


def check_quorum(config: Config) -> None:
    """A quorum larger than the number of verifiers could never pass: say so up front."""
    quorum, count = config.models.quorum, len(config.models.verifiers)
    if quorum is not None and quorum > count:
        raise ConfigError(
            f"models.quorum = {quorum}, but only {count} verifier(s) are configured",
            path="specmill.toml",
            hint="lower models.quorum or add verifiers to models.verifiers",
        )


def normalize(finding: Finding, spec: Spec, line_counts: dict[str, int]) -> Finding:
    """Fill the spec line from the requirement id; drop a line the file does not have."""
    update: dict[str, object] = {}
    requirement = spec.requirement(finding.requirement) if finding.requirement else None
    if requirement is not None and finding.spec_line is None:
        update["spec_line"] = requirement.line
    if finding.line is not None:
        count = line_counts.get(finding.file or "")
        if count is None or not 1 <= finding.line <= count:
            update["line"] = None
    return finding.model_copy(update=update) if update else finding


def verdict_of(verifier: str, report: VerifierReport) -> Verdict:
    """A report as a vote: a "pass" that lists blocking findings counts as a fail."""
    blocking = any(f.blocking for f in report.findings)
    vote: Literal["pass", "fail"] = "fail" if report.verdict == "fail" or blocking else "pass"
    return Verdict(
        verifier=verifier, verdict=vote, summary=report.summary, findings=report.findings
    )


@dataclass(frozen=True)
class Decision:
    passed: bool
    findings: list[Finding] = field(default_factory=list)  # every verifier's, deduplicated
    blocking: list[Finding] = field(default_factory=list)  # what goes back to the executor
    disagreement: bool = False
    reason: str = ""


def _unique(findings: Sequence[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.kind, f.requirement, f.file, f.line, f.message.strip().lower())
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def decide(verdicts: Sequence[Verdict], quorum: int | None) -> Decision:
    """Pass when at least ``quorum`` verifiers (default: a majority) vote pass."""
    needed = required_votes(len(verdicts), quorum)
    votes = [v.verdict for v in verdicts]
    passes = votes.count("pass")
    findings = _unique([f for v in verdicts for f in v.findings])
    disagreement = len(set(votes)) > 1
    if not verdicts:
        return Decision(True, reason="no verifiers configured: checks alone decided")
    if passes >= needed:
        return Decision(True, findings, [], disagreement, f"{passes}/{len(votes)} verifiers passed")
    blocking = _unique(
        [f for v in verdicts if v.verdict == "fail" for f in v.findings if f.blocking]
    )
    errors = votes.count("error")
    reason = f"{passes}/{len(votes)} verifiers passed, {needed} needed"
    if errors:
        reason += f" ({errors} could not give a valid report)"
    return Decision(False, findings, blocking, disagreement, reason)
