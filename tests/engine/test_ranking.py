"""The pure parts of candidates: ranking, exploration, divergence (no repo, no model)."""

from __future__ import annotations

from specmill.core.config import ModelsConfig
from specmill.core.records import Finding, LineRange, Plan, Verdict
from specmill.engine.divergence import Passed, Requirement, divergences, public_api
from specmill.engine.exploration import DEFAULT_APPROACHES, explorations
from specmill.engine.ranking import Standing, changed_lines, explain, rank


def order(*standings: Standing) -> list[int]:
    return [s.candidate for s in rank(standings)]


def test_passed_beats_failed_even_with_more_findings() -> None:
    # The failed candidate's verifiers never ran: it has no findings at all.
    failed = Standing(1, "checks-failed")
    passed = Standing(2, "passed", blocking=1, findings=3, failing_verifiers=1)
    assert order(failed, passed) == [2, 1]
    assert explain(rank([failed, passed])) == "candidate 2 ranked first: the only one that passed"


def test_among_the_passed_the_counts_decide_in_order() -> None:
    assert order(Standing(1, "passed", blocking=1), Standing(2, "passed", findings=5)) == [2, 1]
    assert order(Standing(1, "passed", findings=2), Standing(2, "passed", findings=1)) == [2, 1]
    assert order(
        Standing(1, "passed", failing_verifiers=1, changed_lines=1),
        Standing(2, "passed", changed_lines=90),
    ) == [2, 1]
    smaller = [Standing(1, "passed", changed_lines=40), Standing(2, "passed", changed_lines=12)]
    assert order(*smaller) == [2, 1]
    assert explain(rank(smaller)) == (
        "candidate 2 ranked first: both passed; it had fewer changed line(s) against the"
        " previous version (12 against 40 for candidate 1)"
    )
    tie = rank([Standing(2, "passed"), Standing(1, "passed")])
    assert [s.candidate for s in tie] == [1, 2]
    assert "tied with candidate 2 on every count; the lower index wins" in explain(tie)


def test_among_the_failed_checks_passed_beats_checks_failed_beats_no_answer() -> None:
    ranked = order(
        Standing(1, "no-answer"),
        Standing(2, "checks-failed"),
        Standing(3, "refused"),
        Standing(4, "checks-passed", blocking=4, findings=6, failing_verifiers=2),
    )
    assert ranked == [4, 2, 3, 1]
    assert explain(rank([Standing(1, "no-answer"), Standing(2, "checks-failed")])) == (
        "candidate 2 ranked first: it failed its checks, the next best (candidate 1)"
        " gave no usable answer"
    )


def test_changed_lines_count_additions_and_removals() -> None:
    previous = {"a.py": "x = 1\ny = 2\n"}
    assert changed_lines(previous, {"a.py": "x = 1\ny = 2\n"}) == 0
    assert changed_lines(previous, {"a.py": "x = 1\ny = 3\n"}) == 2
    assert changed_lines({}, {"a.py": "x = 1\n", "b.py": "z = 0\n"}) == 2


PLAN = Plan(files=[], public_api=[], steps=[], complexity="low", ambiguities=[])


def test_a_lone_candidate_is_not_varied() -> None:
    (only,) = explorations(1, PLAN, ModelsConfig(candidate_models=["x"]), "fast")
    assert (only.model, only.approach, only.seed) == ("gpt-4.1-mini", None, None)


def test_candidates_cycle_models_temperatures_and_approaches() -> None:
    models = ModelsConfig(candidate_models=["m1", "m2"], candidate_temperatures=[0.2])
    plan = PLAN.model_copy(update={"approaches": ["iterative", " ", "table-driven"]})
    ways = explorations(3, plan, models, "standard")
    assert [w.model for w in ways] == ["m1", "m2", "m1"]
    assert [w.approach for w in ways] == ["iterative", "table-driven", "iterative"]
    assert {w.source for w in ways} == {"plan"}
    assert [w.seed for w in ways] == [1, 2, 3] and {w.temperature for w in ways} == {0.2}
    fallback = explorations(2, PLAN, ModelsConfig(), "strong")
    assert [w.approach for w in fallback] == list(DEFAULT_APPROACHES[:2])
    assert [w.model for w in fallback] == ["o3", "o3"] and fallback[0].temperature is None


REQUIREMENTS = [
    Requirement("R1", 7, "`total(items)` returns the sum of the items."),
    Requirement("R2", 8, "`total` rejects negative items with `ValueError`."),
]


def test_public_api_reads_python_signatures() -> None:
    api = public_api(
        {
            "a.py": "class Box:\n    def put(self, x: int) -> None: ...\n"
            "    def _hide(self): ...\n\ndef total(items, *, strict=False): ...\n"
            "def _private(): ...\n",
            "b.txt": "def nope(): ...\n",
        }
    )
    assert {name: sig for name, (sig, _, _) in api.items()} == {
        "Box": "class Box",
        "Box.put": "Box.put(self, x: int) -> None",
        "total": "total(items, *, strict=False)",
    }


def test_divergent_public_apis_become_a_spec_gap_on_the_requirement() -> None:
    a = Passed(1, "iterative", {"inv.py": "def total(items):\n    return sum(items)\n"})
    b = Passed(2, "table-driven", {"inv.py": "def total(items, start=0):\n    return 0\n"})
    (gap,) = divergences([a, b], REQUIREMENTS)
    assert (gap.kind, gap.severity, gap.requirement, gap.spec_line) == (
        "spec-gap",
        "minor",
        "R1",
        7,
    )
    assert "candidate 1 (iterative) has `total(items)`" in gap.message
    assert "candidate 2 (table-driven) has `total(items, start=0)`" in gap.message
    assert divergences([a, a], REQUIREMENTS) == []


def test_a_name_only_one_defines_is_mapped_by_its_requirement_lines() -> None:
    lines = {"inv.py": [LineRange(start=3, end=4, requirements=["R2"])]}
    a = Passed(1, None, {"inv.py": "def total(items): ...\n\ndef check(x):\n    pass\n"}, lines)
    b = Passed(2, None, {"inv.py": "def total(items): ...\n"})
    (gap,) = divergences([a, b], REQUIREMENTS)
    assert gap.requirement == "R2" and "candidate 2 has no `check`" in gap.message


def test_a_verifier_objecting_to_one_passing_candidate_only_is_a_spec_gap() -> None:
    objection = Finding(
        kind="code-defect", severity="minor", message="-0 is accepted", requirement="R2"
    )
    a = Passed(
        1, None, {}, verdicts=[Verdict(verifier="rev-a", verdict="pass", findings=[objection])]
    )
    b = Passed(2, None, {}, verdicts=[Verdict(verifier="rev-a", verdict="pass")])
    (gap,) = divergences([a, b], REQUIREMENTS)
    assert (gap.kind, gap.requirement, gap.spec_line) == ("spec-gap", "R2", 8)
    assert "on candidate 1, rev-a objected: «-0 is accepted»" in gap.message
    assert "candidate 2 drew no objection on R2" in gap.message
