"""A run's token and dollar budget, shared by every thread that calls a model.

A call is refused *before* it is made when it would overrun the budget, so a run stops
cleanly between calls instead of discovering the overrun on the next invoice. The
estimate is the tokens used so far, plus the tokens reserved by calls still in flight
(so that concurrent calls cannot all slip under the limit together), plus the request's
prompt at about four characters a token. Completions are unknown in advance, so a run
can end past its budget by at most the completions of the calls in flight.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping

from specmill.core.config import BudgetConfig, Price
from specmill.llm.errors import BudgetExceeded

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4


def estimate_tokens(chars: int) -> int:
    """Rough token count for text of this length; good enough for a budget's guard."""
    return math.ceil(chars / CHARS_PER_TOKEN)


class Budget:
    """Thread-safe counter of tokens and cost, with limits from ``[specmill.budget]``."""

    def __init__(
        self, config: BudgetConfig | None = None, prices: Mapping[str, Price] | None = None
    ) -> None:
        self.config = config or BudgetConfig()
        self.prices = dict(prices or {})
        self._lock = threading.Lock()
        self._tokens = 0
        self._cost = 0.0
        self._reserved_tokens = 0
        self._reserved_cost = 0.0
        self._unpriced: set[str] = set()

    @property
    def tokens(self) -> int:
        with self._lock:
            return self._tokens

    @property
    def cost_usd(self) -> float:
        with self._lock:
            return self._cost

    @property
    def unpriced(self) -> frozenset[str]:
        """Models used without a price in ``models.prices``: their cost counted as 0."""
        with self._lock:
            return frozenset(self._unpriced)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars for this usage; 0 for a model missing from the price table."""
        price = self.prices.get(model)
        if price is None:
            return 0.0
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000

    def reserve(self, *, model: str, prompt_chars: int, what: str) -> Reservation:
        """Reserve room for one call, or raise ``BudgetExceeded`` without calling."""
        tokens = estimate_tokens(prompt_chars)
        cost = self.cost(model, tokens, 0)
        limits = self.config
        with self._lock:
            if model not in self.prices and model not in self._unpriced:
                self._unpriced.add(model)
                if limits.max_usd is not None:
                    log.warning("no price for model %s in models.prices: counted as $0", model)
            projected_tokens = self._tokens + self._reserved_tokens + tokens
            projected_cost = self._cost + self._reserved_cost + cost
            if limits.max_tokens is not None and projected_tokens > limits.max_tokens:
                raise BudgetExceeded(
                    f"budget exhausted: {what} (~{tokens:,} prompt tokens) would bring the run"
                    f" to {projected_tokens:,} tokens, over budget.max_tokens ="
                    f" {limits.max_tokens:,} ({self._tokens:,} used so far); the call was"
                    " not made. Raise budget.max_tokens or regenerate fewer modules."
                )
            if limits.max_usd is not None and projected_cost > limits.max_usd:
                raise BudgetExceeded(
                    f"budget exhausted: {what} would bring the run to ${projected_cost:.4f},"
                    f" over budget.max_usd = ${limits.max_usd:.2f} (${self._cost:.4f} spent so"
                    " far); the call was not made. Raise budget.max_usd or regenerate fewer"
                    " modules."
                )
            self._reserved_tokens += tokens
            self._reserved_cost += cost
        return Reservation(self, model, tokens, cost)

    def _settle(self, reservation: Reservation, prompt: int, completion: int) -> float:
        cost = self.cost(reservation.model, prompt, completion)
        with self._lock:
            self._release(reservation)
            self._tokens += prompt + completion
            self._cost += cost
        return cost

    def _release(self, reservation: Reservation) -> None:
        self._reserved_tokens -= reservation.tokens
        self._reserved_cost -= reservation.cost


class Reservation:
    """Room held for one call in flight; settle it with the real usage, or cancel it."""

    def __init__(self, budget: Budget, model: str, tokens: int, cost: float) -> None:
        self.budget = budget
        self.model = model
        self.tokens = tokens
        self.cost = cost
        self._open = True

    def settle(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Count the call's real usage; returns its cost in US dollars."""
        if not self._open:
            raise RuntimeError("reservation already settled or cancelled")
        self._open = False
        return self.budget._settle(self, prompt_tokens, completion_tokens)

    def cancel(self) -> None:
        """Give the room back: the call failed before using any tokens (or was never sent)."""
        if self._open:
            self._open = False
            with self.budget._lock:
                self.budget._release(self)
