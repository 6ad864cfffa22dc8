"""Default prices of common hosted models, so that ``budget.max_usd`` works out of the box.

US dollars per million tokens (input, output), standard tier, no caching or batch
discount. Checked 2026-03 against OpenAI's pricing page (platform.openai.com/docs/pricing);
prices change: ``models.prices`` in the config overrides any entry and adds others.
Pure data, and the one rule of what a run prices its calls with (``run_prices``): the
backend that calls models, its budget, doctor and the configuration check all use it.
"""

from __future__ import annotations

from specmill.core.config import ModelsConfig, Price

PRICES_CHECKED = "2026-03"

DEFAULT_PRICES: dict[str, Price] = {
    name: Price(input=inp, output=out)
    for name, (inp, out) in {
        "gpt-5": (1.25, 10.0),
        "gpt-5.1": (1.25, 10.0),
        "gpt-5.4": (2.5, 15.0),
        "gpt-5-mini": (0.25, 2.0),
        "gpt-5-nano": (0.05, 0.4),
        "gpt-4.1": (2.0, 8.0),
        "gpt-4.1-mini": (0.4, 1.6),
        "gpt-4.1-nano": (0.1, 0.4),
        "gpt-4o": (2.5, 10.0),
        "gpt-4o-mini": (0.15, 0.6),
        "o3": (2.0, 8.0),
        "o3-mini": (1.1, 4.4),
        "o4-mini": (1.1, 4.4),
    }.items()
}


def run_prices(models: ModelsConfig) -> dict[str, Price]:
    """The prices a run counts its calls at: the shipped table under ``models.prices``.

    The scripted backend calls no model, so the shipped table does not apply to it: its
    runs cost nothing, unless ``models.prices`` prices its model names on purpose (to
    rehearse a budget, or a report of costs).
    """
    if models.backend == "scripted":
        return dict(models.prices)
    return {**DEFAULT_PRICES, **models.prices}
