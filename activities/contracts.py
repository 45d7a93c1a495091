"""Activity names, their inputs and results, and the business error types they raise.

The workflow imports only this module of activities/, so it never reaches an adapter.
"""

from dataclasses import dataclass
from decimal import Decimal

from domain.menu import LineRequest

VALIDATE_ORDER = "validate_order"
CHARGE_PAYMENT = "charge_payment"
REFUND_PAYMENT = "refund_payment"
SAVE_ORDER = "save_order"
QUEUE_IN_KITCHEN = "queue_in_kitchen"
REMOVE_FROM_KITCHEN = "remove_from_kitchen"
NOTIFY_CUSTOMER = "notify_customer"
RECORD_COMPLETION = "record_completion"
RECORD_CANCELLATION = "record_cancellation"
RECORD_REJECTION = "record_rejection"

# ApplicationError types that mean "the business said no": never retried.
INVALID_ORDER = "InvalidOrder"
PAYMENT_DECLINED = "PaymentDeclined"
# The payment provider refused our request itself (bad key): nothing was charged, and retrying will not help.
PAYMENTS_MISCONFIGURED = "PaymentsMisconfigured"
# The text provider refused the message for good: it is not retried.
TEXT_UNDELIVERABLE = "TextUndeliverable"


@dataclass(frozen=True)
class ValidateOrder:
    order_id: str
    lines: tuple[LineRequest, ...]


@dataclass(frozen=True)
class ChargeRequest:
    order_id: str
    amount: Decimal
    payment_token: str


@dataclass(frozen=True)
class ChargeReceipt:
    transaction_id: str


@dataclass(frozen=True)
class RefundRequest:
    order_id: str
    amount: Decimal
    # None when the charge's outcome is unknown (cancelled mid-flight): the gateway looks it up.
    transaction_id: str | None


@dataclass(frozen=True)
class RefundReceipt:
    # None when there was nothing to refund.
    refund_id: str | None


@dataclass(frozen=True)
class Notification:
    order_id: str
    phone: str
    text: str


@dataclass(frozen=True)
class KitchenTicket:
    order_id: str
