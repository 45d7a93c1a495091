"""The kitchen's view: its queue, and moving orders on."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import KitchenStaff
from api.deps import GatewayDep, OrderStoreDep
from api.gateway import OrderNotFound
from api.json_body import StrictJSONRoute
from api.orders import finished_or_unknown, known_id
from api.problems import Problem, Responses
from api.schemas import StatusChange
from domain.order import Order, OrderStatus
from workflows.order_contract import KitchenStep

router = APIRouter(prefix="/api/kitchen", tags=["kitchen"], route_class=StrictJSONRoute)
AUTH: Responses = {401: {"model": Problem}, 403: {"model": Problem}}


@router.get("/queue", response_model=list[Order], responses=AUTH)
async def kitchen_queue(store: OrderStoreDep, _: KitchenStaff) -> list[Order]:
    """Orders to make (confirmed or preparing), oldest first."""
    return await run_in_threadpool(store.kitchen_queue)


@router.put(
    "/orders/{order_id}/status",
    response_model=Order,
    responses={
        **AUTH,
        404: {"model": Problem},
        409: {"model": Problem},
        422: {"model": Problem},
        503: {"model": Problem, "description": "Temporal is unreachable, or the order did not answer in time"},
    },
)
async def change_status(
    order_id: str, change: StatusChange, gateway: GatewayDep, store: OrderStoreDep, staff: KitchenStaff
) -> Order:
    """Move an order to preparing, ready or completed; 409 when its status does not allow it."""
    known_id(order_id)
    step = KitchenStep(status=OrderStatus(change.status), by=staff.name, notes=change.notes)
    try:
        return await gateway.change_status(order_id, step)
    except OrderNotFound as unknown:
        raise await finished_or_unknown(store, unknown, f"become {change.status}") from None
