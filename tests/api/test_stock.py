"""Stock through the HTTP API, with a real worker and Temporal: counting ingredients, orders racing for the
last portions, what cancels, declines and the kitchen do to the counts, the menu and the /metrics gauge.

Each database kind has its own shop here: these tests change counts every other order would feel."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import assert_problem, eventually, kitchen_headers, manager_headers, new_key
from tests.conftest import (
    TEST_DATABASE,
    Stack,
    database_of_kind,
    order_id_for,
    running_stack,
    staff_headers,
    unique_phone,
)

# The tests' order: 2 x large margherita with basil, by card: 4 portions of mozzarella (2 + 2), 4 of basil
# (2 in the recipe, 2 as a topping), 2 of dough, 4 of tomato sauce.
ORDER_MOZZARELLA = 4


@pytest.fixture(scope="module")
async def other_shop(
    request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    other = "postgresql" if TEST_DATABASE == "sqlite" else "sqlite"
    async with running_stack(temporal_env, database_of_kind(other, request, tmp_path_factory.mktemp("stock"))) as s:
        yield s


@pytest.fixture(scope="module")
async def own_shop(temporal_env: WorkflowEnvironment, new_database) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env, new_database()) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest) -> Stack:
    """A worker and the API of their own, on SQLite and on PostgreSQL."""
    return request.getfixturevalue("own_shop" if request.param == TEST_DATABASE else "other_shop")


async def level(shop: Stack, ingredient: str) -> dict:
    response = await shop.http.get("/api/stock", headers=kitchen_headers())
    assert response.status_code == 200, response.text
    [found] = [row for row in response.json() if row["ingredient"] == ingredient]
    return found


async def count(shop: Stack, ingredient: str, on_hand: int | None) -> dict:
    response = await shop.http.put(f"/api/stock/{ingredient}", json={"on_hand": on_hand}, headers=manager_headers())
    assert response.status_code == 200, response.text
    return response.json()


async def leave_available(shop: Stack, ingredient: str, portions: int) -> None:
    """Count the ingredient so that exactly `portions` are free for new orders, whatever others hold."""
    held = (await level(shop, ingredient))["reserved"]
    assert (await count(shop, ingredient, held + portions))["available"] == portions


async def menu_says(shop: Stack) -> dict[str, bool]:
    menu = (await shop.http.get("/api/menu")).json()
    return {item["name"]: item["available"] for item in menu["pizzas"] + menu["toppings"]}


async def test_the_kitchen_reads_the_counts_and_only_managers_set_them(shop: Stack) -> None:
    assert_problem(await shop.http.get("/api/stock"), 401)
    assert_problem(await shop.http.get("/api/stock", headers=staff_headers("driver")), 403)
    rows = (await shop.http.get("/api/stock/", headers=kitchen_headers())).json()
    assert [row["ingredient"] for row in rows] == sorted(row["ingredient"] for row in rows)
    assert {"mozzarella", "dough", "basil", "olives", "prosciutto"} <= {row["ingredient"] for row in rows}

    put = {"json": {"on_hand": 40}}
    assert_problem(await shop.http.put("/api/stock/fontina", **put, headers=kitchen_headers()), 403)
    answer = await shop.http.put("/api/stock/Fontina", **put, headers=manager_headers())
    assert answer.status_code == 200
    assert answer.json() == {"ingredient": "fontina", "tracked": True, "on_hand": 40, "reserved": 0, "available": 40}
    assert await level(shop, "fontina") == answer.json()
    assert (await count(shop, "fontina", None)) == {
        "ingredient": "fontina", "tracked": False, "on_hand": None, "reserved": 0, "available": None
    }  # fmt: skip

    unknown = assert_problem(await shop.http.put("/api/stock/truffles", **put, headers=manager_headers()), 404)
    assert "truffles" in unknown["detail"]
    for body in ({}, {"on_hand": -1}, {"on_hand": "3"}, {"on_hand": True}, {"on_hand": 2.5}, {"on_hand": 10**12},
                 {"on_hand": 3, "unit": "kg"}):  # fmt: skip
        refused = assert_problem(await shop.http.put("/api/stock/fontina", json=body, headers=manager_headers()), 422)
        assert "on_hand" in refused["detail"] or "unit" in refused["detail"], (body, refused)


async def test_two_orders_racing_for_the_last_portions_one_is_placed_the_other_refused_and_never_charged(
    shop: Stack,
) -> None:
    await leave_available(shop, "mozzarella", ORDER_MOZZARELLA)  # one order's worth
    keys, phones = [new_key(), new_key()], [unique_phone(), unique_phone()]

    answers = await asyncio.gather(*(shop.place(k, customer_phone=p) for k, p in zip(keys, phones, strict=True)))

    assert sorted(a.status_code for a in answers) == [201, 422], [a.text for a in answers]
    [(won, won_key)] = [(a, k) for a, k in zip(answers, keys, strict=True) if a.status_code == 201]
    [(lost, lost_key)] = [(a, k) for a, k in zip(answers, keys, strict=True) if a.status_code == 422]
    problem = assert_problem(lost, 422)
    assert problem["detail"] == "not enough mozzarella in stock: 4 portion(s) needed, 0 left"
    charged = [order_id for order_id, _ in shop.payments.charges]
    assert order_id_for(won_key) in charged
    assert order_id_for(lost_key) not in charged
    refused = (await shop.http.get(f"/api/orders/{order_id_for(lost_key)}")).json()
    assert refused["status"] == "rejected" and refused["payment"]["transaction_id"] is None
    again = await shop.place(lost_key, customer_phone=phones[keys.index(lost_key)])  # the same request again
    assert assert_problem(again, 422)["detail"] == problem["detail"]
    assert order_id_for(lost_key) not in [order_id for order_id, _ in shop.payments.charges]

    assert (await level(shop, "mozzarella"))["available"] == 0
    assert (await menu_says(shop))["margherita"] is False  # not even a small one can be made
    assert (await menu_says(shop))["basil"] is True  # untracked

    cancelled = await shop.http.post(f"/api/orders/{won.json()['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await level(shop, "mozzarella"))["available"] == ORDER_MOZZARELLA  # released
    assert (await menu_says(shop))["margherita"] is True


async def test_preparing_takes_the_portions_off_the_shelf_and_a_later_cancel_gives_none_back(shop: Stack) -> None:
    await leave_available(shop, "mozzarella", 10)
    before = await level(shop, "mozzarella")
    order = await shop.placed()
    placed = await level(shop, "mozzarella")
    assert (placed["reserved"], placed["available"]) == (before["reserved"] + 4, 6)

    assert (await shop.move(order["id"], "preparing")).status_code == 200

    async def consumed() -> bool:
        now = await level(shop, "mozzarella")
        return now["on_hand"] == before["on_hand"] - 4 and now["reserved"] == before["reserved"]

    await eventually(consumed)
    cancelled = await shop.http.post(f"/api/orders/{order['id']}/cancel", json={})
    assert cancelled.json()["status"] == "cancelled"
    after = await level(shop, "mozzarella")
    assert (after["on_hand"], after["available"]) == (before["on_hand"] - 4, 6)


async def test_a_declined_card_and_a_cancel_while_confirmed_release_what_was_reserved(shop: Stack) -> None:
    await leave_available(shop, "mozzarella", 8)

    declined = await shop.place(new_key(), payment_token="pm_card_chargeDeclined")
    assert_problem(declined, 402)
    assert (await level(shop, "mozzarella"))["available"] == 8

    order = await shop.placed()
    assert (await level(shop, "mozzarella"))["available"] == 4
    await shop.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    assert (await level(shop, "mozzarella"))["available"] == 8


async def test_a_count_below_what_orders_hold_is_taken_and_the_next_order_is_refused(shop: Stack) -> None:
    await leave_available(shop, "tomato_sauce", 4)
    order = await shop.placed()  # holds all 4
    held = (await level(shop, "tomato_sauce"))["reserved"]

    counted = await shop.http.put("/api/stock/tomato_sauce", json={"on_hand": held - 1}, headers=manager_headers())
    assert counted.status_code == 200, counted.text
    assert counted.json() == {
        "ingredient": "tomato_sauce", "tracked": True, "on_hand": held - 1, "reserved": held, "available": 0
    }  # fmt: skip
    refused = await shop.place()
    assert "not enough tomato_sauce in stock" in assert_problem(refused, 422)["detail"]
    await shop.http.post(f"/api/orders/{order['id']}/cancel", json={})
    assert (await level(shop, "tomato_sauce"))["available"] == held - 1


async def test_the_menu_follows_stock_and_a_managers_no_always_wins(shop: Stack) -> None:
    await count(shop, "olives", 0)
    assert (await menu_says(shop))["olives"] is False
    assert (await menu_says(shop))["vegetariana"] is False  # olives are in its recipe
    pizzas = (await shop.http.get("/api/menu/pizzas")).json()
    assert {p["name"]: p["available"] for p in pizzas}["vegetariana"] is False

    await count(shop, "olives", 1)  # restocked: one small vegetariana, or one topping
    assert (await menu_says(shop))["olives"] is True and (await menu_says(shop))["vegetariana"] is True

    off = await shop.http.put("/api/menu/toppings/olives", json={"available": False}, headers=manager_headers())
    assert off.status_code == 200
    assert (await menu_says(shop))["olives"] is False  # plenty of stock, but the manager said no
    await shop.http.put("/api/menu/toppings/olives", json={"available": True}, headers=manager_headers())
    await count(shop, "olives", None)
    assert (await menu_says(shop))["olives"] is True


async def test_metrics_show_what_is_left_of_each_tracked_ingredient(shop: Stack) -> None:
    await count(shop, "prosciutto", 7)
    await count(shop, "jalapenos", None)

    response = await shop.http.get("/metrics")
    samples = {
        sample.labels["ingredient"]: sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name == "pizzeria_stock_available"
        for sample in family.samples
    }
    assert samples["prosciutto"] == 7
    assert "jalapenos" not in samples
    tracked = {
        row["ingredient"]: row["available"]
        for row in (await shop.http.get("/api/stock", headers=kitchen_headers())).json()
        if row["tracked"]
    }
    assert samples == tracked
