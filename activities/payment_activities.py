"""Charging and refunding cards through whichever payment gateway is configured."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as act
from activities.ports import PaymentGateway, PaymentsMisconfigured
from domain.errors import PaymentDeclined


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn(name=act.CHARGE_PAYMENT)
    async def charge_payment(self, request: act.ChargeRequest) -> act.ChargeReceipt:
        """Charge the order's total; a decline or a refused key is final, anything else is retried."""
        try:
            transaction_id = await self._gateway.charge(request.order_id, request.amount, request.payment_token)
        except PaymentDeclined as err:
            raise ApplicationError(str(err), err.decline_code, type=act.PAYMENT_DECLINED, non_retryable=True) from None
        except PaymentsMisconfigured as err:
            raise ApplicationError(str(err), type=act.PAYMENTS_MISCONFIGURED, non_retryable=True) from None
        return act.ChargeReceipt(transaction_id)

    @activity.defn(name=act.REFUND_PAYMENT)
    async def refund_payment(self, request: act.RefundRequest) -> act.RefundReceipt:
        """Refund the order's charge in full, if there was one."""
        return act.RefundReceipt(await self._gateway.refund(request.order_id, request.amount, request.transaction_id))

    def all(self) -> list:  # type: ignore[type-arg]
        return [self.charge_payment, self.refund_payment]
