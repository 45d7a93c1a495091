"""`python worker.py` after a change to the workflow: the next version of the code, for the rolling upgrade drill.

The change is the one docs/changing-workflows.md gives as its example: once the order is in the kitchen's
queue, its ticket is printed, a new step (a local activity, here a line in the worker's log). It sits
behind `workflow.patched(PRINT_TICKET_PATCH)`, so an order placed before the deploy replays its history
without the step; `UnpatchedOrderWorkflow` is the same change made without the patch, which such an
order's history no longer fits.

Run as `python -m tests.e2e.upgraded_worker`, with the same environment as `python worker.py`.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

import worker
from activities.store.activities import KitchenTicket, StoreActivities
from observability import configure_logging
from settings import load_settings
from workflows.order_contract import WORKFLOW_TYPE, OrderResult, OrderStart
from workflows.order_workflow import OrderWorkflow

PRINT_TICKET_PATCH = "print-kitchen-ticket"
PRINT_TICKET = "print_kitchen_ticket"
TICKET_PRINTED = "kitchen ticket printed for order"  # the worker's log line, followed by the order's id


@activity.defn(name=PRINT_TICKET)
async def print_kitchen_ticket(ticket: KitchenTicket) -> None:
    """The new step: the kitchen's printer gets the order's ticket."""
    activity.logger.info(f"{TICKET_PRINTED} %s", ticket.order_id)


@workflow.defn(name=WORKFLOW_TYPE)
class PatchedOrderWorkflow(OrderWorkflow):
    """OrderWorkflow, and once the order is queued in the kitchen its ticket is printed: behind a patch."""

    @workflow.run
    async def run(self, start: OrderStart) -> OrderResult:
        return await super().run(start)

    async def _db(
        self, step: Callable[[StoreActivities, Any], None], summary: str, arg: object = None, placing: bool = False
    ) -> None:
        await super()._db(step, summary, arg, placing)
        if step is StoreActivities.queue_in_kitchen and self._prints_ticket():
            await workflow.execute_local_activity(
                print_kitchen_ticket,
                KitchenTicket(self._start.order_id),
                summary="print the kitchen's ticket",
                start_to_close_timeout=timedelta(seconds=10),
            )

    def _prints_ticket(self) -> bool:
        # False only while replaying an order that was queued before the change: it took the old path.
        return workflow.patched(PRINT_TICKET_PATCH)


@workflow.defn(name=WORKFLOW_TYPE)
class UnpatchedOrderWorkflow(PatchedOrderWorkflow):
    """The same change made without the patch: every order prints its ticket, even one queued before it."""

    @workflow.run
    async def run(self, start: OrderStart) -> OrderResult:
        return await super().run(start)

    def _prints_ticket(self) -> bool:
        return True


def upgraded_worker(client: Client, **options: Any) -> Worker:
    """The Worker that `worker.build_worker` asks for, hosting the changed workflow and its new activity."""
    # The changed order in place of today's; every other workflow (its deliveries) as the worker hosts it.
    options["workflows"] = [PatchedOrderWorkflow, *(w for w in options["workflows"] if w is not OrderWorkflow)]
    options["activities"] = [*options["activities"], print_kitchen_ticket]
    return Worker(client, **options)


if __name__ == "__main__":
    process_settings = load_settings()
    configure_logging(process_settings)
    worker.Worker = upgraded_worker  # what `worker.build_worker` builds
    asyncio.run(worker.serve(process_settings))
