"""Orders the shop refuses (bad order, declined card) and one whose storage fails after the charge."""

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.order import OrderStatus
from workflows.order_contract import IDEMPOTENCY_CONFLICT
from workflows.order_workflow import OrderWorkflow


async def test_a_declined_card_rejects_the_order_without_refund_or_kitchen(pizzeria):
    pizzeria.activities.decline_code = "card_declined"
    start = pizzeria.order()

    handle, placed = await pizzeria.place(start)

    assert placed.rejection is not None
    assert placed.rejection.kind == "declined"
    assert placed.rejection.decline_code == "card_declined"
    assert placed.rejection.detail == "Your card was declined."
    assert placed.status is OrderStatus.REJECTED
    assert placed.order.payment.transaction_id is None
    last = placed.order.history[-1]
    assert (last.status, last.by) == (OrderStatus.REJECTED, "payments")
    assert "card declined" in last.notes
    assert pizzeria.activities.names() == ["validate_order", "reserve_stock", "charge_payment", "record_rejection"]
    assert pizzeria.activities.args("record_rejection")[0].status is OrderStatus.REJECTED
    result = await handle.result()
    assert result.status is OrderStatus.REJECTED
    assert result.rejection == placed.rejection
    assert await pizzeria.order_status_attribute(handle) == "rejected"


async def test_an_order_the_menu_refuses_is_rejected_as_invalid_and_nothing_is_charged(pizzeria):
    pizzeria.activities.invalid = "unknown pizza 'pineapple_supreme'"

    handle, placed = await pizzeria.place()

    assert placed.rejection is not None
    assert placed.rejection.kind == "invalid"
    assert placed.rejection.detail == "unknown pizza 'pineapple_supreme'"
    assert placed.rejection.decline_code is None
    assert placed.order is None
    assert pizzeria.activities.names() == ["validate_order"]
    result = await handle.result()
    assert result.order is None and result.rejection == placed.rejection
    assert await pizzeria.order_status_attribute(handle) == "rejected"


async def test_a_store_failure_after_the_charge_refunds_the_card_and_cancels_the_order_as_system(pizzeria):
    pizzeria.activities.failing_save = "the order database is gone"
    start = pizzeria.order()

    handle, placed = await pizzeria.place(start)

    assert placed.status is OrderStatus.CANCELLED
    assert placed.rejection is None
    assert placed.failure is not None and "the order database is gone" in placed.failure
    assert pizzeria.activities.names() == [
        "validate_order",
        "reserve_stock",
        "charge_payment",
        "save_order",
        "refund_payment",
        "record_cancellation",
        "notify_customer",
    ]
    assert pizzeria.activities.args("refund_payment")[0].transaction_id == f"pi_{start.order_id}"
    assert placed.order.payment.refund_id == f"re_{start.order_id}"
    last = placed.order.history[-1]
    assert (last.status, last.by) == (OrderStatus.CANCELLED, "system")
    assert "the order database is gone" in last.notes
    assert "refunded" in pizzeria.activities.texts()[-1]
    result = await handle.result()
    assert result.status is OrderStatus.CANCELLED and result.failure == placed.failure
    assert await pizzeria.order_status_attribute(handle) == "cancelled"


async def test_the_same_order_id_with_a_different_request_is_an_idempotency_conflict(pizzeria):
    start = pizzeria.order()
    handle, first = await pizzeria.place(start)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await pizzeria.place(start, fingerprint="f" * 64)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == IDEMPOTENCY_CONFLICT

    with pytest.raises(WorkflowUpdateFailedError) as refused_again:
        await handle.execute_update(OrderWorkflow.await_confirmation, "another request")
    assert refused_again.value.cause.type == IDEMPOTENCY_CONFLICT

    _, repeat = await pizzeria.place(start)
    assert repeat.order.id == first.order.id
    assert repeat.status is OrderStatus.CONFIRMED
    assert pizzeria.activities.names().count("charge_payment") == 1
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_a_key_the_payment_provider_refuses_cancels_the_order_without_retrying_or_refunding(pizzeria):
    pizzeria.activities.refused_key = "Stripe refused the charge request (AuthenticationError): Invalid API Key"

    handle, placed = await pizzeria.place()

    assert placed.status is OrderStatus.CANCELLED
    assert placed.failure is not None and "Invalid API Key" in placed.failure
    # Tried once; nothing was charged, so nothing is refunded and the kitchen never hears of it.
    assert pizzeria.activities.names() == [
        "validate_order", "reserve_stock", "charge_payment", "record_cancellation", "notify_customer"
    ]  # fmt: skip
    assert "refunded" not in pizzeria.activities.texts()[0]
    assert placed.order.payment.refund_id is None
    assert (await handle.result()).status is OrderStatus.CANCELLED
