"""Telling customers how their order is doing."""

from temporalio import activity

from activities import contracts as act
from activities.ports import Notifier


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name=act.NOTIFY_CUSTOMER)
    async def notify_customer(self, message: act.Notification) -> None:
        """Send one text to the customer."""
        await self._notifier.send(message.phone, message.text)

    def all(self) -> list:  # type: ignore[type-arg]
        return [self.notify_customer]
