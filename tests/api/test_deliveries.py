"""Drivers through the whole stack: HTTP, Temporal, the worker and the database (SQLite, or PostgreSQL with
PIZZERIA_TEST_DATABASE=postgresql). A driver takes a ready delivery order out and delivers it or fails it;
ops do the same with signals on the order."""

import asyncio
from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from domain.messages import delivery_failed_text, dispatch_late_text, picked_up_text
from domain.order import Order
from tests.api.conftest import assert_problem, eventually, get_order, move_ok, workflow_finished
from tests.conftest import Stack, running_stack, staff_headers
from workflows.order_contract import (
    DISPATCH_LATE,
    SIGNAL_MARK_DELIVERED,
    SIGNAL_MARK_DELIVERY_FAILED,
    SIGNAL_MARK_PICKED_UP,
    delivery_workflow_id,
    workflow_id,
)

ORDER = TypeAdapter(Order)
TOAD, YOSHI = staff_headers("driver", sub="toad"), staff_headers("driver", sub="yoshi")


def statuses(order: dict) -> list[str]:
    return [change["status"] for change in order["history"]]


def refunds_for(stack: Stack, order_id: str) -> list[tuple[str, Decimal]]:
    return [refund for refund in stack.payments.refunds if refund[0] == order_id]


async def ready_order(stack: Stack, **changes: object) -> dict:
    """A delivery order (unless changed) the kitchen made ready."""
    order = await stack.placed(**changes)
    await move_ok(stack, order["id"], "preparing")
    return await move_ok(stack, order["id"], "ready")


async def step(stack: Stack, order_id: str, name: str, headers: dict[str, str], reason: str | None = None):
    body = {"reason": reason} if name == "failed" else None
    return await stack.http.post(f"/api/deliveries/{order_id}/{name}", json=body, headers=headers)


async def step_ok(stack: Stack, order_id: str, name: str, headers: dict[str, str], reason: str | None = None) -> dict:
    response = await step(stack, order_id, name, headers, reason)
    assert response.status_code == 200, response.text
    return response.json()


async def listed(stack: Stack, headers: dict[str, str]) -> list[dict]:
    response = await stack.http.get("/api/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def listed_ids(stack: Stack, headers: dict[str, str], among: set[str]) -> list[str]:
    """The ids of the driver's list that are among these (other tests' orders share the database)."""
    return [order["id"] for order in await listed(stack, headers) if order["id"] in among]


async def until_status(stack: Stack, order_id: str, status: str) -> dict:
    async def reached() -> dict | None:
        order = await get_order(stack, order_id)
        return order if order["status"] == status else None

    return await eventually(reached)


# --- the delivery field ---------------------------------------------------------------------


async def test_an_order_shows_no_delivery_until_a_driver_picks_it_up_and_a_pickup_order_never_does(stack):
    delivery = await ready_order(stack)
    pickup = await ready_order(stack, fulfilment="pickup", customer_address=None)

    assert (await get_order(stack, delivery["id"]))["delivery"] is None
    assert (await get_order(stack, pickup["id"]))["delivery"] is None
    await move_ok(stack, pickup["id"], "completed")
    await workflow_finished(stack, pickup["id"])
    assert (await get_order(stack, pickup["id"]))["delivery"] is None


# --- the whole way --------------------------------------------------------------------------


async def test_a_driver_sees_a_ready_order_takes_it_out_and_delivers_it(stack):
    order = await ready_order(stack)
    order_id = order["id"]

    async def waiting_for_a_driver() -> bool:
        return order_id in await listed_ids(stack, TOAD, {order_id})

    await eventually(waiting_for_a_driver)

    picked = await step_ok(stack, order_id, "pickup", TOAD)
    assert picked["status"] == "out_for_delivery"
    assert picked["delivery"]["driver"] == "toad"
    assert picked["delivery"]["picked_up_at"] and picked["delivery"]["delivered_at"] is None
    assert picked["history"][-1]["by"] == "toad"
    read = await get_order(stack, order_id)
    assert (read["status"], read["delivery"]) == ("out_for_delivery", picked["delivery"])

    delivered = await step_ok(stack, order_id, "delivered", TOAD)
    assert delivered["status"] == "completed"
    assert delivered["delivery"]["driver"] == "toad"
    assert delivered["delivery"]["delivered_at"] >= delivered["delivery"]["picked_up_at"]
    assert delivered["delivery"]["failure"] is None
    assert statuses(delivered)[-3:] == ["ready", "out_for_delivery", "completed"]
    await workflow_finished(stack, order_id)
    final = await get_order(stack, order_id)
    assert final["status"] == "completed" and final["delivery"] == delivered["delivery"]
    assert refunds_for(stack, order_id) == []

    texts = stack.texts.texts_for(order_id)
    assert picked_up_text(ORDER.validate_python(picked)) in texts


async def test_another_driver_can_neither_take_nor_end_a_delivery_that_is_not_theirs(stack):
    order_id = (await ready_order(stack))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)

    taken = assert_problem(await step(stack, order_id, "pickup", YOSHI), 409)
    not_theirs = assert_problem(await step(stack, order_id, "delivered", YOSHI), 403)
    not_theirs_to_fail = assert_problem(await step(stack, order_id, "failed", YOSHI, "lost"), 403)

    assert "out_for_delivery" in taken["detail"]
    assert not_theirs["order_id"] == order_id and "toad" in not_theirs["detail"]
    assert not_theirs_to_fail["type"] == "/problems/another-drivers-delivery"
    read = await get_order(stack, order_id)
    assert (read["status"], read["delivery"]["driver"]) == ("out_for_delivery", "toad")
    assert (await step_ok(stack, order_id, "delivered", TOAD))["status"] == "completed"


