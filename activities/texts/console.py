"""Texts written to the log instead of sent, for development."""

import logging

from activities.texts.port import Notifier, masked_phone

log = logging.getLogger("pizzeria.sms")


class ConsoleNotifier(Notifier):
    async def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", masked_phone(phone), text)
