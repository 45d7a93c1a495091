"""The shop's screens as load: kitchen displays and customers' tracking pages asking for their live parts every
second, as the browsers do (api/pages/static/live.js), with the ETag of what they already show.

Each tracking page follows one order from its placing until it shows the order completed; how long after the
kitchen's last move it showed it is the screen's lag (CONTRACT §6: within 2 seconds).
"""

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Coroutine
from typing import Any

from tools.loadgen import Http, summary

POLL_SECONDS = 1.0  # as live.js asks
FOLLOW_SECONDS = 30.0  # a tracking page that has not seen its order completed by then counts as missed
STATUS = re.compile(rb'data-status="([a-z_]+)"')


class Screens:
    """Kitchen screens polling for as long as they are open, and a tracking page per order followed."""

    def __init__(self, http: Http, kitchen_cookie: str, kitchen_screens: int) -> None:
        self.http, self.kitchen_cookie, self.kitchen_screens = http, kitchen_cookie, kitchen_screens
        self.answers: dict[str, int] = {}
        self.part_ms: list[float] = []
        self.lag_ms: list[float] = []
        self.missed = 0
        self._completed_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = False

    def __enter__(self) -> "Screens":
        self._open = True
        for _ in range(self.kitchen_screens):
            self._spawn(self._poll("/kitchen/board", {"Cookie": self.kitchen_cookie}, until=None))
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False
        for task in self._tasks:
            task.cancel()

    async def close(self) -> None:
        """Let the tracking pages still following see their orders through, then close every screen."""
        trackers = [task for task in self._tasks if task.get_name() == "track"]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FOLLOW_SECONDS):
                await asyncio.gather(*trackers, return_exceptions=True)
        self.__exit__()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def follow(self, order_id: str) -> None:
        """A customer opens the order's tracking page."""
        self._spawn(self._poll(f"/track/{order_id}/status", {}, until=order_id), name="track")

    def completed(self, order_id: str) -> None:
        """The kitchen's last move of the order has been answered: from now its tracking page should show it."""
        self._completed_at[order_id] = time.perf_counter()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str = "kitchen") -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self, path: str, headers: dict[str, str], until: str | None) -> None:
        etag: str | None = None
        await asyncio.sleep(random.uniform(0, POLL_SECONDS))  # screens opened at different moments
        deadline = time.perf_counter() + FOLLOW_SECONDS
        while self._open or until is not None:
            asked = time.perf_counter()
            try:
                answer = await self.http.get(path, {**headers, **({"If-None-Match": etag} if etag else {})})
            except (ConnectionError, TimeoutError):
                self.answers["unreachable"] = self.answers.get("unreachable", 0) + 1
            else:
                self.part_ms.append((time.perf_counter() - asked) * 1000)
                key = f"GET {path.split('/')[1]} {answer.status_code}"
                self.answers[key] = self.answers.get(key, 0) + 1
                if answer.status_code == 200:
                    etag = answer.headers.get("ETag")
                    found = STATUS.search(answer.body)
                    if until is not None and found and found.group(1) == b"completed":
                        completed_at = self._completed_at.get(until, time.perf_counter())
                        self.lag_ms.append(max(0.0, time.perf_counter() - completed_at) * 1000)
                        return
            if until is not None and time.perf_counter() > deadline:
                self.missed += 1
                return
            await asyncio.sleep(max(0.0, POLL_SECONDS - (time.perf_counter() - asked)))

    def report(self) -> dict:
        return {
            "kitchen_screens": self.kitchen_screens,
            "tracking_pages": len(self.lag_ms) + self.missed,
            "answers": dict(sorted(self.answers.items())),
            "live_part_ms": summary(self.part_ms),
            "tracking_lag_ms": summary(self.lag_ms),
            "tracking_missed": self.missed,
        }
