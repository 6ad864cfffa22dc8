"""Where passing candidates disagree, the spec did not decide: ``spec-gap`` findings. Pure.

Two cases count, between any two candidates that both passed:

- their public APIs differ (a public name one defines and the other does not, or the
  same name with another signature), read from Python outputs with ``ast``;
- a verifier objects (a finding above ``info``) to one on a requirement, and no
  verifier objects to the other on it.

Each becomes one ``spec-gap`` finding (severity ``minor``) on the requirement's spec
line, quoting both choices, so that the author decides in the spec.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from specmill.core.records import Finding, LineRange, Verdict

QUOTE_CHARS = 160


@dataclass(frozen=True)
class Passed:
    """A candidate that passed, as divergence needs it."""

    index: int
    approach: str | None
    files: Mapping[str, str]  # stamped, as written
    lines: Mapping[str, list[LineRange]] = field(default_factory=dict)
    verdicts: Sequence[Verdict] = ()

    @property
    def label(self) -> str:
        return f"candidate {self.index}" + (f" ({self.approach})" if self.approach else "")


@dataclass(frozen=True)
class Requirement:
    id: str
    line: int
    text: str


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, owner: str = "") -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{owner}{node.name}({ast.unparse(node.args)}){returns}"


def public_api(files: Mapping[str, str]) -> dict[str, tuple[str, str, int]]:
    """Public top-level names of the Python files: name -> (signature, path, line)."""
    api: dict[str, tuple[str, str, int]] = {}
    for path, text in sorted(files.items()):
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not node.name.startswith("_"):
                    api[node.name] = (_signature(node), path, node.lineno)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                api[node.name] = (f"class {node.name}", path, node.lineno)
                for item in node.body:
                    if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        continue
                    if not item.name.startswith("_") or item.name == "__init__":
                        name = f"{node.name}.{item.name}"
                        api[name] = (_signature(item, f"{node.name}."), path, item.lineno)
    return api


def _requirement_of(
    name: str, where: tuple[str, int], candidate: Passed, requirements: Sequence[Requirement]
) -> Requirement | None:
    """The requirement that names ``name``, else the one the executor mapped its line to."""
    short = name.rsplit(".", 1)[-1]
    for requirement in requirements:
        if re.search(rf"\b{re.escape(short)}\b", requirement.text):
            return requirement
    path, line = where
    by_id = {r.id: r for r in requirements}
    for span in candidate.lines.get(path, []):
        if span.start <= line <= span.end:
            for rid in span.requirements:
                if rid in by_id:
                    return by_id[rid]
    return None


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"


def _api_gaps(a: Passed, b: Passed, requirements: Sequence[Requirement]) -> list[Finding]:
    mine, theirs = public_api(a.files), public_api(b.files)
    gaps: dict[str | None, Finding] = {}
    for name in sorted(set(mine) | set(theirs)):
        first = mine.get(name)
        second = theirs.get(name)
        if first and second and first[0] == second[0]:
            continue
        holder = a if first else b
        located = first or second
        assert located is not None
        requirement = _requirement_of(name, (located[1], located[2]), holder, requirements)
        key = requirement.id if requirement else None
        if key in gaps:
            continue
        said_a = f"`{first[0]}`" if first else f"no `{name}`"
        said_b = f"`{second[0]}`" if second else f"no `{name}`"
        gaps[key] = Finding(
            kind="spec-gap",
            severity="minor",
            message=(
                f"Candidates that both passed chose different public APIs: {a.label} has"
                f" {said_a}; {b.label} has {said_b}. The spec does not decide; say which"
                " one it means."
            ),
            requirement=key,
            spec_line=requirement.line if requirement else None,
        )
    return list(gaps.values())


def _objections(candidate: Passed) -> dict[str, tuple[str, Finding]]:
    """Requirement id -> (verifier, its first finding above ``info`` on it)."""
    out: dict[str, tuple[str, Finding]] = {}
    for verdict in candidate.verdicts:
        for finding in verdict.findings:
            if finding.requirement and finding.severity != "info":
                out.setdefault(finding.requirement, (verdict.verifier, finding))
    return out


def _verdict_gaps(a: Passed, b: Passed, requirements: Sequence[Requirement]) -> list[Finding]:
    lines = {r.id: r.line for r in requirements}
    gaps = []
    first, second = _objections(a), _objections(b)
    for objected, other, objections, calm in ((a, b, first, second), (b, a, second, first)):
        for rid in sorted(set(objections) - set(calm)):
            verifier, finding = objections[rid]
            gaps.append(
                Finding(
                    kind="spec-gap",
                    severity="minor",
                    message=(
                        f"Verifiers judged {rid} differently on two candidates that both"
                        f" passed: on {objected.label}, {verifier} objected: «"
                        f"{_quote(finding.message)}»; {other.label} drew no objection on"
                        f" {rid}. The spec leaves room for both; say which one it means."
                    ),
                    requirement=rid,
                    spec_line=lines.get(rid),
                )
            )
    return gaps


def divergences(passed: Sequence[Passed], requirements: Sequence[Requirement]) -> list[Finding]:
    """``spec-gap`` findings, at most one per requirement and kind of disagreement."""
    found: list[Finding] = []
    seen: set[tuple[str | None, bool]] = set()
    for i, a in enumerate(passed):
        for b in passed[i + 1 :]:
            for api, gaps in ((True, _api_gaps(a, b, requirements)),
                              (False, _verdict_gaps(a, b, requirements))):  # fmt: skip
                for gap in gaps:
                    if (gap.requirement, api) not in seen:
                        seen.add((gap.requirement, api))
                        found.append(gap)
    return found