async def test_a_failed_delivery_is_cancelled_refunded_and_the_customer_told_at_pickup_and_at_failure(stack):
    order = await ready_order(stack)
    order_id = order["id"]
    picked = await step_ok(stack, order_id, "pickup", TOAD)

    failed = await step_ok(stack, order_id, "failed", TOAD, "nobody answered the door")

    assert failed["status"] == "cancelled"
    assert failed["delivery"]["failure"] == "nobody answered the door"
    assert failed["delivery"]["delivered_at"] is None
    assert failed["payment"]["refund_id"]
    assert refunds_for(stack, order_id) == [(order_id, Decimal(order["total"]))]
    assert statuses(failed)[-2:] == ["out_for_delivery", "cancelled"]
    await workflow_finished(stack, order_id)
    assert (await get_order(stack, order_id))["status"] == "cancelled"

    async def told() -> list[str] | None:
        texts = stack.texts.texts_for(order_id)
        return texts if delivery_failed_text(ORDER.validate_python(failed)) in texts else None

    texts = await eventually(told)
    assert picked_up_text(ORDER.validate_python(picked)) in texts
    assert texts[-1] == delivery_failed_text(ORDER.validate_python(failed))
    assert sum("cancelled" in text for text in texts) == 1  # one text says so, not two


async def test_a_cash_order_whose_delivery_failed_is_cancelled_with_nothing_to_refund(stack):
    order_id = (await ready_order(stack, payment_method="cash", payment_token=None))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)

    failed = await step_ok(stack, order_id, "failed", TOAD, "wrong address")

    assert failed["status"] == "cancelled"
    assert failed["payment"]["refund_id"] is None
    assert refunds_for(stack, order_id) == []


async def test_a_reason_is_kept_exactly_as_the_driver_wrote_it(stack):
    order_id = (await ready_order(stack))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)
    reason = "  Cane alla porta 🐕\n\tnon apro!  " + "é" * 468  # 500 code points, line breaks and all

    failed = await step_ok(stack, order_id, "failed", TOAD, reason)

    assert failed["delivery"]["failure"] == reason
    await workflow_finished(stack, order_id)
    assert (await get_order(stack, order_id))["delivery"]["failure"] == reason


async def test_two_drivers_racing_for_one_order_one_gets_it_and_the_other_a_409(stack):
    order_id = (await ready_order(stack))["id"]

    answers = await asyncio.gather(step(stack, order_id, "pickup", TOAD), step(stack, order_id, "pickup", YOSHI))

    assert sorted(answer.status_code for answer in answers) == [200, 409], [a.text for a in answers]
    [winner] = [answer.json()["delivery"]["driver"] for answer in answers if answer.status_code == 200]
    read = await get_order(stack, order_id)
    assert read["delivery"]["driver"] == winner
    assert statuses(read).count("out_for_delivery") == 1


