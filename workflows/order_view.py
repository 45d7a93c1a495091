"""What ops see of a running order besides its history: search attributes, the UI's details, metrics, a log line.

The workflow says when the order reaches a status; this keeps the rest in step. Search attributes are
upserted only with a status change (so they cost no event of their own), which a replay checks.
"""

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from domain.order import Order, OrderStatus
from workflows.order_contract import FULFILMENT, ORDER_STATUS, ORDER_TOTAL, PAYMENT_METHOD, OrderStart, Rejection
from workflows.order_metrics import record_status
from workflows.order_story import current_details, order_summary


class OrderView:
    def __init__(self, start: OrderStart) -> None:
        self._start = start
        carried = start.carried_over
        self._shown = carried.order.status if carried is not None else OrderStatus.RECEIVED
        # Search attributes to set with the next status: no upsert of their own, no event of their own.
        self._pending: list[SearchAttributeUpdate] = []

    def received(self) -> None:
        """A new order: counted; started by hand (not by the API), it gets the search attributes the API sets."""
        self._count(OrderStatus.RECEIVED, None, None)
        if workflow.info().typed_search_attributes.get(ORDER_STATUS) is None:
            request = self._start.request
            self._pending += [
                FULFILMENT.value_set(request.fulfilment.value),
                PAYMENT_METHOD.value_set(request.payment_method.value),
            ]
            self.reached(OrderStatus.RECEIVED, None, None, force=True)

    def priced(self, order: Order) -> None:
        """The order has its total: ops filter by it from the next status on."""
        if workflow.info().typed_search_attributes.get(ORDER_TOTAL) != float(order.total):
            self._pending.append(ORDER_TOTAL.value_set(float(order.total)))

    def also_set(self, update: SearchAttributeUpdate) -> None:
        """A search attribute to set with the next status (no event of its own)."""
        self._pending.append(update)

    def reached(
        self, status: OrderStatus, order: Order | None, rejection: Rejection | None, force: bool = False
    ) -> None:
        """The order reached a status: tell the search attributes, the UI's details, the metrics and the log."""
        if force or status is not self._shown:
            before, self._shown = self._shown, status
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value), *self._pending])
            self._pending.clear()
            workflow.logger.info("order %s is %s", self._start.order_id, status)
            if status is not before:
                self._count(status, order, rejection, before)
        self.describe(order, rejection)

    def describe(self, order: Order | None, rejection: Rejection | None) -> None:
        """What the Temporal UI shows as the order's current details."""
        if order is not None and self._start.carried_over is not None:
            # A run that continued as new has no summary of its own (Temporal keeps it on the first run).
            summary = order_summary(order.id, order.pizza_count, order.total, order.fulfilment)
            workflow.set_current_details(f"{summary} (continued as new)\n\n{current_details(order)}")
        elif order is not None:
            workflow.set_current_details(current_details(order))
        elif rejection is not None:
            workflow.set_current_details(f"**rejected**: {rejection.detail}")

    def _count(
        self,
        status: OrderStatus,
        order: Order | None,
        rejection: Rejection | None,
        before: OrderStatus | None = None,
    ) -> None:
        request = self._start.request
        labels = {"fulfilment": request.fulfilment.value, "payment_method": request.payment_method.value}
        if status is OrderStatus.REJECTED:
            labels["reason"] = rejection.kind if rejection else "failed"
        if status is OrderStatus.CANCELLED and before is not None:
            labels["stage"] = before.value  # the status it was cancelled in
        placed_at = order.placed_at if order else None
        record_status(workflow.metric_meter(), status, labels, placed_at, workflow.now())
