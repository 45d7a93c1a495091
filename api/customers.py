"""A customer's history, for phone support: their orders, newest first, found by their phone number."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator

from api.auth import Manager
from api.deps import OrderStoreDep
from api.paging import cursor_after, place_of
from api.problems import Problem
from api.schemas import OrderPage
from domain.text import phone_problem

router = APIRouter(prefix="/api/customers", tags=["customers"])


def _phone(value: str) -> str:
    if problem := phone_problem(value):
        # A + left bare in a query string arrives as a space.
        hint = "; write its + as %2B in a URL" if value.startswith(" ") else ""
        raise ValueError(problem + hint)
    return value


PhoneInQuery = Annotated[str, AfterValidator(_phone)]


@router.get(
    "/orders",
    response_model=OrderPage,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)
async def customer_orders(
    store: OrderStoreDep,
    _: Manager,
    phone: Annotated[
        PhoneInQuery, Query(max_length=20, description="The customer's phone, E.164; in a URL its + is written %2B")
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> OrderPage:
    """Managers: the orders placed with this phone number, newest first, a page at a time."""
    after = place_of(cursor) if cursor else None
    orders, last = await run_in_threadpool(store.page, (), limit, after, phone)
    return OrderPage(orders=orders, next_cursor=cursor_after(last) if last else None)
