"""A delivery order after the oven: a driver picks it up, delivers it or fails; its DeliveryWorkflow tells the story."""

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.order import OrderStatus, PaymentMethod
from tests.workflows.conftest import TOTAL, Pizzeria
from workflows.order_contract import (
    DELIVERY_OUTCOME,
    DISPATCH_LATE,
    ILLEGAL_TRANSITION,
    NOT_YOUR_DELIVERY,
    DeliveryEnd,
    DriverStep,
    KitchenStep,
    OrderStart,
    delivery_workflow_id,
    workflow_id,
)
from workflows.order_workflow import OrderWorkflow

PLACED_AND_COOKED = [
    "validate_order", "charge_payment", "save_order", "queue_in_kitchen", "notify_customer",  # confirmed
    "save_order", "save_order", "notify_customer",  # preparing, ready
]  # fmt: skip


async def ready_for_a_driver(pizzeria: Pizzeria, start: OrderStart | None = None) -> WorkflowHandle[Any, Any]:
    """A card delivery order, placed and cooked: ready, its delivery waiting for a driver."""
    handle, _ = await pizzeria.place(start)
    for status in (OrderStatus.PREPARING, OrderStatus.READY):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
    await pizzeria.until_history(handle, started_its_delivery, "the delivery started")
    return handle


def started_its_delivery(events: list[Any]) -> bool:
    return any(e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED for e in events)


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> tuple[str | None, str]:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type, cause.message


async def test_a_driver_picks_the_order_up_and_delivers_it_and_the_delivery_tells_its_own_story(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    order_id = handle.id.removeprefix("order-")

    out = await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino", notes="scooter 2"))
    assert out.status is OrderStatus.OUT_FOR_DELIVERY
    assert out.delivery is not None and out.delivery.driver == "gino"
    assert await pizzeria.order_status_attribute(handle) == "out_for_delivery"
    await pizzeria.eventually(lambda: len(pizzeria.activities.texts()) == 3, "the picked-up text")

    done = await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))
    assert done.status is OrderStatus.COMPLETED
    assert done.delivery is not None and done.delivery.delivered_at is not None
    result = await handle.result()

    assert result.status is OrderStatus.COMPLETED
    assert [(h.status, h.by, h.notes) for h in result.order.history[-3:]] == [
        (OrderStatus.READY, "luigi", None),
        (OrderStatus.OUT_FOR_DELIVERY, "gino", "scooter 2"),
        (OrderStatus.COMPLETED, "gino", None),
    ]
    calls = pizzeria.activities
    assert calls.names() == [*PLACED_AND_COOKED, "save_order", "notify_customer", "record_completion"]
    assert calls.saved_statuses()[-1] is OrderStatus.OUT_FOR_DELIVERY
    assert calls.args("record_completion")[0].delivery.driver == "gino"
    _confirmed, ready, picked_up = calls.texts()
    assert "out of the oven" in ready and "on its way" not in ready
    assert f"order {order_id[:8]} has left with our driver" in picked_up

    delivery = pizzeria.client.get_workflow_handle(delivery_workflow_id(order_id))
    described = await delivery.describe()
    assert (described.workflow_type, described.id) == ("DeliveryWorkflow", f"delivery-{order_id}")
    assert described.parent_id == workflow_id(order_id)
    assert described.status is WorkflowExecutionStatus.COMPLETED
    assert described.typed_search_attributes.get(DELIVERY_OUTCOME) == "delivered"
    assert described.typed_search_attributes.get(DISPATCH_LATE) is False
    assert (await pizzeria.client.get_workflow_handle(handle.id).describe()).typed_search_attributes.get(
        DELIVERY_OUTCOME
    ) == "delivered"
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in await pizzeria.history(delivery)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == ["picked_up", "delivered"]