async def test_the_driver_who_has_it_may_fail_it_only_once_and_then_not_deliver_it(stack):
    order_id = (await ready_order(stack))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)
    await step_ok(stack, order_id, "failed", TOAD, "flat tyre")

    again = assert_problem(await step(stack, order_id, "failed", TOAD, "flat tyre"), 409)
    delivered = assert_problem(await step(stack, order_id, "delivered", TOAD), 409)

    assert "cancelled" in again["detail"] and "cancelled" in delivered["detail"]


# --- what a driver may not take ---------------------------------------------------------------


async def test_a_pickup_order_is_never_taken_by_a_driver(stack):
    order_id = (await ready_order(stack, fulfilment="pickup", customer_address=None))["id"]

    problem = assert_problem(await step(stack, order_id, "pickup", TOAD), 409)

    assert "pickup order" in problem["detail"]
    assert order_id not in await listed_ids(stack, TOAD, {order_id})
    assert (await get_order(stack, order_id))["status"] == "ready"


@pytest.mark.parametrize("kitchen_steps", [(), ("preparing",)])
async def test_a_delivery_order_the_kitchen_has_not_made_ready_cannot_be_taken(stack, kitchen_steps):
    order_id = (await stack.placed())["id"]
    for status in kitchen_steps:
        await move_ok(stack, order_id, status)

    problem = assert_problem(await step(stack, order_id, "pickup", TOAD), 409)

    status = kitchen_steps[-1] if kitchen_steps else "confirmed"
    assert problem["detail"].startswith(f"an order that is {status} cannot")
    assert (await get_order(stack, order_id))["status"] == status


async def test_delivered_or_failed_before_anyone_picked_it_up_is_a_409(stack):
    order_id = (await ready_order(stack))["id"]

    assert_problem(await step(stack, order_id, "delivered", TOAD), 409)
    assert_problem(await step(stack, order_id, "failed", TOAD, "lost"), 409)

    read = await get_order(stack, order_id)
    assert (read["status"], read["delivery"]) == ("ready", None)


async def test_the_kitchen_may_still_complete_a_ready_delivery_order_and_it_leaves_the_drivers_list(stack):
    order_id = (await ready_order(stack))["id"]

    async def waiting_for_a_driver() -> bool:
        return order_id in await listed_ids(stack, TOAD, {order_id})

    await eventually(waiting_for_a_driver)

    await move_ok(stack, order_id, "completed")
    await workflow_finished(stack, order_id)

    assert order_id not in await listed_ids(stack, TOAD, {order_id})
    assert (await get_order(stack, order_id))["delivery"] is None
    assert_problem(await step(stack, order_id, "pickup", TOAD), 409)


async def test_the_kitchen_cannot_complete_an_order_a_driver_has(stack):
    order_id = (await ready_order(stack))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)

    assert_problem(await stack.move(order_id, "completed"), 409)

    assert (await get_order(stack, order_id))["status"] == "out_for_delivery"


# --- the list ---------------------------------------------------------------------------------


async def test_the_list_shows_ready_orders_oldest_first_then_only_the_drivers_own_on_the_road(stack):
    first, second, toads, yoshis = [(await ready_order(stack))["id"] for _ in range(4)]
    ours = {first, second, toads, yoshis}
    await step_ok(stack, toads, "pickup", TOAD)
    await step_ok(stack, yoshis, "pickup", YOSHI)

    async def settled() -> list[dict] | None:
        shown = [order for order in await listed(stack, TOAD) if order["id"] in ours]
        return shown if [order["id"] for order in shown] == [first, second, toads] else None

    shown = await eventually(settled)

    assert [order["status"] for order in shown] == ["ready", "ready", "out_for_delivery"]
    assert shown[2]["delivery"]["driver"] == "toad"
    assert await listed_ids(stack, YOSHI, ours) == [first, second, yoshis]
    mario = await listed_ids(stack, staff_headers("manager", sub="mario"), ours)
    assert mario == [first, second]  # a manager sees what waits; no order is out with "mario"


