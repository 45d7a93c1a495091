"""Telling customers how their order is doing."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as act
from activities.ports import Notifier, Undeliverable


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name=act.NOTIFY_CUSTOMER)
    async def notify_customer(self, message: act.Notification) -> None:
        """Send one text to the customer; a text the provider refuses for good is not retried."""
        try:
            await self._notifier.send(message.phone, message.text)
        except Undeliverable as err:
            raise ApplicationError(str(err), type=act.TEXT_UNDELIVERABLE, non_retryable=True) from None

    def all(self) -> list:  # type: ignore[type-arg]
        return [self.notify_customer]
