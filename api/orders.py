"""Customers place, track and cancel orders. Each call is one round trip to the order's workflow."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from activities.store.orders import OrderStore
from api.admission import Overloaded
from api.auth import KitchenStaff
from api.deps import AdmissionDep, GatewayDep, OrderStoreDep, RecentMenu, RecentMenuDep
from api.gateway import OrderClosed, OrderGateway, OrderNotFound, StepRefused, Unavailable
from api.json_body import StrictJSONRoute
from api.paging import cursor_after, place_of
from api.problems import Problem, ProblemError
from api.schemas import CancelBody, OrderPage, PlaceOrder, order_request
from domain.errors import InvalidOrder
from domain.menu import Menu, OrderLine
from domain.order import Order, OrderStatus
from observability import current_order
from workflows.order_contract import CancelRequest, OrderRequest

router = APIRouter(prefix="/api/orders", tags=["orders"], route_class=StrictJSONRoute)

CUSTOMER = "customer"
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any printable string; repeating a request with it never places a second order",
    ),
]


def priced_lines(menu: Menu | None, request: OrderRequest) -> tuple[OrderLine, ...] | None:
    """The order priced from a recent menu, or None without one or when it does not offer the order
    (the workflow prices it, and says why it cannot)."""
    if menu is None:
        return None
    try:
        return menu.price_lines(request.lines())
    except InvalidOrder:
        return None


def known_id(order_id: str) -> str:
    """Order ids are UUIDs; anything else names no order."""
    try:
        uuid.UUID(order_id)
    except ValueError:
        raise OrderNotFound(order_id) from None
    return order_id


async def finished_or_unknown(store: OrderStore, unknown: OrderNotFound, change: str) -> OrderClosed | OrderNotFound:
    """Why Temporal has no workflow for an order: it finished long ago (the database keeps it), or never was."""
    stored = await run_in_threadpool(store.get, unknown.order_id)
    return unknown if stored is None else OrderClosed(unknown.order_id, stored.status, change)


@router.post(
    "",
    status_code=201,
    response_model=Order,
    response_description="The order this request placed",
    responses={
        200: {"model": Order, "description": "A repeat of an earlier request (same Idempotency-Key): the same order"},
        402: {"model": Problem, "description": "The card was declined; nothing was charged"},
        409: {"model": Problem, "description": "The Idempotency-Key was used for a different order"},
        422: {
            "model": Problem,
            "description": "Malformed, naming something the menu does not offer, or more than the stock holds of an "
            "ingredient (the detail names it); nothing was charged",
        },
        503: {
            "model": Problem,
            "description": "Not confirmed in time (type `/problems/unavailable`: the order may go on), or the shop is "
            "busy (type `/problems/overloaded`: answered at once, nothing was placed or charged); either way repeat "
            "with the same Idempotency-Key after the seconds Retry-After gives",
        },
    },
)
async def place_order(
    body: PlaceOrder,
    gateway: GatewayDep,
    menu: RecentMenuDep,
    admission: AdmissionDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Order:
    """Place an order: answers once it is paid and in the kitchen's queue (201; a repeat of it, 200)."""
    try:
        async with admission.placement():
            return await _place(body, gateway, menu, response, idempotency_key)
    except Overloaded as busy:
        raise _busy(busy, idempotency_key) from None


def _busy(busy: Overloaded, idempotency_key: str | None) -> ProblemError:
    """The 503 of a placement turned away before anything was started."""
    again = (
        "repeat the request with the same Idempotency-Key"
        if idempotency_key
        else "repeat the request (with an Idempotency-Key a repeat can never place a second order)"
    )
    return ProblemError(
        503,
        f"the shop is busy ({busy}); nothing was placed or charged: {again} after {busy.retry_after} s",
        "overloaded",
        headers={"Retry-After": str(busy.retry_after)},
    )


async def _place(
    body: PlaceOrder, gateway: OrderGateway, menu: RecentMenu, response: Response, idempotency_key: str | None
) -> Order:
    request = order_request(body)
    order_id = await gateway.order_id(idempotency_key)
    current_order.set(order_id)  # for the request's log lines
    placement = await gateway.place(order_id, request, priced_lines(await menu.get(), request))
    result = placement.result
    if result.rejection and result.rejection.kind == "invalid":
        raise ProblemError(422, result.rejection.detail, "invalid-order", order_id=order_id)
    if result.rejection:
        raise ProblemError(
            402,
            f"{result.rejection.detail} ({result.rejection.decline_code or 'declined'}); nothing was charged",
            "payment-declined",
            decline_code=result.rejection.decline_code,
            order_id=order_id,
        )
    if result.order is None or result.failure:
        raise ProblemError(
            503,
            f"order {order_id} could not be placed ({result.failure}); any payment was refunded",
            "order-failed",
            order_id=order_id,
        )
    response.headers["Location"] = f"/api/orders/{order_id}"
    if not placement.created:
        response.status_code = 200
    return result.order


@router.get("", response_model=OrderPage, responses={401: {"model": Problem}, 403: {"model": Problem}})
async def list_orders(
    store: OrderStoreDep,
    _: KitchenStaff,
    status: Annotated[list[OrderStatus] | None, Query(description="Only orders in these statuses")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> OrderPage:
    """Staff: stored orders, newest first, a page at a time."""
    after = place_of(cursor) if cursor else None
    orders, last = await run_in_threadpool(store.page, status or [], limit, after)
    return OrderPage(orders=orders, next_cursor=cursor_after(last) if last else None)


@router.get(
    "/{order_id}",
    response_model=Order,
    responses={
        404: {"model": Problem},
        503: {"model": Problem, "description": "Temporal is unreachable and the order is not stored yet"},
    },
)
async def read_order(order_id: str, gateway: GatewayDep, store: OrderStoreDep) -> Order:
    """The order as it stands now."""
    known_id(order_id)
    database_down: OperationalError | PoolTimeout | None = None
    try:
        stored = await run_in_threadpool(store.get, order_id)
    except (OperationalError, PoolTimeout) as err:
        # The database is away: a running order still answers from its workflow.
        stored, database_down = None, err
    if stored is not None and stored.is_final:
        return stored  # finished orders live on in the database
    try:
        return await gateway.current(order_id)
    except OrderNotFound:
        if database_down is not None:
            raise database_down from None  # it may be a finished order, which only the database knows
        if stored is None:
            raise
        return stored
    except Unavailable:
        if stored is None:
            raise
        return stored  # Temporal or the workers are away: the last saved state is the best answer


@router.post(
    "/{order_id}/cancel",
    response_model=Order,
    responses={404: {"model": Problem}, 409: {"model": Problem}, 503: {"model": Problem}},
)
async def cancel_order(
    order_id: str, gateway: GatewayDep, store: OrderStoreDep, body: CancelBody | None = None
) -> Order:
    """Cancel an order that is received, confirmed or preparing; answers once it is refunded."""
    known_id(order_id)
    try:
        result = await gateway.cancel(order_id, CancelRequest(by=CUSTOMER, notes=body.reason if body else None))
    except OrderNotFound as unknown:
        raise await finished_or_unknown(store, unknown, "be cancelled") from None
    if result.order is None or result.order.status is not OrderStatus.CANCELLED:
        status = result.order.status if result.order else OrderStatus.REJECTED
        raise StepRefused(order_id, f"an order that is {status} cannot be cancelled")
    return result.order