async def test_an_order_that_is_out_leaves_everyone_elses_list(stack):
    order_id = (await ready_order(stack))["id"]
    await step_ok(stack, order_id, "pickup", TOAD)

    async def gone_for_yoshi() -> bool:
        return order_id not in await listed_ids(stack, YOSHI, {order_id})

    assert await eventually(gone_for_yoshi)


# --- ops, through signals on the order --------------------------------------------------------


async def test_ops_take_an_order_out_and_deliver_it_with_signals_on_the_order(stack):
    order_id = (await ready_order(stack))["id"]
    handle = stack.client.get_workflow_handle(workflow_id(order_id))

    await handle.signal(SIGNAL_MARK_PICKED_UP, {"by": "toad", "notes": "radioed in"})
    out = await until_status(stack, order_id, "out_for_delivery")
    assert out["delivery"]["driver"] == "toad"
    assert out["history"][-1]["notes"] == "radioed in"

    await handle.signal(SIGNAL_MARK_DELIVERED, {"by": "ops"})
    done = await until_status(stack, order_id, "completed")
    assert done["delivery"]["delivered_at"]
    await workflow_finished(stack, order_id)


async def test_ops_fail_a_delivery_with_a_signal_and_the_card_is_refunded(stack):
    order = await ready_order(stack)
    order_id = order["id"]
    handle = stack.client.get_workflow_handle(workflow_id(order_id))
    await step_ok(stack, order_id, "pickup", TOAD)

    await handle.signal(SIGNAL_MARK_DELIVERY_FAILED, {"by": "ops", "notes": "the van broke down"})

    cancelled = await until_status(stack, order_id, "cancelled")
    assert cancelled["delivery"]["failure"] == "the van broke down"
    assert cancelled["payment"]["refund_id"]
    assert refunds_for(stack, order_id) == [(order_id, Decimal(order["total"]))]


async def test_a_delivery_signal_the_order_does_not_allow_now_changes_nothing(stack):
    order_id = (await ready_order(stack))["id"]
    pickup_id = (await ready_order(stack, fulfilment="pickup", customer_address=None))["id"]
    handle = stack.client.get_workflow_handle(workflow_id(order_id))

    await handle.signal(SIGNAL_MARK_DELIVERED, {"by": "ops"})  # nobody has picked it up
    await handle.signal(SIGNAL_MARK_DELIVERY_FAILED, {"by": "ops", "notes": "?"})
    await stack.client.get_workflow_handle(workflow_id(pickup_id)).signal(SIGNAL_MARK_PICKED_UP, {"by": "toad"})
    # The order goes on as if those never came: a driver still takes it and delivers it.
    await step_ok(stack, order_id, "pickup", YOSHI)
    assert (await step_ok(stack, order_id, "delivered", YOSHI))["status"] == "completed"

    pickup = await get_order(stack, pickup_id)
    assert (pickup["status"], pickup["delivery"]) == ("ready", None)
    assert (await move_ok(stack, pickup_id, "completed"))["delivery"] is None


async def test_the_pickup_promise_of_the_settings_flags_a_late_dispatch_once_and_a_driver_still_delivers(
    temporal_env, new_database
):
    async with running_stack(temporal_env, new_database(), delivery_pickup_sla_seconds=1) as shop:
        order = await ready_order(shop)
        delivery = shop.client.get_workflow_handle(delivery_workflow_id(order["id"]))

        async def flagged() -> bool:
            return (await delivery.describe()).typed_search_attributes.get(DISPATCH_LATE) is True

        await eventually(flagged)  # past the 1 s promise
        late = dispatch_late_text(ORDER.validate_python(order))

        async def told() -> bool:
            return late in [text for _, text in shop.texts.sent]

        await eventually(told)
        await asyncio.sleep(1.5)  # the promise passed long ago: still one text
        assert [text for _, text in shop.texts.sent].count(late) == 1

        await step_ok(shop, order["id"], "pickup", TOAD)
        delivered = await step_ok(shop, order["id"], "delivered", TOAD)
        assert delivered["status"] == "completed" and delivered["delivery"]["driver"] == "toad"
