"""The ports the saga's side effects go through; adapters implement them."""

from abc import ABC, abstractmethod
from decimal import Decimal


class PaymentGateway(ABC):
    """Takes and gives back card payments. Both calls are idempotent per order."""

    @abstractmethod
    async def charge(self, order_id: str, amount: Decimal, payment_token: str) -> str:
        """Charge the amount and return the transaction id; raise PaymentDeclined on a decline."""

    @abstractmethod
    async def refund(self, order_id: str, amount: Decimal, transaction_id: str | None) -> str | None:
        """Refund the order's charge in full; None when nothing was charged."""


class Notifier(ABC):
    """Sends a short text to a customer's phone."""

    @abstractmethod
    async def send(self, phone: str, text: str) -> None:
        """Deliver the text, or raise so that the activity is retried."""


def masked_phone(phone: str) -> str:
    """A phone number fit for logs: country code and last two digits only."""
    return f"{phone[:2]}{'*' * max(len(phone) - 4, 0)}{phone[-2:]}"
