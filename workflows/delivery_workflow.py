"""DeliveryWorkflow: a delivery order from ready to the customer's door, as a child of its order's workflow.

Its history is the delivery's story: waiting for a driver under the pickup promise (flagged late and the
customer told once if it passes), picked up (the customer told), then delivered, failed, or handed over by
the kitchen (no driver came into it). The order's workflow decides each step and tells it by signal; this
workflow keeps the story, the texts of the way and what ops filter deliveries by.
"""

from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from domain.messages import dispatch_late_text, picked_up_text
    from domain.order import Order
    from workflows import order_steps as steps
    from workflows.delivery_contract import (
        ENDS,
        DeliveryNews,
        DeliveryNote,
        DeliveryOutcome,
        DeliveryReport,
        DeliveryStart,
    )
    from workflows.order_contract import DELIVERY_OUTCOME, DELIVERY_WORKFLOW_TYPE, DISPATCH_LATE
    from workflows.order_metrics import count_delivery_end, count_dispatch_late
    from workflows.order_story import delivery_details

# What each stage of the delivery waits for; anything else sent to it changes nothing.
WAITING_FOR = {
    "waiting": (DeliveryNews.PICKED_UP, DeliveryNews.HANDED_OVER),
    "out": (DeliveryNews.DELIVERED, DeliveryNews.FAILED),
}


@workflow.defn(name=DELIVERY_WORKFLOW_TYPE)
class DeliveryWorkflow:
    @workflow.init
    def __init__(self, start: DeliveryStart) -> None:
        self._order: Order = start.order
        # The stage the steps received so far lead to; the run catches up with them one by one.
        self._stage = "waiting"
        self._steps: list[tuple[DeliveryNews, DeliveryNote]] = []
        self._note: DeliveryNote | None = None
        self._driver: str | None = None
        self._late = False

    @workflow.run
    async def run(self, start: DeliveryStart) -> DeliveryReport:
        """Wait for a driver (flagged late past the promise), then for the delivery's end."""
        sla = timedelta(seconds=start.pickup_sla_seconds)
        self._describe("**waiting for a driver**")
        try:
            await workflow.wait_condition(
                self._heard,
                timeout=sla,
                timeout_summary=f"pickup promise: a driver within {steps.duration(sla)}, else flagged late",
            )
        except TimeoutError:
            await self._flag_late(sla)
            await workflow.wait_condition(self._heard)
        if self._take() is DeliveryNews.HANDED_OVER:
            return self._end(DeliveryOutcome.HANDED_OVER)
        assert self._note is not None
        self._driver = self._note.by
        self._describe(f"**out for delivery** with {self._driver}")
        await self._text("picked up", picked_up_text(self._order))
        await workflow.wait_condition(self._heard)
        return self._end(ENDS[self._take()])

    @workflow.signal(dynamic=True, description="picked_up, delivered, delivery_failed, handed_over: {by, notes?}")
    def on_news(self, name: str, args: Sequence[RawValue]) -> None:
        """A step of the delivery, sent by its order's workflow; one that does not fit now changes nothing."""
        if name not in WAITING_FOR.get(self._stage, ()):
            workflow.logger.warning("delivery %s: %r ignored while %s", self._order.id, name[:100], self._stage)
            return
        try:
            note = workflow.payload_converter().from_payload(args[0].payload, DeliveryNote) if len(args) == 1 else None
        except Exception as err:  # whatever it is, it is not a note: pydantic's, the codec's, JSON's errors
            workflow.logger.warning("delivery %s: %s ignored: %.300s", self._order.id, name, err)
            return
        if note is None:
            workflow.logger.warning("delivery %s: %s ignored: %d payloads", self._order.id, name, len(args))
            return
        news = DeliveryNews(name)
        self._steps.append((news, note))
        self._stage = "out" if news is DeliveryNews.PICKED_UP else "ended"

    def _heard(self) -> bool:
        return bool(self._steps)

    def _take(self) -> DeliveryNews:
        """The next step received, in the order they came."""
        news, self._note = self._steps.pop(0)
        return news

    async def _flag_late(self, sla: timedelta) -> None:
        """No driver within the promise: ops see it, the metric counts it, the customer is told once."""
        self._late = True
        workflow.upsert_search_attributes([DISPATCH_LATE.value_set(True)])
        count_dispatch_late(workflow.metric_meter())
        workflow.logger.warning("delivery %s: no driver within %s", self._order.id, steps.duration(sla))
        self._describe(f"**waiting for a driver**, late: past the {steps.duration(sla)} pickup promise")
        await self._text("dispatch late", dispatch_late_text(self._order))

    async def _text(self, kind: str, text: str) -> None:
        failure = await steps.text_customer(self._order, kind, text)
        if failure is not None:  # a text never holds the delivery up
            workflow.logger.warning(
                "delivery %s: the %s text was not sent: %s", self._order.id, kind, steps.failure_reason(failure)
            )

    def _end(self, outcome: DeliveryOutcome) -> DeliveryReport:
        note = self._note
        workflow.upsert_search_attributes([DELIVERY_OUTCOME.value_set(outcome.value)])
        count_delivery_end(workflow.metric_meter(), outcome.value, self._late)
        why = f": {note.notes}" if outcome is DeliveryOutcome.FAILED and note and note.notes else ""
        self._describe(f"**{outcome}** (by {note.by if note else '?'}){why}")
        return DeliveryReport(outcome=outcome, dispatch_late=self._late, driver=self._driver)

    def _describe(self, stage: str) -> None:
        workflow.set_current_details(delivery_details(self._order, stage, workflow.now(), self._late))
