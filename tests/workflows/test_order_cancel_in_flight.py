"""Ops cancel an order's workflow in Temporal while one of its steps is in flight.

The cancel then reaches the workflow as that activity's failure, not as a plain asyncio
cancellation. These run on the real dev server: the time-skipping server handles a local
activity that outlives its workflow task differently.
"""

import asyncio
from datetime import timedelta

import pytest

from domain.order import OrderStatus
from tests.workflows.conftest import CANCELLED_DURING_CHARGE, PATIENCE, TOTAL, UNDONE_AFTER_CONFIRMATION
from workflows.order_contract import CancelRequest, KitchenStep, OrderResult
from workflows.order_workflow import OrderWorkflow

OPS_CANCEL = ("ops", "workflow cancelled in Temporal")


@pytest.fixture
def pizzeria(pizzeria_on_real_server):
    pizzeria_on_real_server.task_timeout = timedelta(seconds=1)
    return pizzeria_on_real_server


async def _cancel_in_temporal(pizzeria, handle) -> None:
    """Cancel the workflow, and see the held local activity cancelled by it."""
    await handle.cancel()
    await pizzeria.activities.until_cut_short()
    pizzeria.activities.let_go()


def _assert_cancelled_by_ops(result: OrderResult, order_id: str) -> None:
    assert result.status is OrderStatus.CANCELLED
    assert result.failure is None
    last = result.order.history[-1]
    assert (last.by, last.notes) == OPS_CANCEL
    assert result.order.payment.refund_id == f"re_{order_id}"


async def test_cancelling_the_workflow_during_the_charge_refunds_whatever_the_charge_did(pizzeria):
    pizzeria.activities.hold("charge_payment")  # the gateway does not answer before the cancel
    start = pizzeria.order()
    handle = await pizzeria.start(start)
    await pizzeria.activities.until_holding()
    assert await pizzeria.order_status_attribute(handle) == "received"

    await handle.cancel()  # the workflow abandons the charge (it is never told of the cancel)
    result = await asyncio.wait_for(handle.result(), PATIENCE)

    assert pizzeria.activities.names() == CANCELLED_DURING_CHARGE
    (refund,) = pizzeria.activities.args("refund_payment")
    # The charge's outcome is unknown: the refund names no transaction and the gateway looks it up.
    assert (refund.order_id, refund.amount, refund.transaction_id) == (start.order_id, TOTAL, None)
    _assert_cancelled_by_ops(result, start.order_id)
    assert await pizzeria.order_status_attribute(handle) == "cancelled"


async def test_cancelling_the_workflow_while_the_confirmation_is_sent_still_compensates(pizzeria):
    start = pizzeria.order()
    pizzeria.activities.hold("notify_customer")
    handle = await pizzeria.start(start)
    await pizzeria.activities.until_holding()

    await _cancel_in_temporal(pizzeria, handle)
    result = await asyncio.wait_for(handle.result(), PATIENCE)

    assert pizzeria.activities.names()[-4:] == UNDONE_AFTER_CONFIRMATION
    _assert_cancelled_by_ops(result, start.order_id)


async def test_cancelling_the_workflow_while_a_kitchen_step_is_stored_still_compensates(pizzeria):
    start = pizzeria.order()
    handle, _ = await pizzeria.place(start)
    pizzeria.activities.hold("save_order", lambda order: order.status is OrderStatus.PREPARING)
    await handle.signal("mark_preparing", {"by": "luigi"})
    await pizzeria.activities.until_holding()

    await _cancel_in_temporal(pizzeria, handle)
    result = await asyncio.wait_for(handle.result(), PATIENCE)

    assert pizzeria.activities.names()[-4:] == UNDONE_AFTER_CONFIRMATION
    _assert_cancelled_by_ops(result, start.order_id)
    assert await pizzeria.order_status_attribute(handle) == "cancelled"


async def test_cancelling_the_workflow_while_a_ready_order_is_stored_leaves_it_to_be_completed(pizzeria):
    handle, _ = await pizzeria.place()
    await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=OrderStatus.PREPARING, by="luigi"))
    pizzeria.activities.hold("save_order", lambda order: order.status is OrderStatus.READY)
    await handle.signal("mark_ready", {"by": "luigi"})
    await pizzeria.activities.until_holding()

    await _cancel_in_temporal(pizzeria, handle)
    await handle.signal("mark_completed", {"by": "mario"})
    result = await asyncio.wait_for(handle.result(), PATIENCE)

    assert result.status is OrderStatus.COMPLETED
    names = pizzeria.activities.names()
    assert "refund_payment" not in names and "remove_from_kitchen" not in names
    assert names[-1] == "record_completion"
    assert any("out of the oven" in text for text in pizzeria.activities.texts())
    assert await pizzeria.order_status_attribute(handle) == "completed"


async def test_cancelling_the_workflow_during_a_customers_cancel_does_not_cut_the_refund_short(pizzeria):
    start = pizzeria.order()
    handle, _ = await pizzeria.place(start)
    pizzeria.activities.hold("refund_payment")
    cancelling = asyncio.create_task(handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by="customer")))
    await pizzeria.activities.until_holding()

    await handle.cancel()  # ops, while the refund is on its way
    await asyncio.sleep(0.5)
    pizzeria.activities.let_go()
    result = await asyncio.wait_for(handle.result(), PATIENCE)
    answered = await asyncio.wait_for(cancelling, PATIENCE)

    assert result.status is OrderStatus.CANCELLED and answered.status is OrderStatus.CANCELLED
    assert result.order.history[-1].by == "customer"
    assert result.order.payment.refund_id == f"re_{start.order_id}"
    assert pizzeria.activities.names()[-3:] == ["refund_payment", "record_cancellation", "notify_customer"]
