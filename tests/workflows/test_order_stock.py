"""Stock in the saga: reserved before the charge, refused when short, released by every undo, consumed at
preparing. The stand-in store here tracks what a test sets in `activities.stock`; tests/activities and tests/api
run the real one."""

import asyncio

from domain.order import OrderStatus
from tests.workflows.conftest import PATIENCE, Pizzeria
from workflows.order_contract import CancelRequest, KitchenStep
from workflows.order_workflow import OrderWorkflow

# The test order (2 x large margherita with basil, 1 x small diavola) needs 5 portions of mozzarella.
SHORT = "not enough mozzarella in stock: 5 portion(s) needed, 4 left"


async def _cancel(handle) -> None:
    answer = await handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by="ada", notes="no longer hungry"))
    assert answer.status is OrderStatus.CANCELLED


async def test_an_order_short_of_a_tracked_ingredient_is_refused_as_invalid_before_any_charge(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"mozzarella": 4}

    handle, placed = await pizzeria.place()

    assert placed.rejection is not None
    assert (placed.rejection.kind, placed.rejection.detail) == ("invalid", SHORT)
    assert placed.status is OrderStatus.REJECTED
    last = placed.order.history[-1]
    assert (last.status, last.by, last.notes) == (OrderStatus.REJECTED, "stock", SHORT)
    assert pizzeria.activities.names() == ["validate_order", "reserve_stock", "record_rejection"]
    assert (await handle.result()).status is OrderStatus.REJECTED
    assert await pizzeria.order_status_attribute(handle) == "rejected"


async def test_a_declined_card_releases_the_stock_the_order_reserved(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"mozzarella": 5}
    pizzeria.activities.decline_code = "card_declined"
    start = pizzeria.order()

    _, placed = await pizzeria.place(start)

    assert placed.status is OrderStatus.REJECTED and placed.rejection.kind == "declined"
    assert pizzeria.activities.names() == [
        "validate_order", "reserve_stock", "charge_payment", "release_stock", "record_rejection"
    ]  # fmt: skip
    assert pizzeria.activities.args("release_stock")[0].order_id == start.order_id


async def test_a_cancel_while_received_refunds_then_releases(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"mozzarella": 9}
    pizzeria.activities.hold("charge_payment")
    handle = await pizzeria.start()
    await pizzeria.activities.until_holding()
    await handle.signal("cancel", {"by": "ada"})
    await pizzeria.handled(handle, signals=1)
    pizzeria.activities.let_go()

    assert (await handle.result()).status is OrderStatus.CANCELLED
    assert pizzeria.activities.names() == [
        "validate_order", "reserve_stock", "charge_payment", "refund_payment", "release_stock",
        "record_cancellation", "notify_customer",
    ]  # fmt: skip


async def test_a_cancel_while_confirmed_releases_the_stock_after_the_refund(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"mozzarella": 5, "basil": 4}
    handle, _ = await pizzeria.place()
    before = len(pizzeria.activities.calls)

    await _cancel(handle)

    assert pizzeria.activities.names()[before:] == [
        "remove_from_kitchen", "refund_payment", "release_stock", "record_cancellation", "notify_customer"
    ]  # fmt: skip


async def test_preparing_consumes_the_stock_and_a_later_cancel_gives_nothing_back(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"mozzarella": 5}
    start = pizzeria.order()
    handle, _ = await pizzeria.place(start)
    before = len(pizzeria.activities.calls)

    await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=OrderStatus.PREPARING, by="luigi"))
    await pizzeria.eventually(lambda: "consume_stock" in pizzeria.activities.names(), "the stock consumed")
    await _cancel(handle)

    names = pizzeria.activities.names()[before:]
    assert names == [
        "consume_stock", "save_order", "remove_from_kitchen", "refund_payment", "record_cancellation",
        "notify_customer",
    ]  # fmt: skip
    assert pizzeria.activities.args("consume_stock")[0].order_id == start.order_id


async def test_an_order_with_nothing_tracked_neither_consumes_nor_releases(pizzeria: Pizzeria):
    pizzeria.activities.stock = {"pineapple": 0}  # tracked, but not in this order
    handle, _ = await pizzeria.place()
    await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=OrderStatus.PREPARING, by="luigi"))
    await _cancel(handle)

    names = pizzeria.activities.names()
    assert "consume_stock" not in names and "release_stock" not in names
    assert pizzeria.activities.args("reserve_stock")  # asked all the same: the store knows what is tracked


async def test_a_continued_order_still_releases_its_stock_when_cancelled(pizzeria_on_real_server: Pizzeria):
    pizzeria = pizzeria_on_real_server
    pizzeria.activities.stock = {"mozzarella": 5}
    start = pizzeria.order().model_copy(update={"continue_after_events": 100})
    handle, _ = await pizzeria.place(start)
    while len(await pizzeria.runs(handle)) < 2:
        for _ in range(25):
            await handle.signal("mark_completed", {"by": "flood"})  # refused while confirmed
        await asyncio.sleep(0.05)
    before = len(pizzeria.activities.calls)

    await asyncio.wait_for(_cancel(handle), PATIENCE)

    assert pizzeria.activities.names()[before:] == [
        "remove_from_kitchen", "refund_payment", "release_stock", "record_cancellation", "notify_customer"
    ]  # fmt: skip


async def test_signals_that_take_the_order_from_confirmed_to_completed_at_once_still_consume_its_stock(
    pizzeria: Pizzeria,
):
    pizzeria.activities.stock = {"mozzarella": 5}
    handle, _ = await pizzeria.place()

    for signal in ("mark_preparing", "mark_ready", "mark_completed"):  # ops, with the CLI, one after the other
        await handle.signal(signal, {"by": "ops"})

    assert (await handle.result()).status is OrderStatus.COMPLETED
    names = pizzeria.activities.names()
    assert names.count("consume_stock") == 1 and "release_stock" not in names
