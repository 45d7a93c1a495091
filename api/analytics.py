"""Numbers for managers."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from activities.store.numbers import TOP_PIZZAS, Spread
from api.auth import Manager
from api.deps import OrderStoreDep
from api.problems import Problem, Responses
from settings import Settings

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
MANAGERS_ONLY: Responses = {401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}}


class Revenue(BaseModel):
    date: date
    orders_completed: int
    orders_cancelled: int
    revenue: Decimal


@router.get(
    "/revenue",
    response_model=Revenue,
    responses=MANAGERS_ONLY,
)
async def revenue(
    store: OrderStoreDep,
    _: Manager,
    day: Annotated[date | None, Query(alias="date", description="A UTC day, YYYY-MM-DD; today if left out")] = None,
) -> Revenue:
    """Orders completed and cancelled on a UTC day, and the revenue of the completed ones."""
    sales = await run_in_threadpool(store.sales, day or datetime.now(UTC).date())
    return Revenue(
        date=sales.day, orders_completed=sales.completed, orders_cancelled=sales.cancelled, revenue=sales.revenue
    )


class Minutes(BaseModel):
    """A spread of durations in minutes, one decimal: nearest-rank percentiles; null when nothing was measured."""

    p50: float | None = Field(description="Half of the orders took at most this long", examples=[18.5])
    p90: float | None = Field(description="Nine in ten took at most this long", examples=[31.0])

    @classmethod
    def of(cls, spread: Spread) -> "Minutes":
        return cls(p50=spread.p50, p90=spread.p90)


class PizzaCount(BaseModel):
    name: str = Field(description="The pizza's menu name, all sizes together", examples=["margherita"])
    quantity: int = Field(description="Pizzas of it in the orders completed that day")


class KitchenNumbers(BaseModel):
    date: date
    orders_completed: int = Field(description="Orders completed (handed over or delivered) that UTC day")
    prep_minutes: Minutes = Field(description="Confirmed to ready, over the orders that became ready that day")
    ready_late_share: float | None = Field(
        description="Of the orders that became ready that day, the share (0 to 1, three decimals) whose prep took "
        "longer than the kitchen SLA (PIZZERIA_KITCHEN_SLA_SECONDS); null when none became ready",
        examples=[0.125],
    )
    cancelled_by_stage: dict[str, int] = Field(
        description="Orders cancelled that day, by the status they were in when cancelled (every stage named)",
        examples=[{"received": 0, "confirmed": 2, "preparing": 1, "out_for_delivery": 1}],
    )
    top_pizzas: list[PizzaCount] = Field(
        description=f"The {TOP_PIZZAS} pizzas most ordered in the orders completed that day, most first (then by name)"
    )
    delivery_minutes: Minutes = Field(description="Picked up to delivered, over the orders delivered that day")


@router.get("/kitchen", response_model=KitchenNumbers, responses=MANAGERS_ONLY)
async def kitchen(
    request: Request,
    store: OrderStoreDep,
    _: Manager,
    day: Annotated[date, Query(alias="date", description="A UTC day, YYYY-MM-DD")],
) -> KitchenNumbers:
    """How the kitchen and the drivers did on a UTC day; README's "Numbers for the manager" defines each figure."""
    settings: Settings = request.app.state.settings
    numbers = await run_in_threadpool(store.kitchen, day, settings.kitchen_sla_seconds)
    return KitchenNumbers(
        date=numbers.day,
        orders_completed=numbers.orders_completed,
        prep_minutes=Minutes.of(numbers.prep_minutes),
        ready_late_share=numbers.ready_late_share,
        cancelled_by_stage=numbers.cancelled_by_stage,
        top_pizzas=[PizzaCount(name=name, quantity=quantity) for name, quantity in numbers.top_pizzas],
        delivery_minutes=Minutes.of(numbers.delivery_minutes),
    )
