"""Texts through Twilio's Messages API, sent with the SDK's async client.

Logs name the customer by a masked number and the text by its length: never the number or the
words in full. The SDK's own request log (which prints both) is kept at warnings only.
"""

import logging

from aiohttp import ClientConnectionError, ClientError, ClientSession
from aiohttp_retry import ExponentialRetry, RetryClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from activities.texts.port import Notifier, Undeliverable, masked_phone, without_phone

log = logging.getLogger("pizzeria.sms")
_sdk_log = logging.getLogger("pizzeria.sms.http")

# Answers that will be the same however often the message is sent again (408 and 429 are not).
_FINAL = frozenset(range(400, 500)) - {408, 409, 429}
# A text is tried this many times, quickly, then given up: the order never waits long for it.
ATTEMPTS = 3


class _TimedHttpClient(AsyncTwilioHttpClient):
    """The SDK's async client, with its own timeout applied: as shipped, a request without a timeout
    of its own waits forever, whatever the client was given."""

    async def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        timeout = timeout or self.timeout
        return await super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


class TwilioNotifier(Notifier):
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str | None = None,
        timeout_seconds: float = 2.5,  # per try; three tries stay under the notify activity's 10 s
    ) -> None:
        self._account_sid, self._auth_token = account_sid, auth_token
        self._from = from_number
        self._api_base = api_base
        self._timeout = timeout_seconds
        self._client: Client | None = None
        _sdk_log.setLevel(logging.WARNING)  # here, not at import: importing a module changes nothing

    def _twilio(self) -> Client:
        # Made on first use: the async HTTP session belongs to the worker's running event loop.
        if self._client is None:
            http = _TimedHttpClient(pool_connections=False, timeout=self._timeout, logger=_sdk_log)
            # The tries happen here, not as Temporal retries of the local activity: a retried local
            # activity leaves its earlier attempts' timers running in the SDK (sdk-rust#1454).
            retry = ExponentialRetry(
                attempts=ATTEMPTS,
                start_timeout=0.25,
                statuses={408, 429},
                exceptions={ClientConnectionError, TimeoutError},
            )
            http.session = RetryClient(client_session=ClientSession(), retry_options=retry, logger=_sdk_log)
            self._client = Client(self._account_sid, self._auth_token, http_client=http)
            if self._api_base:
                self._client.api.base_url = self._api_base
        return self._client

    async def send(self, phone: str, text: str) -> None:
        try:
            message = await self._twilio().messages.create_async(to=phone, from_=self._from, body=text)
        except TwilioRestException as err:
            reason = f"Twilio answered {err.status} (code {err.code}): {without_phone(str(err.msg), phone)}"
            if err.status in _FINAL:
                raise Undeliverable(reason) from None
            raise RuntimeError(reason) from None
        except (ClientError, TimeoutError) as err:
            raise RuntimeError(f"Twilio could not be reached: {type(err).__name__}: {err}") from None
        log.info("texted %s (%d characters) as %s", masked_phone(phone), len(text), message.sid)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
