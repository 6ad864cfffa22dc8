"""Invoices: line items and their total."""

from __future__ import annotations

from dataclasses import dataclass, field

from billing.money import Money


@dataclass(frozen=True)
class LineItem:
    description: str
    unit_price: Money
    quantity: int

    def total(self) -> Money:
        return Money(self.unit_price.cents * self.quantity, self.unit_price.currency)


@dataclass
class Invoice:
    currency: str = "EUR"
    items: list[LineItem] = field(default_factory=list)

    def add(self, description: str, unit_price: Money, quantity: int) -> None:
        if quantity < 0:
            raise ValueError(f"quantity must not be negative (got {quantity})")
        self.items.append(LineItem(description, unit_price, quantity))

    def total(self) -> Money:
        total = Money(0, self.currency)
        for item in self.items:
            total = total + item.total()
        return total
