"""The ports the saga's side effects go through; adapters implement them."""

from abc import ABC, abstractmethod
from decimal import Decimal


class PaymentsMisconfigured(Exception):
    """The payment provider refused the request itself (a bad key, a bad request): nothing was
    charged, and trying again will not help until someone fixes the configuration."""


class Undeliverable(Exception):
    """The text provider refused this message for good (a bad number, a bad account): do not retry."""


class PaymentGateway(ABC):
    """Takes and gives back card payments. Both calls are idempotent per order."""

    @abstractmethod
    async def charge(self, order_id: str, amount: Decimal, payment_token: str) -> str:
        """Charge the amount and return the transaction id.

        Raise PaymentDeclined on a decline and PaymentsMisconfigured when the provider refuses the
        request itself; any other error is taken as passing, and the charge is tried again.
        """

    @abstractmethod
    async def refund(self, order_id: str, amount: Decimal, transaction_id: str | None) -> str | None:
        """Refund the order's charge in full; None when nothing was charged."""

    async def aclose(self) -> None:  # noqa: B027 - most gateways hold no connections
        """Let go of connections at shutdown."""


class Notifier(ABC):
    """Sends a short text to a customer's phone."""

    @abstractmethod
    async def send(self, phone: str, text: str) -> None:
        """Deliver the text; raise Undeliverable when retrying cannot help, anything else to retry."""

    async def aclose(self) -> None:  # noqa: B027 - most notifiers hold no connections
        """Let go of connections at shutdown."""


def masked_phone(phone: str) -> str:
    """A phone number fit for logs: country code and last two digits only."""
    return f"{phone[:2]}{'*' * max(len(phone) - 4, 0)}{phone[-2:]}"


def without_phone(text: str, phone: str) -> str:
    """A provider's message fit for logs and histories: the customer's number masked wherever it appears."""
    return text.replace(phone, masked_phone(phone)) if phone else text
