"""Stock: the kitchen and managers read the counts; managers set them."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from activities.store.stock import StockLevel, StockStore
from api.auth import KitchenStaff, Manager
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError, Responses
from workflows.text_types import MenuName

router = APIRouter(prefix="/api/stock", tags=["stock"], route_class=StrictJSONRoute)
# Far above any shelf, and below every database's integer limit.
MAX_PORTIONS = 1_000_000


async def _stock(request: Request) -> StockStore:
    return request.app.state.stock


StockDep = Annotated[StockStore, Depends(_stock)]


class StockLevelOut(BaseModel):
    ingredient: str
    tracked: bool = Field(description="false: never counted; such an ingredient never refuses an order")
    on_hand: int | None = Field(description="portions the shop has, reserved ones included; null when not tracked")
    reserved: int = Field(description="portions held by orders placed but not yet preparing")
    available: int | None = Field(description="on_hand - reserved, never below 0; null when not tracked")

    @classmethod
    def of(cls, level: StockLevel) -> "StockLevelOut":
        return cls(
            ingredient=level.ingredient,
            tracked=level.tracked,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
        )


class StockCount(BaseModel):
    """A manager's count of an ingredient, in portions; null stops tracking it."""

    model_config = ConfigDict(extra="forbid")

    # Required: `{}` is refused, `{"on_hand": null}` is the way to stop tracking.
    on_hand: Annotated[StrictInt, Field(ge=0, le=MAX_PORTIONS)] | None = Field(examples=[40, None])


AUTH: Responses = {401: {"model": Problem}, 403: {"model": Problem}}


@router.get("", response_model=list[StockLevelOut], responses=AUTH)
async def read_stock(stock: StockDep, _: KitchenStaff) -> list[StockLevelOut]:
    """Every ingredient's counts, by name."""
    return [StockLevelOut.of(level) for level in await run_in_threadpool(stock.levels)]


@router.put(
    "/{ingredient}",
    response_model=StockLevelOut,
    responses={
        **AUTH,
        404: {"model": Problem, "description": "No such ingredient"},
        422: {"model": Problem},
    },
)
async def set_stock(
    ingredient: Annotated[MenuName, Path()], count: StockCount, stock: StockDep, _: Manager
) -> StockLevelOut:
    """Count an ingredient (it is tracked from then on), or stop tracking it with null.

    The count is what is on the shelf, reserved portions included. One below what orders hold reserved is taken
    as it is: `available` is then 0 and new orders needing it are refused until a restock.
    """
    level = await run_in_threadpool(stock.set_on_hand, ingredient, count.on_hand)
    if level is None:
        raise ProblemError(404, f"there is no ingredient '{ingredient}'", "unknown-ingredient")
    return StockLevelOut.of(level)
