"""The drivers' view: delivery orders waiting to go out, taking one, and how its delivery ended."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import Driver
from api.deps import GatewayDep, OrderStoreDep
from api.gateway import OrderNotFound
from api.json_body import StrictJSONRoute
from api.orders import finished_or_unknown, known_id
from api.problems import Problem, Responses
from api.schemas import FailedDelivery, NoBody
from domain.order import Order
from workflows.order_contract import DeliveryEnd, DriverStep

router = APIRouter(prefix="/api/deliveries", tags=["deliveries"], route_class=StrictJSONRoute)
AUTH: Responses = {
    401: {"model": Problem, "description": "No staff token, or one that is not valid"},
    403: {"model": Problem, "description": "The token has neither the driver nor the manager role"},
}
OUTAGE: Responses = {
    503: {"model": Problem, "description": "Temporal is unreachable, or the order did not answer in time"}
}
MOVE: Responses = {
    **AUTH,
    404: {"model": Problem, "description": "There is no such order"},
    422: {"model": Problem, "description": "A malformed body"},
    **OUTAGE,
}
ENDING: Responses = {
    **MOVE,
    403: {"model": Problem, "description": "Another driver has it, or the token has no driver or manager role"},
    409: {"model": Problem, "description": "The order is not out for delivery"},
}


@router.get(
    "",
    response_model=list[Order],
    responses={**AUTH, 503: {"model": Problem, "description": "The shop's database is unreachable"}},
)
async def deliveries(store: OrderStoreDep, driver: Driver) -> list[Order]:
    """Delivery orders ready for a driver, oldest first, then those out with this driver."""
    return await run_in_threadpool(store.deliveries, driver.name)


@router.post(
    "/{order_id}/pickup",
    response_model=Order,
    responses={**MOVE, 409: {"model": Problem, "description": "Not a ready delivery order (or already taken)"}},
)
async def pick_up(
    order_id: str, gateway: GatewayDep, store: OrderStoreDep, driver: Driver, _: NoBody | None = None
) -> Order:
    """Take a ready delivery order out: it is out_for_delivery with this driver."""
    known_id(order_id)
    try:
        return await gateway.pick_up(order_id, DriverStep(driver=driver.name))
    except OrderNotFound as unknown:
        raise await finished_or_unknown(store, unknown, "be picked up") from None


@router.post("/{order_id}/delivered", response_model=Order, responses=ENDING)
async def delivered(
    order_id: str, gateway: GatewayDep, store: OrderStoreDep, driver: Driver, _: NoBody | None = None
) -> Order:
    """The driver handed the order over: it is completed."""
    return await _finish(order_id, gateway, store, DeliveryEnd(driver=driver.name, delivered=True))


@router.post("/{order_id}/failed", response_model=Order, responses=ENDING)
async def failed(
    order_id: str, body: FailedDelivery, gateway: GatewayDep, store: OrderStoreDep, driver: Driver
) -> Order:
    """The order could not be delivered: answers once it is cancelled and a card refunded."""
    end = DeliveryEnd(driver=driver.name, delivered=False, reason=body.reason)
    return await _finish(order_id, gateway, store, end)


async def _finish(order_id: str, gateway: GatewayDep, store: OrderStoreDep, end: DeliveryEnd) -> Order:
    known_id(order_id)
    try:
        return await gateway.finish_delivery(order_id, end)
    except OrderNotFound as unknown:
        change = "be delivered" if end.delivered else "fail its delivery"
        raise await finished_or_unknown(store, unknown, change) from None
