"""The benchmark's baseline: the saga's shape with nothing in it (9 no-op activities, 3 signals), and its driver.

The benchmark's worker runs the workflow in the SDK's sandbox like OrderWorkflow, with this module passed
through rather than executed again for every workflow; it imports nothing but temporalio at run time.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow
from temporalio.client import Client

if TYPE_CHECKING:
    from tools.loadgen import Recorder

LIFECYCLE_SECONDS = 60.0


def _noop(name: str) -> Callable[[], Awaitable[None]]:
    async def noop() -> None:
        return None

    return activity.defn(name=name)(noop)


bare_validate, bare_charge, bare_save, bare_queue, bare_notify, bare_record = BARE_ACTIVITIES = [
    _noop(f"bare_{step}") for step in ("validate", "charge", "save", "queue", "notify", "record")
]


@workflow.defn(name="BareOrderWorkflow")
class BareOrderWorkflow:
    """9 no-op activities and 3 signals where the saga has its steps and the kitchen's updates."""

    def __init__(self) -> None:
        self._signals = 0

    @workflow.signal(name="kitchen_step")
    def kitchen_step(self) -> None:
        self._signals += 1

    @workflow.run
    async def run(self) -> int:
        for step in (bare_validate, bare_charge, bare_save, bare_queue, bare_notify):
            await self._noop(step)
        await workflow.wait_condition(lambda: self._signals >= 1)  # preparing
        await self._noop(bare_save)
        await workflow.wait_condition(lambda: self._signals >= 2)  # ready
        await self._noop(bare_save)
        await self._noop(bare_notify)
        await workflow.wait_condition(lambda: self._signals >= 3)  # completed
        await self._noop(bare_record)
        return self._signals

    async def _noop(self, step: Callable[[], Awaitable[None]]) -> None:
        await workflow.execute_activity(step, start_to_close_timeout=timedelta(seconds=10))


class Bare:
    """Drives bare workflows as the benchmark drives orders: started, moved on by 3 signals, awaited."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def lifecycle(self, rec: "Recorder", workflow_id: str, planned: float | None = None) -> str | None:
        """start_workflow, 3 signals, the result."""
        started = rec.started(planned)
        try:
            async with asyncio.timeout(LIFECYCLE_SECONDS):
                handle = await self.client.start_workflow(
                    BareOrderWorkflow.run, id=workflow_id, task_queue=self.task_queue
                )
                rec.first_ms.append((time.perf_counter() - started) * 1000)
                rec.answers["start_workflow ok"] += 1
                for _ in range(3):
                    await handle.signal(BareOrderWorkflow.kitchen_step)
                await handle.result()
        except Exception as err:  # any failure of the call counts; the run goes on
            rec.error("bare lifecycle", None, f"{type(err).__name__}: {err}")
            return None
        rec.done(workflow_id, started)
        return workflow_id
