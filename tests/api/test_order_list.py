"""Staff list the stored orders, newest first, a page at a time."""

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import assert_problem, completed_order, eventually, kitchen_headers, move_ok
from tests.conftest import Stack, running_stack, staff_headers


@pytest.fixture(scope="module")
async def shop(temporal_env: WorkflowEnvironment, new_database) -> AsyncIterator[Stack]:
    """A stack with a database of its own, so the list holds only this module's orders."""
    async with running_stack(temporal_env, new_database()) as running:
        yield running


@pytest.fixture(scope="module")
async def orders(shop: Stack) -> dict[str, list[str]]:
    """Seven orders, placed one after the other: three confirmed, two preparing, one completed, one cancelled."""
    ids: dict[str, list[str]] = {"all": []}
    for status in ("confirmed", "preparing", "confirmed", "completed", "preparing", "cancelled", "confirmed"):
        if status == "completed":
            order = await completed_order(shop)
        else:
            order = await shop.placed()
            if status == "preparing":
                await move_ok(shop, order["id"], "preparing")
            if status == "cancelled":
                assert (await shop.http.post(f"/api/orders/{order['id']}/cancel")).status_code == 200
        ids.setdefault(status, []).append(order["id"])
        ids["all"].append(order["id"])
    return ids


async def listed(shop: Stack, **params: object) -> dict:
    response = await shop.http.get("/api/orders", params=params, headers=kitchen_headers())
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(shop: Stack, **params: object) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = await listed(shop, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([order["id"] for order in page["orders"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_orders_are_listed_newest_first_in_pages_that_together_hold_each_order_once(shop, orders):
    pages = await every_page(shop, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [order_id for page in pages for order_id in page] == orders["all"][::-1]


async def test_the_list_shows_each_order_as_it_stands(shop, orders):
    async def all_stored() -> dict | None:
        page = await listed(shop, limit=100)
        return page if len(page["orders"]) == len(orders["all"]) else None

    by_id = {order["id"]: order for order in (await eventually(all_stored))["orders"]}
    for status in ("confirmed", "preparing", "completed", "cancelled"):
        assert {by_id[order_id]["status"] for order_id in orders[status]} == {status}
    assert by_id[orders["cancelled"][0]]["payment"]["refund_id"]


async def test_the_list_may_be_narrowed_to_one_status_or_several(shop, orders):
    assert await every_page(shop, status="preparing") == [orders["preparing"][::-1]]
    both = await every_page(shop, status=["completed", "cancelled"], limit=1)
    assert both == [[orders["cancelled"][0]], [orders["completed"][0]]]


async def test_a_status_with_no_orders_gives_an_empty_last_page(shop, orders):
    assert await listed(shop, status="rejected") == {"orders": [], "next_cursor": None}


async def test_a_page_of_exactly_the_remaining_orders_is_the_last_one(shop, orders):
    page = await listed(shop, limit=len(orders["all"]))
    assert len(page["orders"]) == len(orders["all"]) and page["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "baking"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyIyMDI2LTAxLTAxIiwgIngiXQ"}, "cursor"),  # a well-formed cursor naming no order id
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(shop, params, named):
    response = await shop.http.get("/api/orders", params=params, headers=kitchen_headers())
    assert named in assert_problem(response, 422)["detail"]


async def test_listing_orders_is_for_staff_only(shop):
    assert_problem(await shop.http.get("/api/orders"), 401)
    assert_problem(await shop.http.get("/api/orders", headers=staff_headers("customer")), 403)
    assert_problem(await shop.http.get("/api/orders", headers=staff_headers("kitchen", secret="x" * 40)), 401)
    assert (await shop.http.get("/api/orders", headers=staff_headers("manager"))).status_code == 200
