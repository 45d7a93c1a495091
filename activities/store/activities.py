"""The saga's database steps. Short and idempotent, so the workflow runs them as local activities.

The workflow imports this module (the class, its inputs, its error types); the stores behind it it never loads.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import InvalidOrder
from domain.menu import LineRequest, OrderLine
from domain.order import Order

if TYPE_CHECKING:  # the workflow imports this module: it must not load the stores (sqlmodel) with it
    from activities.store.menu import MenuStore
    from activities.store.orders import OrderStore

P = ParamSpec("P")
R = TypeVar("R")

# ApplicationError types: the menu does not offer what was ordered (final), the database is away (retried).
INVALID_ORDER = "InvalidOrder"
DATABASE_UNAVAILABLE = "DatabaseUnavailable"


@dataclass(frozen=True)
class ValidateOrder:
    order_id: str
    lines: tuple[LineRequest, ...]


@dataclass(frozen=True)
class KitchenTicket:
    order_id: str


def _outage_in_one_line(step: Callable[P, R]) -> Callable[P, R]:
    """A database that cannot be reached fails the attempt with one line (retried like any failure), so an
    outage reads plainly in the order's history and does not fill the worker's log with driver tracebacks."""

    @functools.wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return step(*args, **kwargs)
        except OperationalError as err:
            reason = str(err.orig or err).strip().splitlines()[0]
            raise ApplicationError(f"the database is unreachable: {reason}", type=DATABASE_UNAVAILABLE) from None

    return run


class StoreActivities:
    def __init__(self, orders: "OrderStore", menu: "MenuStore") -> None:
        self._orders = orders
        self._menu = menu

    @activity.defn(name="validate_order")
    @_outage_in_one_line
    def validate_order(self, request: ValidateOrder) -> tuple[OrderLine, ...]:
        """Price the order from today's menu; refuse what the menu does not offer."""
        try:
            return self._menu.load().price_lines(request.lines)
        except InvalidOrder as err:
            raise ApplicationError(str(err), type=INVALID_ORDER, non_retryable=True) from None

    @activity.defn(name="save_order")
    @_outage_in_one_line
    def save_order(self, order: Order) -> None:
        """Store the order as it stands."""
        self._orders.save(order)

    @activity.defn(name="queue_in_kitchen")
    @_outage_in_one_line
    def queue_in_kitchen(self, ticket: KitchenTicket) -> None:
        """Put the order in the kitchen's queue."""
        self._orders.queue_in_kitchen(ticket.order_id, activity.info().scheduled_time)

    @activity.defn(name="remove_from_kitchen")
    @_outage_in_one_line
    def remove_from_kitchen(self, ticket: KitchenTicket) -> None:
        """Take the order out of the kitchen's queue."""
        self._orders.remove_from_kitchen(ticket.order_id)

    @activity.defn(name="record_completion")
    @_outage_in_one_line
    def record_completion(self, order: Order) -> None:
        """Store the completed order; its total counts as the day's revenue."""
        self._orders.save(order)

    @activity.defn(name="record_cancellation")
    @_outage_in_one_line
    def record_cancellation(self, order: Order) -> None:
        """Store the cancelled order."""
        self._orders.save(order)

    @activity.defn(name="record_rejection")
    @_outage_in_one_line
    def record_rejection(self, order: Order) -> None:
        """Store the rejected order."""
        self._orders.save(order)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.validate_order,
            self.save_order,
            self.queue_in_kitchen,
            self.remove_from_kitchen,
            self.record_completion,
            self.record_cancellation,
            self.record_rejection,
        ]
