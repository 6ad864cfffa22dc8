"""A run's token and dollar budget, shared by every thread that calls a model.

A call is refused *before* it is made when it would overrun the budget, so a run stops
cleanly between calls instead of discovering the overrun on the next invoice. Each call
reserves its prompt (estimated on the high side, at three characters a token) plus the
output tokens it may use; the output limit is sent with the request, and lowered to
what the budget has left, so the server cannot answer past it. Calls in flight hold
their reservation until they settle to the usage the server reports, so concurrent
calls cannot all slip under the limit together.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Mapping

from specmill.core.config import BudgetConfig, Price
from specmill.llm.errors import BudgetExceeded
from specmill.llm.tokens import CHARS_PER_TOKEN  # a typical count

log = logging.getLogger(__name__)

RESERVE_CHARS_PER_TOKEN = 3  # on the high side, for what a call may cost
RESERVE_OVERHEAD_TOKENS = 8  # the chat format's tokens around the messages
MIN_USEFUL_OUTPUT = 256  # an answer cut shorter than this is not worth paying for


def usd(amount: float) -> str:
    """Dollars as a limit is written: cents, and below a cent the digits that tell it
    (``$0.005``, not ``$0.00``)."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    digits = 1 - math.floor(math.log10(abs(amount)))
    return "$" + f"{amount:.{digits}f}".rstrip("0")


def estimate_tokens(chars: int) -> int:
    """Typical token count for text of this length (usage a server did not report)."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def prompt_reserve(chars: int) -> int:
    """Tokens to hold for a prompt of this length: more than it will likely count."""
    return math.ceil(chars / RESERVE_CHARS_PER_TOKEN) + RESERVE_OVERHEAD_TOKENS


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
        self._module_cost: dict[str, float] = defaultdict(float)  # spent and reserved
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

    def reserve(
        self,
        *,
        model: str,
        prompt_chars: int,
        what: str,
        max_output: int = 0,
        module: str | None = None,
        prompt_tokens: int | None = None,
    ) -> Reservation:
        """Hold room for one call, or raise ``BudgetExceeded`` without calling.

        ``prompt_tokens``: the prompt counted with the model's tokenizer, when it is
        known (``specmill.llm.tokens``); else ``prompt_chars`` is estimated on the high
        side. The reservation's ``max_output`` is ``max_output`` lowered to what the
        budget has room for: send it as the request's output limit.
        """
        prompt = prompt_reserve(prompt_chars) if prompt_tokens is None else prompt_tokens
        with self._lock:
            if model not in self.prices and model not in self._unpriced:
                self._unpriced.add(model)
            output = self._output_room(model, prompt, max_output, what, module)
            cost = self.cost(model, prompt, output)
            self._reserved_tokens += prompt + output
            self._reserved_cost += cost
            if module is not None:
                self._module_cost[module] += cost
        return Reservation(self, model, prompt + output, cost, output, module)

    def _output_room(
        self, model: str, prompt: int, wanted: int, what: str, module: str | None
    ) -> int:
        """The output tokens this call may use under every limit (lock held)."""
        limits, output = self.config, wanted
        useful = min(MIN_USEFUL_OUTPUT, wanted)
        if limits.max_tokens is not None:
            room = limits.max_tokens - self._tokens - self._reserved_tokens - prompt
            if room < useful:
                projected = self._tokens + self._reserved_tokens + prompt + useful
                raise BudgetExceeded(
                    f"budget exhausted: {what} (~{prompt:,} prompt tokens"
                    + (f" and at least {useful:,} for the answer" if useful else "")
                    + f") would bring the run to {projected:,} tokens, over"
                    f" budget.max_tokens = {limits.max_tokens:,} ({self._tokens:,} used so"
                    " far); the call was not made. Raise budget.max_tokens or regenerate"
                    " fewer modules."
                )
            output = min(output, room)
        dollar_limits = [(limits.max_usd, self._cost + self._reserved_cost, "the run", "max_usd")]
        if module is not None:
            spent = self._module_cost[module]
            dollar_limits.append(
                (limits.max_usd_per_module, spent, f"module {module}", "max_usd_per_module")
            )
        price = self.prices.get(model)
        for limit, spent, whose, key in dollar_limits:
            if limit is None:
                continue
            room_usd = limit - spent - self.cost(model, prompt, useful)
            if room_usd < 0:
                raise BudgetExceeded(
                    f"budget exhausted: {what} would bring {whose} to"
                    f" ${limit - room_usd:.4f}, over budget.{key} = {usd(limit)}"
                    f" (${spent:.4f} spent or held so far); the call was not made. Raise"
                    f" budget.{key} or regenerate fewer modules."
                )
            if price is not None and price.output > 0:
                extra = math.floor(room_usd * 1_000_000 / price.output)
                output = min(output, useful + extra)
        return output

    def _settle(self, reservation: Reservation, prompt: int, completion: int) -> float:
        cost = self.cost(reservation.model, prompt, completion)
        with self._lock:
            self._release(reservation)
            self._tokens += prompt + completion
            self._cost += cost
            if reservation.module is not None:
                self._module_cost[reservation.module] += cost
        return cost

    def _release(self, reservation: Reservation) -> None:
        self._reserved_tokens -= reservation.tokens
        self._reserved_cost -= reservation.cost
        if reservation.module is not None:
            self._module_cost[reservation.module] -= reservation.cost


class Reservation:
    """Room held for one call in flight; settle it with the real usage, or cancel it."""

    def __init__(
        self,
        budget: Budget,
        model: str,
        tokens: int,
        cost: float,
        max_output: int = 0,
        module: str | None = None,
    ) -> None:
        self.budget = budget
        self.model = model
        self.tokens = tokens
        self.cost = cost
        self.max_output = max_output  # the output limit to send; 0: none
        self.module = module
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
