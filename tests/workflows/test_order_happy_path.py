"""An order that goes all the way: placed, paid, cooked, handed over."""

from decimal import Decimal

from temporalio.client import WorkflowExecutionStatus
from temporalio.common import TypedSearchAttributes

from domain.order import Order, OrderStatus, PaymentMethod
from tests.api.conftest import eventually
from tests.workflows.conftest import TOTAL
from workflows.order_contract import FULFILMENT, ORDER_STATUS, ORDER_TOTAL, PAYMENT_METHOD, KitchenStep, workflow_id
from workflows.order_workflow import OrderWorkflow

# A delivery order completed by the kitchen from ready: 45 before deliveries had a workflow of their own; starting
# that child, telling it the order was handed over and waiting for its end add 16 (a pickup order has none of it).
MAX_HAPPY_PATH_EVENTS = 57


async def test_an_order_placed_cooked_and_collected_ends_completed_and_tells_the_story(pizzeria):
    start = pizzeria.order()
    handle, placed = await pizzeria.place(start)

    assert placed.rejection is None
    assert placed.order is not None
    assert placed.order.status is OrderStatus.CONFIRMED
    assert placed.order.total == TOTAL
    assert placed.order.payment.transaction_id == f"pi_{start.order_id}"
    assert placed.fingerprint == start.request.fingerprint()
    assert await pizzeria.order_status_attribute(handle) == "confirmed"

    for status, by, notes in [
        (OrderStatus.PREPARING, "luigi", "in the oven"),
        (OrderStatus.READY, "luigi", None),
    ]:
        order = await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by=by, notes=notes))
        assert order.status is status
        assert await pizzeria.order_status_attribute(handle) == status.value
    completed = await handle.execute_update(
        OrderWorkflow.change_status, KitchenStep(status=OrderStatus.COMPLETED, by="mario", notes="handed over")
    )
    assert completed.status is OrderStatus.COMPLETED

    result = await handle.result()
    assert result.status is OrderStatus.COMPLETED
    assert result.rejection is None and result.failure is None
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    assert await pizzeria.order_status_attribute(handle) == "completed"

    calls = pizzeria.activities
    assert calls.names() == [
        "validate_order",
        "charge_payment",
        "save_order",
        "queue_in_kitchen",
        "notify_customer",
        "save_order",
        "save_order",
        "notify_customer",
        "record_completion",
    ]
    assert calls.saved_statuses() == [
        OrderStatus.CONFIRMED,
        OrderStatus.PREPARING,
        OrderStatus.READY,
    ]
    charge = calls.args("charge_payment")[0]
    assert (charge.order_id, charge.amount, charge.payment_token) == (start.order_id, TOTAL, "pm_card_visa")
    assert calls.args("queue_in_kitchen")[0].order_id == start.order_id
    confirmation, ready = calls.args("notify_customer")
    assert confirmation.phone == "+15551234567"
    assert f"order {start.order_id[:8]} confirmed" in confirmation.text
    assert f"${TOTAL}" in confirmation.text
    assert start.order_id[:8] in ready.text and "out of the oven" in ready.text
    assert calls.args("record_completion")[0].status is OrderStatus.COMPLETED

    order: Order = await handle.query(OrderWorkflow.order)
    assert order.status is OrderStatus.COMPLETED
    assert [(h.status, h.by, h.notes) for h in order.history] == [
        (OrderStatus.RECEIVED, "system", None),
        (OrderStatus.CONFIRMED, "system", None),
        (OrderStatus.PREPARING, "luigi", "in the oven"),
        (OrderStatus.READY, "luigi", None),
        (OrderStatus.COMPLETED, "mario", "handed over"),
    ]
    assert all(h.at.tzinfo is not None for h in order.history)
    assert order.estimated_ready_at is not None and order.placed_at is not None

    events = await pizzeria.history(handle)
    print(f"happy-path history: {len(events)} events")
    assert len(events) <= MAX_HAPPY_PATH_EVENTS


