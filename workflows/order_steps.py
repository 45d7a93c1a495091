"""How the saga runs each kind of step: its timeouts and retries."""

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from activities.payments.activities import PAYMENT_DECLINED
from activities.store.activities import INVALID_ORDER


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
