"""Plain-text receipts for invoices."""

from __future__ import annotations

from billing.invoice import Invoice


def render(invoice: Invoice) -> str:
    lines = [
        f"{item.description}  {item.quantity} x {item.unit_price} = {item.total()}"
        for item in invoice.items
    ]
    lines.append(f"Total: {invoice.total()}")
    return "\n".join(lines)
