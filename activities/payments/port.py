"""The port card payments go through; Stripe and the in-process fake implement it."""

from abc import ABC, abstractmethod
from decimal import Decimal


class PaymentsMisconfigured(Exception):
    """The payment provider refused the request itself (a bad key, a bad request): nothing was
    charged, and trying again will not help until someone fixes the configuration."""


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