async def test_the_order_status_attribute_follows_each_step_as_ops_would_list_it(pizzeria):
    handle, _ = await pizzeria.place()
    seen = [await pizzeria.order_status_attribute(handle)]
    for status in (OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
        seen.append(await pizzeria.order_status_attribute(handle))
    await handle.result()
    assert seen == ["confirmed", "preparing", "ready", "completed"]


async def test_an_order_started_by_hand_in_temporal_sets_every_search_attribute_itself(pizzeria):
    start = pizzeria.order(PaymentMethod.CASH)
    handle = await pizzeria.client.start_workflow(
        OrderWorkflow.run, start, id=workflow_id(start.order_id), task_queue=pizzeria.task_queue
    )
    pizzeria.handles.append(handle)

    async def attributes() -> TypedSearchAttributes | None:
        found = (await handle.describe()).typed_search_attributes
        return found if found.get(ORDER_STATUS) == "confirmed" else None

    found = await eventually(attributes)
    assert (found.get(FULFILMENT), found.get(PAYMENT_METHOD)) == ("pickup", "cash")
    assert Decimal(str(found.get(ORDER_TOTAL))) == (await handle.query(OrderWorkflow.order)).total


async def test_kitchen_signals_move_the_order_along_and_name_who_did_it(pizzeria):
    handle, _ = await pizzeria.place()
    await handle.signal("mark_preparing", {"by": "luigi", "notes": "two margheritas first"})
    await handle.signal("mark_ready")
    await handle.signal("mark_completed", {"by": "mario"})

    result = await handle.result()

    assert result.status is OrderStatus.COMPLETED
    assert [(h.status, h.by, h.notes) for h in result.order.history[2:]] == [
        (OrderStatus.PREPARING, "luigi", "two margheritas first"),
        (OrderStatus.READY, "kitchen", None),
        (OrderStatus.COMPLETED, "mario", None),
    ]
    assert await pizzeria.order_status_attribute(handle) == "completed"
    assert pizzeria.activities.names()[-1] == "record_completion"
    assert len(pizzeria.activities.texts()) == 2  # confirmed, ready


async def test_cash_orders_are_never_charged_nor_refunded(pizzeria):
    start = pizzeria.order(PaymentMethod.CASH)
    handle, placed = await pizzeria.place(start)
    assert placed.order.status is OrderStatus.CONFIRMED
    assert placed.order.payment.transaction_id is None
    for status in (OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))

    result = await handle.result()

    assert result.status is OrderStatus.COMPLETED
    names = pizzeria.activities.names()
    assert "charge_payment" not in names and "refund_payment" not in names
    assert names[:4] == ["validate_order", "save_order", "queue_in_kitchen", "notify_customer"]
    assert "ready for pickup" in pizzeria.activities.texts()[-1]


async def test_a_text_that_cannot_be_sent_is_tried_once_noted_on_the_order_and_the_order_goes_on(pizzeria):
    pizzeria.activities.failing_texts = "Twilio answered 500 (code 20500): An internal server error has occurred"

    handle, placed = await pizzeria.place()

    assert placed.status is OrderStatus.CONFIRMED
    await pizzeria.eventually(lambda: len(pizzeria.activities.texts()) == 1, "the confirmation text tried")
    for signal in ("mark_preparing", "mark_ready", "mark_completed"):
        await handle.signal(signal, {"by": "luigi"})
    result = await handle.result()
    assert result.status is OrderStatus.COMPLETED
    # Each note stands in the history under the status the order had when the text was given up.
    notes = [h.notes for h in result.order.history if h.by == "notifier"]
    assert notes == [
        "confirmation text not sent: " + pizzeria.activities.failing_texts,
        "ready text not sent: " + pizzeria.activities.failing_texts,
    ]
    assert next(h.status for h in result.order.history if h.by == "notifier") is OrderStatus.CONFIRMED
    assert len(pizzeria.activities.texts()) == 2  # one try each: the notifier does its own quick retries
