"""Is Temporal there? Asked once for every call that is slow at the same moment.

While Temporal is down, the SDK's own retries would hold every request for up to 10 s before it fails. A
shorter RetryConfig would also give up on a server that is there but busy (RESOURCE_EXHAUSTED under load);
a health check tells the two apart, so a slow call asks one after a second.
"""

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.service import ServiceClient

from temporal_access import refusal

REACHABILITY_CHECK_AFTER_SECONDS = 1.0
HEALTH_CHECK_TIMEOUT = timedelta(seconds=3)  # generous: a busy server that is there must not look down
T = TypeVar("T")


class TemporalDown(Exception):
    """Temporal does not answer its health check, says it is not serving, or refuses this client's credentials."""


class Reachability:
    def __init__(self, service: ServiceClient) -> None:
        self._service = service
        # One health check at a time, shared by every slow call: under load many calls are slow at once.
        self._check: asyncio.Future[str] | None = None

    async def answer(self, call: Awaitable[T], seconds: float | None = None) -> T:
        """The call's answer; TimeoutError after `seconds`, TemporalDown as soon as Temporal is found down."""
        answer = asyncio.ensure_future(call)
        try:
            async with asyncio.timeout(seconds):
                await asyncio.wait([answer], timeout=REACHABILITY_CHECK_AFTER_SECONDS)
                if not answer.done():
                    await self._shared_check()
                return await answer
        finally:
            if not answer.done():
                answer.cancel()  # given up on: the SDK stops waiting for it
                answer.add_done_callback(_consume)

    async def check(self, timeout: timedelta = HEALTH_CHECK_TIMEOUT) -> str:
        """Where Temporal answers; TemporalDown when it does not, saying so when it refused the credentials."""
        config = self._service.config
        where = f"Temporal at {config.target_host}"
        try:
            serving = await self._service.check_health(timeout=timeout)
        except Exception as err:  # whatever the SDK raises: the lazy client's RuntimeError when it never connected
            refused = refusal(err, config.target_host, config.api_key, config.tls)
            raise TemporalDown(refused or f"{where} is unreachable: {err}") from None
        if not serving:
            raise TemporalDown(f"{where} is not serving")
        return self._service.config.target_host

    async def _shared_check(self) -> None:
        if self._check is None or self._check.done():
            self._check = asyncio.ensure_future(self.check())
            self._check.add_done_callback(_consume)
        # Shielded: a caller that gives up must not cut the check short for the others.
        await asyncio.shield(self._check)


def _consume(abandoned: asyncio.Future[Any]) -> None:
    """Take the outcome of a call given up on, so that it is not logged as never retrieved."""
    if not abandoned.cancelled():
        abandoned.exception()
