"""The port texts to customers go through; Twilio and the console implement it."""

from abc import ABC, abstractmethod


class Undeliverable(Exception):
    """The text provider refused this message for good (a bad number, a bad account): do not retry."""


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
