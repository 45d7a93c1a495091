"""Telling customers how their order is doing.

The workflow imports this module (the class, its input, its error type), never an adapter.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.texts.port import Notifier, Undeliverable

# The text provider refused the message for good: it is not retried.
TEXT_UNDELIVERABLE = "TextUndeliverable"


@dataclass(frozen=True)
class Notification:
    order_id: str
    phone: str
    text: str


class TextActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name="notify_customer")
    async def notify_customer(self, message: Notification) -> None:
        """Send one text to the customer; a text the provider refuses for good is not retried."""
        try:
            await self._notifier.send(message.phone, message.text)
        except Undeliverable as err:
            raise ApplicationError(str(err), type=TEXT_UNDELIVERABLE, non_retryable=True) from None

    def all(self) -> list[Callable[..., Any]]:
        return [self.notify_customer]
