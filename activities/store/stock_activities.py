"""The saga's stock steps: reserve while placing, consume at preparing, release when undone.

Local activities like the other database steps, idempotent per order. The workflow imports this module (the
class, its inputs, its error type); the store behind it it never loads.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.store.activities import _outage_in_one_line as outage_in_one_line
from domain.errors import StockShortage
from domain.menu import OrderLine
from domain.stock import portions_needed

if TYPE_CHECKING:  # the workflow imports this module: it must not load the store (sqlmodel) with it
    from activities.store.stock import StockStore

log = logging.getLogger("pizzeria.stock")

# ApplicationError type: a tracked ingredient is short (final; the order is refused like an invalid one).
OUT_OF_STOCK = "OutOfStock"


@dataclass(frozen=True)
class StockRequest:
    """An order's priced lines: what it needs of each ingredient."""

    order_id: str
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class StockHold:
    """What an order holds: consumed at preparing, released when the order is undone."""

    order_id: str


class StockActivities:
    def __init__(self, stock: "StockStore", low_stock_portions: int) -> None:
        self._stock = stock
        self._low = low_stock_portions

    @activity.defn(name="reserve_stock")
    @outage_in_one_line
    def reserve_stock(self, request: StockRequest) -> dict[str, int]:
        """Reserve the portions of tracked ingredients the order needs; what was reserved ({}: none tracked)."""
        needs = portions_needed(request.lines, self._stock.recipes())
        try:
            reserved = self._stock.reserve(request.order_id, needs)
        except StockShortage as short:
            raise ApplicationError(str(short), type=OUT_OF_STOCK, non_retryable=True) from None
        self._warn_if_low(reserved)
        return reserved

    @activity.defn(name="consume_stock")
    @outage_in_one_line
    def consume_stock(self, hold: StockHold) -> None:
        """The kitchen started the order: what it reserved leaves the shelf."""
        self._warn_if_low(self._stock.consume(hold.order_id))

    @activity.defn(name="release_stock")
    @outage_in_one_line
    def release_stock(self, hold: StockHold) -> None:
        """The order was undone: what it reserved is free again (what it consumed is not)."""
        self._stock.release(hold.order_id)

    def _warn_if_low(self, touched: dict[str, int]) -> None:
        if not touched:
            return
        for level in self._stock.levels(set(touched)):
            if level.available is not None and level.available <= self._low:
                log.warning("stock of %s is low: %d portion(s) left", level.ingredient, level.available)

    def all(self) -> list[Callable[..., Any]]:
        return [self.reserve_stock, self.consume_stock, self.release_stock]