async def test_a_failed_delivery_is_refunded_cancelled_by_the_driver_with_the_reason_and_the_customer_told(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))

    failed = await handle.execute_update(
        OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=False, reason="nobody at the door")
    )

    assert failed.status is OrderStatus.CANCELLED
    assert failed.payment.refund_id == f"re_{failed.id}"
    assert failed.delivery is not None and failed.delivery.failure == "nobody at the door"
    assert (failed.history[-1].by, failed.history[-1].notes) == ("gino", "nobody at the door")
    calls = pizzeria.activities
    # Only the card is undone: the order left the kitchen long ago.
    assert calls.names()[len(PLACED_AND_COOKED) :] == [
        "save_order", "notify_customer", "refund_payment", "record_cancellation", "notify_customer"
    ]  # fmt: skip
    assert calls.args("record_cancellation")[0].status is OrderStatus.CANCELLED
    assert "could not deliver" in calls.texts()[-1] and "refunded" in calls.texts()[-1]
    result = await handle.result()
    assert result.status is OrderStatus.CANCELLED
    assert await pizzeria.order_status_attribute(handle) == "cancelled"
    delivery = await pizzeria.client.get_workflow_handle(delivery_workflow_id(failed.id)).describe()
    assert delivery.status is WorkflowExecutionStatus.COMPLETED
    assert delivery.typed_search_attributes.get(DELIVERY_OUTCOME) == "failed"


async def test_only_the_driver_who_has_the_order_may_end_its_delivery_and_nobody_picks_it_up_twice(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))

    with pytest.raises(WorkflowUpdateFailedError) as taken:
        await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="tony"))
    with pytest.raises(WorkflowUpdateFailedError) as not_yours:
        await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="tony", delivered=True))

    assert refusal(taken)[0] == ILLEGAL_TRANSITION
    assert refusal(not_yours) == (NOT_YOUR_DELIVERY, "driver gino has this delivery")
    order = await handle.query(OrderWorkflow.order)
    assert (order.status, order.delivery.driver) == (OrderStatus.OUT_FOR_DELIVERY, "gino")
    done = await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))
    assert done.status is OrderStatus.COMPLETED


async def test_two_drivers_racing_for_one_order_one_gets_it_the_other_is_refused(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    import asyncio

    answers = await asyncio.gather(
        *(handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver=name)) for name in ("gino", "tony")),
        return_exceptions=True,
    )

    won = [answer for answer in answers if not isinstance(answer, BaseException)]
    lost = [answer for answer in answers if isinstance(answer, WorkflowUpdateFailedError)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].cause.type == ILLEGAL_TRANSITION
    assert (await handle.query(OrderWorkflow.order)).delivery.driver == won[0].delivery.driver


async def test_a_pickup_order_is_never_picked_up_by_a_driver(pizzeria):
    handle, _ = await pizzeria.place(pizzeria.order(PaymentMethod.CASH))
    for status in (OrderStatus.PREPARING, OrderStatus.READY):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))

    assert refusal(refused) == (
        ILLEGAL_TRANSITION,
        "an order that is ready cannot become out_for_delivery: a pickup order is not delivered",
    )
    assert (await handle.query(OrderWorkflow.order)).status is OrderStatus.READY


async def test_an_order_not_ready_yet_is_not_picked_up_nor_delivered(pizzeria):
    handle, _ = await pizzeria.place()

    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))
    with pytest.raises(WorkflowUpdateFailedError) as not_out:
        await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))

    assert refusal(early) == (ILLEGAL_TRANSITION, "an order that is confirmed cannot become out_for_delivery")
    assert refusal(not_out)[0] == ILLEGAL_TRANSITION
    assert (await handle.query(OrderWorkflow.order)).status is OrderStatus.CONFIRMED


async def test_the_kitchen_completing_a_delivery_order_from_ready_ends_its_delivery_with_nothing_pending(pizzeria):
    handle = await ready_for_a_driver(pizzeria)

    done = await handle.execute_update(
        OrderWorkflow.change_status, KitchenStep(status=OrderStatus.COMPLETED, by="mario", notes="customer came by")
    )
    assert done.status is OrderStatus.COMPLETED and done.delivery is None
    result = await handle.result()

    assert result.status is OrderStatus.COMPLETED
    delivery = await pizzeria.client.get_workflow_handle(delivery_workflow_id(done.id)).describe()
    assert delivery.status is WorkflowExecutionStatus.COMPLETED
    assert delivery.typed_search_attributes.get(DELIVERY_OUTCOME) == "handed_over"
    assert pizzeria.activities.names() == [*PLACED_AND_COOKED, "record_completion"]
    assert result.order.total == TOTAL
