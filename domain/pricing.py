"""How an order's lines add up to what the customer pays."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.menu import OrderLine
from domain.money import cents

TAX_RATE = Decimal("0.0875")
DELIVERY_FEE = Decimal("2.99")


class Fulfilment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    delivery_fee: Decimal
    total: Decimal


def total_order(lines: Iterable[OrderLine], fulfilment: Fulfilment) -> Totals:
    """Subtotal, tax (half-up to cents), delivery fee and total of priced lines."""
    subtotal = cents(sum((line.line_total for line in lines), Decimal(0)))
    tax = cents(subtotal * TAX_RATE)
    fee = cents(DELIVERY_FEE if fulfilment is Fulfilment.DELIVERY else 0)
    return Totals(subtotal=subtotal, tax=tax, delivery_fee=fee, total=cents(subtotal + tax + fee))
