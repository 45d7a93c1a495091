"""Cancelling an order undoes exactly what was done, newest first, and says so."""

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError

from domain.order import OrderStatus, PaymentMethod
from tests.workflows.conftest import CANCELLED_DURING_CHARGE, TOTAL, UNDONE_AFTER_CONFIRMATION
from workflows.order_contract import NOT_CANCELLABLE, CancelRequest, KitchenStep, OrderResult
from workflows.order_workflow import OrderWorkflow


async def _cancel(handle, how: str, by: str, notes: str) -> OrderResult:
    """Cancel as the API (update) or as ops with the CLI (signal) would; the workflow's result."""
    if how == "update":
        answer = await handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by=by, notes=notes))
        assert answer.status is OrderStatus.CANCELLED
    else:
        await handle.signal("cancel", {"by": by, "notes": notes})
    return await handle.result()


def _assert_refunded_and_cancelled(pizzeria, result: OrderResult, order_id: str, by: str, notes: str) -> None:
    assert result.status is OrderStatus.CANCELLED
    assert result.order.payment.transaction_id == f"pi_{order_id}"
    assert result.order.payment.refund_id == f"re_{order_id}"
    last = result.order.history[-1]
    assert (last.status, last.by, last.notes) == (OrderStatus.CANCELLED, by, notes)
    (refund,) = pizzeria.activities.args("refund_payment")
    assert (refund.order_id, refund.amount, refund.transaction_id) == (order_id, TOTAL, f"pi_{order_id}")
    (recorded,) = pizzeria.activities.args("record_cancellation")
    assert recorded.status is OrderStatus.CANCELLED
    assert recorded.payment.refund_id == f"re_{order_id}"


@pytest.mark.parametrize("how", ["update", "signal"])
async def test_an_order_cancelled_while_received_is_refunded_and_never_reaches_the_kitchen(pizzeria, how):
    pizzeria.activities.hold("charge_payment")
    start = pizzeria.order()
    handle = await pizzeria.start(start)
    await pizzeria.activities.until_holding()
    assert await pizzeria.order_status_attribute(handle) == "received"

    request = CancelRequest(by="ada", notes="changed my mind")
    if how == "update":
        answer = await handle.start_update(
            OrderWorkflow.cancel_order, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
    else:
        await handle.signal("cancel", request.model_dump())
        await pizzeria.handled(handle, signals=1)
    pizzeria.activities.let_go()  # the charge goes through after all
    result = await handle.result()

    if how == "update":
        assert (await answer.result()).status is OrderStatus.CANCELLED
    assert pizzeria.activities.names() == CANCELLED_DURING_CHARGE
    _assert_refunded_and_cancelled(pizzeria, result, start.order_id, "ada", "changed my mind")
    assert [h.status for h in result.order.history] == [OrderStatus.RECEIVED, OrderStatus.CANCELLED]
    assert "refunded" in pizzeria.activities.texts()[-1]
    assert await pizzeria.order_status_attribute(handle) == "cancelled"


@pytest.mark.parametrize("how", ["update", "signal"])
@pytest.mark.parametrize("kitchen_steps", [(), (OrderStatus.PREPARING,)], ids=["confirmed", "preparing"])
async def test_an_order_cancelled_in_the_kitchen_leaves_the_queue_is_refunded_and_the_customer_told(
    pizzeria, how, kitchen_steps
):
    start = pizzeria.order()
    handle, _ = await pizzeria.place(start)
    for status in kitchen_steps:
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
    before = len(pizzeria.activities.calls)

    result = await _cancel(handle, how, by="ada", notes="too hungry to wait")

    assert pizzeria.activities.names()[before:] == UNDONE_AFTER_CONFIRMATION
    assert pizzeria.activities.args("remove_from_kitchen")[0].order_id == start.order_id
    _assert_refunded_and_cancelled(pizzeria, result, start.order_id, "ada", "too hungry to wait")
    text = pizzeria.activities.texts()[-1]
    assert f"order {start.order_id[:8]} is cancelled" in text and "refunded" in text
    assert await pizzeria.order_status_attribute(handle) == "cancelled"
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_cancelling_the_workflow_in_temporal_compensates_and_ends_the_order_cancelled(pizzeria):
    start = pizzeria.order()
    handle, _ = await pizzeria.place(start)
    before = len(pizzeria.activities.calls)

    await handle.cancel()
    result = await handle.result()

    assert pizzeria.activities.names()[before:] == UNDONE_AFTER_CONFIRMATION
    _assert_refunded_and_cancelled(pizzeria, result, start.order_id, "ops", "workflow cancelled in Temporal")
    assert await pizzeria.order_status_attribute(handle) == "cancelled"
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_a_cancelled_cash_order_leaves_the_kitchen_without_any_refund(pizzeria):
    handle, _ = await pizzeria.place(pizzeria.order(PaymentMethod.CASH))
    before = len(pizzeria.activities.calls)

    result = await _cancel(handle, "update", by="ada", notes=None)

    assert pizzeria.activities.names()[before:] == [
        "remove_from_kitchen",
        "record_cancellation",
        "notify_customer",
    ]
    assert "charge_payment" not in pizzeria.activities.names()
    assert result.status is OrderStatus.CANCELLED
    assert result.order.payment.refund_id is None
    assert "refunded" not in pizzeria.activities.texts()[-1]


async def test_a_ready_order_can_no_longer_be_cancelled(pizzeria):
    handle, _ = await pizzeria.place()
    for status in (OrderStatus.PREPARING, OrderStatus.READY):
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))
    before = len(pizzeria.activities.calls)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by="ada"))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == NOT_CANCELLABLE
    await handle.signal("cancel", {"by": "ada"})
    await pizzeria.handled(handle, signals=1)

    assert (await handle.query(OrderWorkflow.order)).status is OrderStatus.READY
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert pizzeria.activities.names()[before:] == []
    await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=OrderStatus.COMPLETED, by="mario"))
    assert (await handle.result()).status is OrderStatus.COMPLETED
