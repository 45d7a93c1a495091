"""Which staff accounts exist, by username and key: what a token issued at sign-in is checked against.

Every staff request and every live part of a screen checks it, so it is held in memory: read again from the store
every second in a worker thread (the event loop never waits on the database for it), and changed at once by what
this process does itself. Another API process sees an account deleted here within about a second.
"""

import asyncio
import contextlib
import hmac
import logging

from fastapi.concurrency import run_in_threadpool

from activities.store.staff import StaffStore

log = logging.getLogger("pizzeria.api")
REFRESH_SECONDS = 1.0


class AccountKeys:
    def __init__(self, store: StaffStore, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._store, self._refresh_seconds = store, refresh_seconds
        self._keys: dict[str, str] = {}
        self._changes = 0  # what this process changed: a read begun before a change is stale when it ends
        self._refreshing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the accounts, then keep reading them every second until `stop`."""
        self._keys = await run_in_threadpool(self._store.keys)
        self._refreshing = asyncio.create_task(self._keep_fresh(), name="account-keys")

    async def stop(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    def holds(self, username: str, account_key: str) -> bool:
        """Whether an account of this username and key exists."""
        held = self._keys.get(username)
        return held is not None and hmac.compare_digest(held.encode(), account_key.encode())

    def added(self, username: str, account_key: str) -> None:
        self._changes += 1
        self._keys = {**self._keys, username: account_key}

    def removed(self, username: str) -> None:
        self._changes += 1
        self._keys = {name: key for name, key in self._keys.items() if name != username}

    async def _keep_fresh(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._refresh_seconds)
            changes = self._changes
            try:
                keys = await run_in_threadpool(self._store.keys)
            except Exception as err:  # the database away, or anything else: keep the last keys, try again
                if not failing:  # once per outage, not once a second
                    log.warning("staff accounts cannot be read (%s); the last ones read are used", err)
                failing = True
                continue
            failing = False
            if changes == self._changes:
                self._keys = keys
