"""The kitchen display: the open tickets oldest first, what they add up to, and the tickets just finished.

Read from the store (the kitchen's queue and the orders last made ready), shared by every screen through
`app.state.fresh`; the buttons call the kitchen's HTTP API (PUT /api/kitchen/orders/{id}/status).
"""

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response

from activities.store.orders import OrderStore
from api.auth import KITCHEN
from api.pages.fresh import Fresh
from api.pages.rendering import Part, part_response, render, rendered_part, staff_page, staff_part
from domain.menu import OrderLine, Size
from domain.order import Order, OrderStatus, StatusChange

router = APIRouter()
RECALL_LIMIT = 8  # finished tickets a cook can call back to view
SIZES = tuple(Size)
TIMES = "\N{MULTIPLICATION SIGN}"


def short_id(order: Order) -> str:
    """How people name an order: the first 8 characters of its id (as its texts do)."""
    return order.id[:8]


def readable(name: str) -> str:
    """A menu name as the kitchen reads it: quattro_formaggi -> Quattro Formaggi."""
    return name.replace("_", " ").title()


def describe(line: OrderLine) -> str:
    """A line as the cook reads it: "2 x large Margherita + basil, extra cheese" (with a real times sign)."""
    toppings = ", ".join(readable(topping).lower() for topping in line.toppings)
    return f"{line.quantity} {TIMES} {line.size} {readable(line.pizza)}" + (f" + {toppings}" if toppings else "")


def _first(order: Order, status: OrderStatus) -> datetime | None:
    return next((change.at for change in order.history if change.status is status), None)


def _placed(order: Order) -> datetime:
    return order.placed_at or order.history[0].at


@dataclass(frozen=True)
class Ticket:
    """An open order as its card shows it."""

    order: Order
    short: str
    placed_at: datetime
    confirmed_at: datetime  # the kitchen's clock starts here: the age colour and the time left
    due_at: datetime
    notes: tuple[StatusChange, ...]  # what staff (or ops) wrote on its way

    @classmethod
    def of(cls, order: Order, sla_seconds: int) -> "Ticket":
        confirmed_at = _first(order, OrderStatus.CONFIRMED) or _placed(order)
        notes = tuple(change for change in order.history if change.notes)
        due_at = confirmed_at + timedelta(seconds=sla_seconds)
        return cls(order, short_id(order), _placed(order), confirmed_at, due_at, notes)


@dataclass(frozen=True)
class Finished:
    """An order the kitchen made ready lately, as the recall list shows it."""

    order: Order
    short: str
    ready_at: datetime | None

    @property
    def may_complete(self) -> bool:
        return self.order.status is OrderStatus.READY


@dataclass(frozen=True)
class AllDayRow:
    """One pizza's count across the open tickets, size by size."""

    pizza: str
    by_size: tuple[int, ...]  # in the order of SIZES

    @property
    def total(self) -> int:
        return sum(self.by_size)


def all_day(orders: list[Order]) -> list[AllDayRow]:
    """Pizzas to make on the open tickets, by name and size; the most wanted first."""
    counts: Counter[tuple[str, Size]] = Counter()
    for order in orders:
        for line in order.items:
            counts[(line.pizza, Size(line.size))] += line.quantity
    rows = [
        AllDayRow(readable(pizza), tuple(counts[(pizza, size)] for size in SIZES))
        for pizza in {pizza for pizza, _ in counts}
    ]
    return sorted(rows, key=lambda row: (-row.total, row.pizza))


def _board(queue: list[Order], recent: list[Order], sla_seconds: int) -> dict[str, Any]:
    return {
        "tickets": [Ticket.of(order, sla_seconds) for order in queue],
        "all_day": all_day(queue),
        "sizes": SIZES,
        "finished": [Finished(order, short_id(order), _first(order, OrderStatus.READY)) for order in recent],
        "sla_seconds": sla_seconds,
        "describe": describe,
    }


async def board(request: Request) -> dict[str, Any]:
    """What the live part shows, read from the store at most twice a second however many screens ask."""
    fresh: Fresh = request.app.state.fresh
    orders: OrderStore = request.app.state.orders
    queue, recent = await asyncio.gather(
        fresh.read("kitchen:queue", orders.kitchen_queue),
        fresh.read(f"kitchen:ready:{RECALL_LIMIT}", lambda: orders.recently_ready(RECALL_LIMIT)),
    )
    return _board(queue, recent, request.app.state.settings.kitchen_sla_seconds)


def _board_part(orders: OrderStore, sla_seconds: int) -> Part:
    """The live part read and rendered in one go (in a worker thread), once for every screen asking."""
    queue, recent = orders.kitchen_queue(), orders.recently_ready(RECALL_LIMIT)
    return rendered_part("kitchen_board.html", **_board(queue, recent, sla_seconds))


@router.get("/kitchen")
async def kitchen_page(request: Request) -> Response:
    """The kitchen display, its live part already in it."""
    staff = staff_page(request, KITCHEN)
    if isinstance(staff, Response):
        return staff
    return render(request, "kitchen.html", staff=staff, **await board(request))


@router.get("/kitchen/board")
async def kitchen_board(request: Request) -> Response:
    """The display's live part; 304 while it is unchanged."""
    staff = staff_part(request, KITCHEN)
    if isinstance(staff, Response):
        return staff
    fresh: Fresh = request.app.state.fresh
    sla_seconds: int = request.app.state.settings.kitchen_sla_seconds
    # Rendered once per half second for all the kitchen's screens: under load the board changes every time.
    part = await fresh.read("kitchen:board", partial(_board_part, request.app.state.orders, sla_seconds))
    return part_response(request, part)
