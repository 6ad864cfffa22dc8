"""A run's token and dollar budget, shared by every thread that calls a model.

A call is refused *before* it is made when it would overrun the budget, so a run stops
cleanly between calls instead of discovering the overrun on the next invoice. The cap
is strict: each call reserves its prompt (counted by the model's tokenizer, else
estimated on the high side at three characters a token) plus the output limit it sends,
and calls in flight hold their reservation until they settle to the usage the server
reports, so that even calls that all write to their limit end within it.

What a call may send, in order (``Budget.reserve``):

1. **Refused** when, even if every call in flight gave its reservation back, its prompt
   plus the answer it is *expected* to need would not fit: waiting cannot help. The
   expected answer is the longest one this run got from the same role and model
   (at least ``MIN_USEFUL_OUTPUT``, at most the call's output limit).
2. **Sent with its whole output limit** when that fits beside the calls in flight, or,
   once the role and model have answered in this run, with less: twice the longest
   answer is enough.
3. **Waits** otherwise, while calls in flight hold what it needs: they give back what
   they did not use when they settle. So concurrent candidates take turns on a tight
   budget instead of the first one starving the others.
4. **Sent with a lowered limit**, what the budget has left, when nothing is in flight.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from specmill.core.config import BudgetConfig, Price
from specmill.llm.errors import BudgetExceeded, CallCancelled
from specmill.llm.tokens import CHARS_PER_TOKEN  # a typical count

log = logging.getLogger(__name__)

RESERVE_CHARS_PER_TOKEN = 3  # on the high side, for what a call may cost
RESERVE_OVERHEAD_TOKENS = 8  # the chat format's tokens around the messages
MIN_USEFUL_OUTPUT = 256  # an answer cut shorter than this is not worth paying for
HEADROOM = 2  # once a role and model have answered: twice their longest answer is enough
WAIT_POLL_S = 0.05  # how often a waiting call looks at its cancel event


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


@dataclass
class _Limit:
    """One limit and what counts against it (lock held): output tokens that fit."""

    key: str  # budget.max_tokens, budget.max_usd…
    whose: str  # "the run", "module billing.invoice"
    limit: float
    spent: float
    held: float  # reserved by calls in flight
    busy: bool  # some call in flight counts against it (held may round to a few 1e-18 $)
    prompt: float  # this call's prompt, in the limit's unit
    per_output: float  # one output token, in the limit's unit (0: output is free)

    def room(self, *, held: bool) -> float:
        """Output tokens that fit, with the calls in flight counted or not."""
        left = self.limit - self.spent - (self.held if held else 0) - self.prompt
        if self.per_output <= 0:
            return math.inf if left >= 0 else -1
        return left / self.per_output


class Budget:
    """Thread-safe counter of tokens and cost, with limits from ``[specmill.budget]``."""

    def __init__(
        self, config: BudgetConfig | None = None, prices: Mapping[str, Price] | None = None
    ) -> None:
        self.config = config or BudgetConfig()
        self.prices = dict(prices or {})
        self._changed = threading.Condition()  # its lock guards every counter below
        self._tokens = 0
        self._cost = 0.0
        self._held_tokens = 0
        self._held_cost = 0.0
        self._in_flight = 0
        self._module_spent: dict[str, float] = defaultdict(float)
        self._module_held: dict[str, float] = defaultdict(float)
        self._module_in_flight: dict[str, int] = defaultdict(int)
        self._longest: dict[tuple[str, str], int] = {}  # (role, model) -> longest answer
        self._unpriced: set[str] = set()

    @property
    def tokens(self) -> int:
        with self._changed:
            return self._tokens

    @property
    def cost_usd(self) -> float:
        with self._changed:
            return self._cost

    @property
    def held_tokens(self) -> int:
        """Tokens reserved by the calls in flight."""
        with self._changed:
            return self._held_tokens

    @property
    def unpriced(self) -> frozenset[str]:
        """Models used without a price in ``models.prices``: their cost counted as 0."""
        with self._changed:
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
        role: str = "",
        cancel: threading.Event | None = None,
    ) -> Reservation:
        """Hold room for one call, or raise ``BudgetExceeded`` without calling.

        ``prompt_tokens``: the prompt counted with the model's tokenizer, when it is
        known (``specmill.llm.tokens``); else ``prompt_chars`` is estimated on the high
        side. The reservation's ``max_output`` is the output limit to send: see the
        module's docstring for when it is lowered and when the call waits (a set
        ``cancel`` ends the wait with ``CallCancelled``).
        """
        prompt = prompt_reserve(prompt_chars) if prompt_tokens is None else prompt_tokens
        with self._changed:
            if model not in self.prices:
                self._unpriced.add(model)
            while (output := self._output_room(model, role, prompt, max_output, what, module)) < 0:
                if cancel is not None and cancel.is_set():
                    raise CallCancelled(f"{what}: cancelled, no longer needed")
                self._changed.wait(WAIT_POLL_S)
            cost = self.cost(model, prompt, output)
            self._held_tokens += prompt + output
            self._held_cost += cost
            self._in_flight += 1
            if module is not None:
                self._module_held[module] += cost
                self._module_in_flight[module] += 1
        return Reservation(self, model, prompt, output, cost, module, role)

    def _limits(self, model: str, prompt: int, module: str | None) -> list[_Limit]:
        limits = self.config
        found = []
        if limits.max_tokens is not None:
            found.append(
                _Limit("max_tokens", "the run", limits.max_tokens, self._tokens,
                       self._held_tokens, self._in_flight > 0, prompt, 1)
            )  # fmt: skip
        price = self.prices.get(model) or Price(input=0, output=0)
        dollars = (prompt * price.input / 1e6, price.output / 1e6)
        if limits.max_usd is not None:
            found.append(
                _Limit("max_usd", "the run", limits.max_usd, self._cost, self._held_cost,
                       self._in_flight > 0, *dollars)
            )  # fmt: skip
        if limits.max_usd_per_module is not None and module is not None:
            found.append(
                _Limit("max_usd_per_module", f"module {module}", limits.max_usd_per_module,
                       self._module_spent[module], self._module_held[module],
                       self._module_in_flight[module] > 0, *dollars)
            )  # fmt: skip
        return found

    def _output_room(
        self, model: str, role: str, prompt: int, wanted: int, what: str, module: str | None
    ) -> int:
        """The output limit this call may send now, -1 to wait, or ``BudgetExceeded``."""
        longest = self._longest.get((role, model))
        least = min(wanted, max(MIN_USEFUL_OUTPUT, longest or 0))
        enough = wanted if longest is None else min(wanted, max(least, HEADROOM * longest))
        limits = self._limits(model, prompt, module)
        for limit in limits:
            if limit.room(held=False) < least:
                raise BudgetExceeded(_refusal(limit, what, prompt, least))
        short = [limit for limit in limits if limit.room(held=True) < enough]
        if any(limit.busy for limit in short):
            return -1  # calls in flight will give back what they did not use
        room = min((limit.room(held=True) for limit in limits), default=math.inf)
        return wanted if room >= wanted else math.floor(room)

    def _settle(self, reservation: Reservation, prompt: int, completion: int) -> float:
        cost = self.cost(reservation.model, prompt, completion)
        with self._changed:
            self._release(reservation)
            self._tokens += prompt + completion
            self._cost += cost
            if reservation.module is not None:
                self._module_spent[reservation.module] += cost
            kind = (reservation.role, reservation.model)
            self._longest[kind] = max(self._longest.get(kind, 0), completion)
        return cost

    def _release(self, reservation: Reservation) -> None:
        """Give a reservation back (lock held) and wake the calls waiting for room."""
        self._held_tokens -= reservation.tokens
        self._held_cost -= reservation.cost
        self._in_flight -= 1
        if reservation.module is not None:
            self._module_held[reservation.module] -= reservation.cost
            self._module_in_flight[reservation.module] -= 1
        self._changed.notify_all()


def _refusal(limit: _Limit, what: str, prompt: int, least: int) -> str:
    """Why a call is refused: the message starts with the budget, as users scan for it."""
    if limit.key == "max_tokens":
        tokens = int(limit.spent) + prompt + least
        return (
            f"budget exhausted: {what} (~{prompt:,} prompt tokens"
            + (f" and at least {least:,} for the answer" if least else "")
            + f") would bring the run to {tokens:,} tokens, over budget.max_tokens ="
            f" {int(limit.limit):,} ({int(limit.spent):,} used so far); the call was not"
            " made. Raise budget.max_tokens or regenerate fewer modules."
        )
    projected = limit.spent + limit.prompt + least * limit.per_output
    return (
        f"budget exhausted: {what} would bring {limit.whose} to ${projected:.4f}, over"
        f" budget.{limit.key} = {usd(limit.limit)} (${limit.spent:.4f} spent so far); the"
        f" call was not made. Raise budget.{limit.key} or regenerate fewer modules."
    )


class Reservation:
    """Room held for one call in flight; settle it with the real usage, or cancel it."""

    def __init__(
        self,
        budget: Budget,
        model: str,
        prompt: int,
        max_output: int,
        cost: float,
        module: str | None = None,
        role: str = "",
    ) -> None:
        self.budget = budget
        self.model = model
        self.prompt = prompt  # the prompt's tokens, as reserved
        self.max_output = max_output  # the output limit to send; 0: none
        self.tokens = prompt + max_output
        self.cost = cost
        self.module = module
        self.role = role
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
            with self.budget._changed:
                self.budget._release(self)
