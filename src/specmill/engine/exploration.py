"""How the candidates of one attempt differ on purpose. Pure.

N candidates with one prompt and one model would write one answer N times. Each
candidate therefore gets its index, an approach hint (from the plan's ``approaches``,
else from ``DEFAULT_APPROACHES``), a seed, a temperature when
``models.candidate_temperatures`` lists some, and its own executor model when
``models.candidate_models`` lists some; candidate i takes item i of each list, cycling.
A lone candidate gets none of this: its prompt and request stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from specmill.core.config import ModelsConfig
from specmill.core.records import Plan, Tier

# Used when the plan proposes no approaches: each pulls the code a different way.
DEFAULT_APPROACHES = (
    "the most direct implementation of the plan: the least code that reads clearly",
    "data-driven: tables, mappings or small data classes in place of branching, where that fits",
    "defensive: validate every input up front with explicit errors, then compute",
    "small pure helper functions, composed by the public API",
)


@dataclass(frozen=True)
class Exploration:
    """What makes one candidate's executor call its own."""

    index: int  # 1-based
    count: int
    model: str
    approach: str | None = None
    source: Literal["plan", "default"] | None = None  # where the approach came from
    seed: int | None = None
    temperature: float | None = None

    @property
    def varied(self) -> bool:
        return self.count > 1


def _cycle(items: list[str] | list[float], index: int) -> str | float | None:
    return items[(index - 1) % len(items)] if items else None


def explorations(count: int, plan: Plan, models: ModelsConfig, tier: Tier) -> list[Exploration]:
    """One ``Exploration`` per candidate, in candidate order."""
    tier_model: str = getattr(models, tier)
    if count == 1:
        return [Exploration(1, 1, tier_model)]
    proposed = [a.strip() for a in plan.approaches if a.strip()]
    approaches = proposed or list(DEFAULT_APPROACHES)
    source: Literal["plan", "default"] = "plan" if proposed else "default"
    out = []
    for index in range(1, count + 1):
        model = _cycle(models.candidate_models, index)
        temperature = _cycle(models.candidate_temperatures, index)
        out.append(
            Exploration(
                index=index,
                count=count,
                model=str(model) if model is not None else tier_model,
                approach=approaches[(index - 1) % len(approaches)],
                source=source,
                seed=index,
                temperature=float(temperature) if temperature is not None else None,
            )
        )
    return out
