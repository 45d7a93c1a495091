"""Numbers for managers."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.auth import Manager
from api.deps import OrderStoreDep
from api.problems import Problem

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


class Revenue(BaseModel):
    date: date
    orders_completed: int
    orders_cancelled: int
    revenue: Decimal


@router.get(
    "/revenue",
    response_model=Revenue,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
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
