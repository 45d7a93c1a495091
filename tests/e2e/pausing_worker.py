"""`python worker.py` with one addition for fault tests: it parks chosen activities of chosen orders.

`PARKING_FILE` names a JSON list of places, each `{"order_id", "activity", "when": "before"|"after"}`.
The file is read again for every activity, so a test adds places while the worker runs. An activity
that reaches a place waits there (the worker goes on with everything else) until the place is taken
out of the file, or the process is killed; each arrival is written as a line to `PARKING_FILE.parked`.

Run as `python -m tests.e2e.pausing_worker`, with the same environment as `python worker.py`.
"""

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from observability import configure_logging
from settings import load_settings
from worker import serve

POLL_SECONDS = 0.05


def places(parking: Path) -> list[dict[str, str]]:
    """The places to park at, as the test last wrote them."""
    try:
        return json.loads(parking.read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or half written
        return []


class Parking(Interceptor):
    def __init__(self, parking: Path) -> None:
        self._parking = parking

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ParkingActivity(next, self._parking)


class _ParkingActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, parking: Path) -> None:
        super().__init__(next)
        self._parking = parking

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        order_id, name = info.workflow_id.removeprefix("order-"), info.activity_type
        await self._park({"order_id": order_id, "activity": name, "when": "before"})
        result = await self.next.execute_activity(input)
        await self._park({"order_id": order_id, "activity": name, "when": "after"})
        return result

    async def _park(self, place: dict[str, str]) -> None:
        if place not in places(self._parking):
            return
        with open(f"{self._parking}.parked", "a") as arrivals:
            arrivals.write(f"{place['order_id']} {place['activity']} {place['when']}\n")
        # Async: the event loop, and with it every other order on this worker, carries on meanwhile.
        while place in places(self._parking):
            await asyncio.sleep(POLL_SECONDS)


if __name__ == "__main__":
    process_settings = load_settings()
    configure_logging(process_settings)
    asyncio.run(serve(process_settings, [Parking(Path(os.environ["PARKING_FILE"]))]))
