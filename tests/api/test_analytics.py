"""The manager's revenue of a UTC day."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.api.conftest import (
    assert_problem,
    completed_order,
    eventually,
    kitchen_headers,
    manager_headers,
    money,
    revenue,
    workflow_finished,
)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def test_completing_an_order_adds_exactly_its_total_to_the_days_revenue(stack):
    day = today()
    before = await revenue(stack, day)

    order = await completed_order(
        stack, pizzas=[{"name": "quattro_formaggi", "size": "medium", "toppings": ["prosciutto"], "quantity": 3}]
    )

    async def counted():
        after = await revenue(stack, day)
        return after if after["orders_completed"] > before["orders_completed"] else None

    after = await eventually(counted)
    assert after["date"] == day
    assert after["orders_completed"] == before["orders_completed"] + 1
    assert money(after["revenue"]) - money(before["revenue"]) == money(order["total"])
    assert after["orders_cancelled"] == before["orders_cancelled"]


async def test_an_order_that_is_ready_but_not_completed_is_not_yet_revenue(stack):
    day = today()
    order = await stack.placed()
    before = await revenue(stack, day)
    for status in ("preparing", "ready"):
        assert (await stack.move(order["id"], status)).status_code == 200

    after = await revenue(stack, day)

    assert after["orders_completed"] == before["orders_completed"]
    assert after["revenue"] == before["revenue"]


async def test_cancelling_an_order_counts_one_cancellation_and_no_revenue(stack):
    day = today()
    order = await stack.placed()
    before = await revenue(stack, day)

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 200, response.text
    await workflow_finished(stack, order["id"])

    async def counted():
        after = await revenue(stack, day)
        return after if after["orders_cancelled"] > before["orders_cancelled"] else None

    after = await eventually(counted)
    assert after["orders_cancelled"] == before["orders_cancelled"] + 1
    assert after["orders_completed"] == before["orders_completed"]
    assert after["revenue"] == before["revenue"]


async def test_a_rejected_order_is_neither_revenue_nor_a_cancellation(stack):
    day = today()
    before = await revenue(stack, day)

    problem = assert_problem(await stack.place(payment_token="pm_card_chargeDeclined"), 402)
    await workflow_finished(stack, problem["order_id"])

    after = await revenue(stack, day)
    assert (after["orders_completed"], after["orders_cancelled"], after["revenue"]) == (
        before["orders_completed"],
        before["orders_cancelled"],
        before["revenue"],
    )


async def test_a_day_without_orders_has_zero_revenue(stack):
    response = await stack.http.get("/api/analytics/revenue", params={"date": "2001-02-03"}, headers=manager_headers())

    assert response.status_code == 200, response.text
    assert response.json() == {"date": "2001-02-03", "orders_completed": 0, "orders_cancelled": 0, "revenue": "0.00"}


async def test_revenue_without_a_date_is_todays(stack):
    response = await stack.http.get("/api/analytics/revenue", headers=manager_headers())

    assert response.status_code == 200, response.text
    assert response.json()["date"] == today()


async def test_revenue_is_money_with_two_places(stack):
    report = await revenue(stack, today())

    assert money(report["revenue"]) >= Decimal("0.00")


@pytest.mark.parametrize("day", ["yesterday", "2024-13-01", "2024-02-30", "20240101", ""])
async def test_a_date_that_is_not_a_calendar_day_is_a_422(stack, day):
    response = await stack.http.get("/api/analytics/revenue", params={"date": day}, headers=manager_headers())

    assert "date" in assert_problem(response, 422)["detail"]


async def test_the_kitchen_may_not_see_the_revenue(stack):
    response = await stack.http.get("/api/analytics/revenue", params={"date": today()}, headers=kitchen_headers())

    assert_problem(response, 403)
