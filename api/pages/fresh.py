"""What the screens show, read from the store at most twice a second per API process, however many are open."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

MAX_AGE_SECONDS = 0.5
MAX_ENTRIES = 2048  # tracking pages open at once, each one order: the oldest read is forgotten first


class Fresh:
    """Store reads shared by the screens: each key is read again only once its last read is half a second old,
    and screens asking at the same moment share one read."""

    def __init__(self, max_age_seconds: float = MAX_AGE_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self._max_age, self._max_entries = max_age_seconds, max_entries
        self._reads: OrderedDict[str, tuple[float, asyncio.Future[Any]]] = OrderedDict()

    async def read(self, key: str, load: Callable[[], Any]) -> Any:
        """What `load` (a blocking store read) returns, as read at most half a second ago."""
        now = time.monotonic()
        held = self._reads.get(key)
        if held is not None and now - held[0] <= self._max_age and not _failed(held[1]):
            self._reads.move_to_end(key)
            return await asyncio.shield(held[1])
        reading: asyncio.Future[Any] = asyncio.ensure_future(run_in_threadpool(load))
        self._reads[key] = (now, reading)
        self._reads.move_to_end(key)
        while len(self._reads) > self._max_entries:
            self._reads.popitem(last=False)
        return await asyncio.shield(reading)

    def forget(self, key: str) -> None:
        """Something changed here: the next screen to ask reads again."""
        self._reads.pop(key, None)


def _failed(read: asyncio.Future[Any]) -> bool:
    return read.done() and (read.cancelled() or read.exception() is not None)
