"""A delivery order after the oven: a driver picks it up, delivers it or fails; its DeliveryWorkflow tells the story."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Worker

from domain.order import OrderStatus, PaymentMethod
from tests.workflows.conftest import TOTAL, Pizzeria, StandIns, _task_done_after, open_pizzeria
from workflows.delivery_workflow import DeliveryWorkflow
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
    "validate_order", "reserve_stock", "charge_payment",
    "save_order", "queue_in_kitchen", "notify_customer",  # confirmed
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


def texts_of(pizzeria: Pizzeria, words: str) -> list[str]:
    return [text for text in pizzeria.activities.texts() if words in text]


async def test_ops_signals_pick_up_and_deliver_and_the_ones_not_allowed_now_change_nothing(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    await handle.signal("mark_delivered", {"by": "gino"})  # not out for delivery yet
    await handle.signal("mark_delivery_failed", {"notes": "no such street"})  # nor this
    await handle.signal("mark_picked_up", {"by": "gino", "notes": "took it by phone"})
    await handle.signal("mark_picked_up", {"by": "tony"})  # gino has it
    await handle.signal("mark_picked_up", {"by": "tony", "station": "door"})  # a note the order cannot keep
    await pizzeria.handled(handle, 5)
    order = await handle.query(OrderWorkflow.order)
    assert (order.status, order.delivery.driver, order.delivery.failure) == (OrderStatus.OUT_FOR_DELIVERY, "gino", None)

    await handle.signal("mark_delivered")
    result = await handle.result()

    assert [(h.status, h.by, h.notes) for h in result.order.history[-3:]] == [
        (OrderStatus.READY, "luigi", None),
        (OrderStatus.OUT_FOR_DELIVERY, "gino", "took it by phone"),
        (OrderStatus.COMPLETED, "ops", None),
    ]
    assert result.status is OrderStatus.COMPLETED and "refund_payment" not in pizzeria.activities.names()
    assert len(texts_of(pizzeria, "has left with our driver")) == 1
    assert await pizzeria.order_status_attribute(handle) == "completed"


async def test_an_ops_signal_fails_a_delivery_refunded_and_cancelled_with_a_reason_even_when_none_is_given(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    await handle.signal("mark_picked_up", {"by": "gino"})
    await handle.signal("mark_delivery_failed")
    await handle.signal("mark_delivered", {"by": "gino"})  # too late: it failed

    result = await handle.result()

    assert result.status is OrderStatus.CANCELLED
    assert result.order.payment.refund_id == f"re_{result.order.id}"
    assert result.order.delivery.failure == "delivery failed"
    assert (result.order.history[-1].by, result.order.history[-1].notes) == ("ops", "delivery failed")
    assert pizzeria.activities.names().count("refund_payment") == 1
    assert "remove_from_kitchen" not in pizzeria.activities.names()
    assert len(texts_of(pizzeria, "could not deliver")) == 1


async def test_a_temporal_cancel_while_out_for_delivery_changes_nothing_and_the_driver_delivers(pizzeria):
    handle = await ready_for_a_driver(pizzeria)
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))

    await handle.cancel()
    await pizzeria.until_history(
        handle,
        lambda events: _task_done_after(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, 1),
        "the cancel handled",
    )
    assert (await handle.query(OrderWorkflow.order)).status is OrderStatus.OUT_FOR_DELIVERY
    done = await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))

    assert done.status is OrderStatus.COMPLETED
    assert (await handle.result()).status is OrderStatus.COMPLETED
    assert "refund_payment" not in pizzeria.activities.names()


async def test_a_delivery_past_the_pickup_promise_is_flagged_late_the_customer_told_once_and_a_driver_still_takes_it(
    time_skipping_env,
):
    metrics = MetricBuffer(1000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))
    client = await Client.connect(
        time_skipping_env.client.service_client.config.target_host,
        namespace=time_skipping_env.client.namespace,
        runtime=runtime,
        data_converter=pydantic_data_converter,
    )
    async with open_pizzeria(time_skipping_env, client) as pizzeria:
        start = pizzeria.order().model_copy(update={"delivery_pickup_sla_seconds": 600})
        handle = await ready_for_a_driver(pizzeria, start)
        delivery = pizzeria.client.get_workflow_handle(delivery_workflow_id(start.order_id))
        assert (await delivery.describe()).typed_search_attributes.get(DISPATCH_LATE) is False

        await time_skipping_env.sleep(timedelta(seconds=601))
        await pizzeria.eventually(lambda: bool(texts_of(pizzeria, "waiting for a driver")), "the late text")
        await time_skipping_env.sleep(timedelta(hours=2))  # and no second one, however long it waits
        await pizzeria.until_history(
            delivery, lambda events: _task_done_after(events, EventType.EVENT_TYPE_TIMER_FIRED, 1), "the promise passed"
        )

        assert (await delivery.describe()).typed_search_attributes.get(DISPATCH_LATE) is True
        late = [
            update.value
            for update in metrics.retrieve_updates()
            if update.metric.name == "pizzeria_deliveries_dispatch_late"
        ]
        assert late == [1]
        await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))
        done = await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))
        assert done.status is OrderStatus.COMPLETED
        await handle.result()
        texts = pizzeria.activities.texts()
        assert ["confirmed" in texts[0], "out of the oven" in texts[1], "waiting for a driver" in texts[2]] == [
            True
        ] * 3
        assert "has left with our driver" in texts[3] and len(texts) == 4
        assert (await delivery.describe()).typed_search_attributes.get(DELIVERY_OUTCOME) == "delivered"
        timers = [
            e.timer_started_event_attributes
            for e in await pizzeria.history(delivery)
            if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        ]
        assert len(timers) == 1


async def test_a_worker_restarted_while_the_order_is_out_for_delivery_carries_on_where_it_was(dev_server_env):
    # On the real server: the time-skipping one never hands a gone worker's tasks to the next.
    shop = Pizzeria(dev_server_env, f"orders-{uuid.uuid4()}", StandIns(), dev_server_env.client)
    try:
        async with worker_for(shop):
            handle = await ready_for_a_driver(shop)
            await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))
            await shop.eventually(lambda: bool(texts_of(shop, "has left with our driver")), "the picked-up text")
        # A new worker on the same task queue rebuilds the order and its delivery from their histories.
        async with worker_for(shop):
            done = await handle.execute_update(
                OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True)
            )
            assert done.status is OrderStatus.COMPLETED
            assert (await handle.result()).status is OrderStatus.COMPLETED
    finally:
        await shop.close()
    assert shop.activities.names()[-3:] == ["save_order", "notify_customer", "record_completion"]
    assert len(texts_of(shop, "has left with our driver")) == 1
    assert shop.activities.names().count("record_completion") == 1


@asynccontextmanager
async def worker_for(shop: Pizzeria) -> AsyncIterator[None]:
    """A worker on the shop's task queue, like a `python worker.py` started and then stopped."""
    worker = Worker(
        shop.client,
        task_queue=shop.task_queue,
        workflows=[OrderWorkflow, DeliveryWorkflow],
        activities=shop.activities.all(),
        graceful_shutdown_timeout=timedelta(seconds=1),
        # The next worker takes the order's tasks a second after this one is gone (not the default ten).
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
    async with worker:
        yield
