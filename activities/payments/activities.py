"""Charging and refunding cards through whichever payment gateway is configured.

The workflow imports this module (the class, its inputs and results, its error types), never an adapter.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments.port import PaymentGateway, PaymentsMisconfigured
from domain.errors import PaymentDeclined

# ApplicationError types that mean "no" for good: never retried.
PAYMENT_DECLINED = "PaymentDeclined"
# The payment provider refused our request itself (bad key): nothing was charged, and retrying will not help.
PAYMENTS_MISCONFIGURED = "PaymentsMisconfigured"


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


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn(name="charge_payment")
    async def charge_payment(self, request: ChargeRequest) -> ChargeReceipt:
        """Charge the order's total; a decline or a refused key is final, anything else is retried."""
        try:
            transaction_id = await self._gateway.charge(request.order_id, request.amount, request.payment_token)
        except PaymentDeclined as err:
            raise ApplicationError(str(err), err.decline_code, type=PAYMENT_DECLINED, non_retryable=True) from None
        except PaymentsMisconfigured as err:
            raise ApplicationError(str(err), type=PAYMENTS_MISCONFIGURED, non_retryable=True) from None
        return ChargeReceipt(transaction_id)

    @activity.defn(name="refund_payment")
    async def refund_payment(self, request: RefundRequest) -> RefundReceipt:
        """Refund the order's charge in full, if there was one."""
        return RefundReceipt(await self._gateway.refund(request.order_id, request.amount, request.transaction_id))

    def all(self) -> list[Callable[..., Any]]:
        return [self.charge_payment, self.refund_payment]
