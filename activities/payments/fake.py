"""In-process payments that behave like Stripe's test cards, for development and tests."""

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from activities.payments.port import PaymentGateway
from domain.errors import PaymentDeclined

log = logging.getLogger(__name__)

# Stripe's test PaymentMethods that are declined, with the decline code Stripe gives.
DECLINED_CARDS = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeCustomerFail": "generic_decline",
}


@dataclass
class FakePayments(PaymentGateway):
    """Any other `pm_card_*` succeeds; anything else is refused as an unknown payment method.

    Ids are derived from the order, so a retried charge or refund is the same one.
    `charges` and `refunds` record every call, for tests to count.
    """

    charges: list[tuple[str, Decimal]] = field(default_factory=list)
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)

    async def charge(self, order_id: str, amount: Decimal, payment_token: str) -> str:
        if payment_token in DECLINED_CARDS:
            raise PaymentDeclined("Your card was declined.", DECLINED_CARDS[payment_token])
        if not payment_token.startswith("pm_card_"):
            raise PaymentDeclined(f"No such PaymentMethod: '{payment_token}'", "invalid_payment_method")
        self.charges.append((order_id, amount))
        log.info("fake charge of %s for order %s", amount, order_id)
        return _fake_id("pi", order_id)

    async def refund(self, order_id: str, amount: Decimal, transaction_id: str | None) -> str | None:
        if transaction_id is None and all(charged != order_id for charged, _ in self.charges):
            return None
        self.refunds.append((order_id, amount))
        log.info("fake refund of %s for order %s", amount, order_id)
        return _fake_id("re", order_id)


def _fake_id(prefix: str, order_id: str) -> str:
    return f"{prefix}_fake_{order_id.replace('-', '')[:24]}"
