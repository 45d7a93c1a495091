"""The customer's tracking page: the order's way so far as a timeline, what it holds, and a way to cancel it.

No session: the order's id (a random UUID) is the customer's capability. An id that is not one, or that names no
order, gets one and the same answer, so the page tells nothing about which ids exist.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from api.pages.rendering import live_part, render
from domain.order import Order, OrderStatus

router = APIRouter()

ORDER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The way an order goes when nothing stops it.
PICKUP_WAY = (OrderStatus.RECEIVED, OrderStatus.CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY)
DELIVERY_WAY = (*PICKUP_WAY, OrderStatus.OUT_FOR_DELIVERY)
LABELS = {
    OrderStatus.RECEIVED: "Received",
    OrderStatus.CONFIRMED: "Confirmed",
    OrderStatus.PREPARING: "Preparing",
    OrderStatus.READY: "Ready",
    OrderStatus.OUT_FOR_DELIVERY: "Out for delivery",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
}


@dataclass(frozen=True)
class Step:
    """One line of the timeline: done (with its time), the current one, or one still to come."""

    label: str
    state: str  # done | current | next
    at: datetime | None = None


@dataclass(frozen=True)
class Now:
    label: str
    explanation: str


def timeline(order: Order) -> list[Step]:
    """The order's history, one step per status it reached, then the steps it has still to go."""
    reached: list[tuple[OrderStatus, datetime]] = []
    for change in order.history:
        if not reached or reached[-1][0] is not change.status:  # a note changes no status: no step of its own
            reached.append((change.status, change.at))
    steps = [Step(_label(order, status), "done", at) for status, at in reached]
    if steps:
        steps[-1] = Step(steps[-1].label, "current", steps[-1].at)
    if not order.is_final:
        way = (*(DELIVERY_WAY if order.is_delivery else PICKUP_WAY), OrderStatus.COMPLETED)
        ahead = way[way.index(order.status) + 1 :] if order.status in way else ()
        steps += [Step(_label(order, status), "next") for status in ahead]
    return steps


def _label(order: Order, status: OrderStatus) -> str:
    if status is OrderStatus.OUT_FOR_DELIVERY and order.delivery:
        return f"Out for delivery with {order.delivery.driver}"
    if status is OrderStatus.COMPLETED and order.delivery and order.delivery.delivered_at:
        return "Completed: delivered"
    return LABELS[status]


def now(order: Order) -> Now:
    """The order's status in a line, and what it means for the customer."""
    explanations = {
        OrderStatus.RECEIVED: "We have your order and are confirming it.",
        OrderStatus.CONFIRMED: "Your order is confirmed and waits for the oven.",
        OrderStatus.PREPARING: "Your pizzas are being made.",
        OrderStatus.READY: (
            "Your pizzas are ready and wait for a driver." if order.is_delivery else "Ready to collect at the counter."
        ),
        OrderStatus.OUT_FOR_DELIVERY: "Your order is on its way.",
        OrderStatus.COMPLETED: "Enjoy your meal!",
        OrderStatus.CANCELLED: "Your order was cancelled.",
        OrderStatus.REJECTED: "Your order could not be accepted.",
    }
    if order.status is OrderStatus.OUT_FOR_DELIVERY and order.delivery_failed:
        return Now("Delivery failed", "Your order could not be delivered: it is being cancelled and any card refunded.")
    return Now(_label(order, order.status), explanations[order.status])


def reason(order: Order) -> str | None:
    """Why the order was cancelled or refused, as recorded (the customer's own words, or the driver's)."""
    if order.delivery and order.delivery.failure:
        return order.delivery.failure
    if order.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        return None
    ended = [change for change in order.history if change.status is order.status]
    return ended[0].notes if ended else None


async def tracked(request: Request, order_id: str) -> Order | None:
    """The order of a well-formed id, as its screens share it; None for anything else."""
    if not ORDER_ID.fullmatch(order_id):
        return None
    orders = request.app.state.orders
    found: Order | None = await request.app.state.fresh.read(f"order:{order_id}", lambda: orders.get(order_id))
    return found


def details(order: Order) -> dict[str, Any]:
    """What the page shows of the order."""
    return {"order": order, "steps": timeline(order), "now": now(order), "reason": reason(order)}


@router.get("/track/{order_id}")
async def track_page(request: Request, order_id: str) -> Response:
    """The whole page."""
    return await show(request, order_id, "track.html", render)


@router.get("/track/{order_id}/status")
async def track_status(request: Request, order_id: str) -> Response:
    """The page's live part."""
    return await show(request, order_id, "track_status.html", live_part)


async def show(request: Request, order_id: str, template: str, answer: Callable[..., Response]) -> Response:
    order = await tracked(request, order_id)
    if order is None:
        return render(request, "track_unknown.html", 404)
    return answer(request, template, **details(order))
