"""The status machine guards the kitchen's steps, and the kitchen's promise is watched."""

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from domain.order import OrderStatus
from tests.workflows.conftest import _task_done_after
from workflows.order_contract import ILLEGAL_TRANSITION, KitchenStep
from workflows.order_workflow import OrderWorkflow

SLA_SECONDS = 60


async def _status(handle) -> OrderStatus:
    return (await handle.query(OrderWorkflow.order)).status


async def test_signals_the_status_machine_forbids_change_nothing_and_leave_the_order_running(pizzeria):
    handle, _ = await pizzeria.place()
    signals = 0

    async def send(name: str, *payload: object) -> None:
        nonlocal signals
        await handle.signal(name, *payload)
        signals += 1
        await pizzeria.handled(handle, signals)

    await send("mark_ready", {"by": "luigi"})
    await send("mark_completed", {"by": "luigi"})
    assert await _status(handle) is OrderStatus.CONFIRMED

    await send("mark_preparing", {"by": "luigi"})
    await send("mark_preparing", {"by": "someone else"})
    await send("mark_completed", {"by": "luigi"})
    await send("mark_ready", {"by": 123456, "notes": ["x"]})  # undecodable: dropped
    await send("mark_ready", "ready ready ready")  # not a note at all: dropped
    order = await handle.query(OrderWorkflow.order)
    assert order.status is OrderStatus.PREPARING
    assert [(h.status, h.by) for h in order.history] == [
        (OrderStatus.RECEIVED, "system"),
        (OrderStatus.CONFIRMED, "system"),
        (OrderStatus.PREPARING, "luigi"),
    ]
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert await pizzeria.order_status_attribute(handle) == "preparing"
    assert pizzeria.activities.saved_statuses().count(OrderStatus.PREPARING) == 1

    await send("mark_ready", {"by": "luigi", "notes": "out of the oven"})
    assert await _status(handle) is OrderStatus.READY
    await handle.signal("mark_completed", {"by": "mario"})
    assert (await handle.result()).status is OrderStatus.COMPLETED
    assert len(pizzeria.activities.texts()) == 2  # confirmed, ready: nothing for the refused signals


@pytest.mark.parametrize(
    ("earlier", "refused"),
    [
        ((), OrderStatus.READY),
        ((), OrderStatus.COMPLETED),
        ((OrderStatus.PREPARING,), OrderStatus.PREPARING),
        ((OrderStatus.PREPARING,), OrderStatus.COMPLETED),
        ((OrderStatus.PREPARING,), OrderStatus.CANCELLED),
        ((OrderStatus.PREPARING, OrderStatus.READY), OrderStatus.RECEIVED),
    ],
    ids=[
        "ready-while-confirmed",
        "completed-while-confirmed",
        "preparing-twice",
        "completed-while-preparing",
        "cancelled-is-no-kitchen-step",
        "back-to-received",
    ],
)
async def test_an_illegal_kitchen_step_is_refused_and_leaves_no_trace_in_history(
    pizzeria_on_real_server, earlier, refused
):
    # On the real server a rejected update runs in a speculative workflow task that is never
    # written down; the time-skipping server would record that task (three events).
    pizzeria = pizzeria_on_real_server
    handle, _ = await pizzeria.place()
    for status in earlier:
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
    current = earlier[-1] if earlier else OrderStatus.CONFIRMED
    if current is OrderStatus.READY:  # a delivery order: counted once its delivery has started
        await pizzeria.until_history(
            handle,
            lambda events: _task_done_after(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, 1),
            "the delivery started",
        )
    events_before = len(await pizzeria.history(handle))
    calls_before = len(pizzeria.activities.calls)

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=refused, by="luigi"))

    assert rejected.value.cause.type == ILLEGAL_TRANSITION
    assert f"cannot become {refused}" in rejected.value.cause.message
    assert len(await pizzeria.history(handle)) == events_before
    assert len(pizzeria.activities.calls) == calls_before
    assert await _status(handle) is current
    assert await pizzeria.order_status_attribute(handle) == current.value
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_a_customer_is_told_when_the_kitchen_passes_its_promised_time(pizzeria):
    start = pizzeria.order(sla_seconds=SLA_SECONDS)
    handle, _ = await pizzeria.place(start)
    await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=OrderStatus.PREPARING, by="luigi"))
    assert len(pizzeria.activities.texts()) == 1

    await pizzeria.env.sleep(SLA_SECONDS + 1)
    await pizzeria.eventually(lambda: len(pizzeria.activities.texts()) == 2, "a late message")

    late = pizzeria.activities.texts()[-1]
    assert start.order_id[:8] in late and "taking longer than we promised" in late
    assert await _status(handle) is OrderStatus.PREPARING
    for status in (OrderStatus.READY, OrderStatus.COMPLETED):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
    assert (await handle.result()).status is OrderStatus.COMPLETED
    assert sum("taking longer" in text for text in pizzeria.activities.texts()) == 1


async def test_an_order_ready_in_time_gets_no_late_message_even_after_the_promise_passes(pizzeria):
    handle, _ = await pizzeria.place(pizzeria.order(sla_seconds=SLA_SECONDS))
    for status in (OrderStatus.PREPARING, OrderStatus.READY):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))

    await pizzeria.env.sleep(SLA_SECONDS + 1)
    await pizzeria.timer_handled(handle)

    assert not any("taking longer" in text for text in pizzeria.activities.texts())
    assert await _status(handle) is OrderStatus.READY
