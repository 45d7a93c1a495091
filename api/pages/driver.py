"""The driver's page: delivery orders waiting for a driver and the driver's own, with what is due at the door."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from api.auth import DRIVER, Staff
from api.pages.rendering import live_part, render, staff_page, staff_part
from domain.order import Order, OrderStatus

router = APIRouter()


async def deliveries_for(request: Request, driver: str) -> tuple[list[Order], list[Order]]:
    """The orders waiting for a driver, and those out with this one (one read shared by all this driver's screens)."""
    orders = request.app.state.orders
    found: list[Order] = await request.app.state.fresh.read(f"deliveries:{driver}", lambda: orders.deliveries(driver))
    waiting = [order for order in found if order.status is OrderStatus.READY]
    theirs = [order for order in found if order.status is OrderStatus.OUT_FOR_DELIVERY]
    return waiting, theirs


def ready_at(order: Order) -> datetime | None:
    """When the order became ready: since then it waits for a driver."""
    return next((change.at for change in reversed(order.history) if change.status is OrderStatus.READY), None)


async def board(request: Request, driver: str) -> dict[str, Any]:
    """What the board shows this driver."""
    waiting, theirs = await deliveries_for(request, driver)
    pickup_sla = request.app.state.settings.delivery_pickup_sla_seconds
    return {"waiting": waiting, "theirs": theirs, "ready_at": ready_at, "pickup_sla": pickup_sla}


@router.get("/driver")
async def driver_page(request: Request) -> Response:
    """The whole page; to /login without a session."""
    staff = staff_page(request, DRIVER)
    return staff if isinstance(staff, Response) else await show(request, staff, "driver.html", render)


@router.get("/driver/board")
async def driver_board(request: Request) -> Response:
    """The page's live part; 401 without a session."""
    staff = staff_part(request, DRIVER)
    return staff if isinstance(staff, Response) else await show(request, staff, "driver_board.html", live_part)


async def show(request: Request, staff: Staff, template: str, answer: Callable[..., Response]) -> Response:
    return answer(request, template, staff=staff, **await board(request, staff.name))
