"""How the saga runs each kind of step: its timeouts and retries, and the calls that need no saga state."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypedDict

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from activities.payments.activities import PAYMENT_DECLINED, PaymentActivities, RefundRequest
from activities.store.activities import INVALID_ORDER, StoreActivities
from activities.texts.activities import Notification, TextActivities
from domain.order import Order


class StepOptions(TypedDict, total=False):
    """A step's timeouts and retries, as `workflow.execute_activity_method` and its local twin take them."""

    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy


# The local database while placing: quick steps, retried for ten minutes before the saga gives up.
PLACEMENT_DATABASE_STEP = StepOptions(
    start_to_close_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)
# Once placed, an order is never given up on: the store catches up when it is back.
DATABASE_STEP = StepOptions(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)
VALIDATION_STEP: StepOptions = {
    **PLACEMENT_DATABASE_STEP,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=10),
        non_retryable_error_types=[INVALID_ORDER],
    ),
}
# A charge that cannot be made within ten minutes is given up (and refunded, in case it went through).
CHARGE_STEP = StepOptions(
    start_to_close_timeout=timedelta(seconds=30),
    schedule_to_close_timeout=timedelta(minutes=10),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=[PAYMENT_DECLINED]),
)
# Money owed back is retried until it is paid.
REFUND_STEP = StepOptions(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
)
# A text never holds up an order: the notifier makes a few quick tries itself, then it is given up.
# One attempt here: the SDK leaves a retried local activity's earlier timers running (sdk-rust#1454).
NOTIFY_STEP = StepOptions(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(maximum_attempts=1),
)


def business_error(err: FailureError, error_type: str) -> ApplicationError | None:
    """The business refusal behind a step's failure (a local activity's arrives unwrapped)."""
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause if isinstance(cause, ApplicationError) and cause.type == error_type else None


def duration(span: timedelta) -> str:
    """A span as a summary shows it: whole minutes, or seconds when under one."""
    minutes = round(span.total_seconds() / 60)
    return f"{minutes} min" if minutes else f"{span.total_seconds():g} s"


async def store(step: Callable[[StoreActivities, Any], None], arg: object, summary: str, placing: bool) -> None:
    """A local database step. While placing, one that keeps failing is given up so the order can be undone;
    after that (kitchen steps, compensation) the store is waited for."""
    options = PLACEMENT_DATABASE_STEP if placing else DATABASE_STEP
    await workflow.execute_local_activity_method(step, arg, summary=summary, **options)


async def refund(order: Order) -> str | None:
    """Give the order's card payment back: the refund's id, or None when nothing was charged."""
    receipt = await workflow.execute_activity_method(
        PaymentActivities.refund_payment,
        RefundRequest(order.id, order.total, order.payment.transaction_id),
        summary=f"refund ${order.total} to the card",
        **REFUND_STEP,
    )
    return receipt.refund_id


async def text_customer(order: Order, kind: str, text: str) -> FailureError | None:
    """Send the customer one text: None once sent, else why not (a text never holds the order up)."""
    try:
        await workflow.execute_local_activity_method(
            TextActivities.notify_customer,
            Notification(order.id, order.customer.phone, text),
            summary=f"text the customer: {kind}",
            **NOTIFY_STEP,
        )
    except FailureError as err:
        return err
    return None


def failure_reason(err: FailureError) -> str:
    """What a step's failure says: its cause's message when an activity failed."""
    failure = err.cause if isinstance(err, ActivityError) and isinstance(err.cause, FailureError) else err
    return failure.message
