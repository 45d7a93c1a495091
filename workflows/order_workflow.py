"""OrderWorkflow: one pizza order as a saga. Place it, follow the kitchen, and undo it all if it comes to that.

Steps that touch only the local database run as local activities (no round trip to the
server); the charge and the refund are regular activities so that ops see their attempts.
Handlers change state through the domain; the side effects of a change run in `run`.
Beside it: what ops see besides the history (order_view.py), reading raw signals (order_signals.py),
the steps' timeouts and retries (order_steps.py) and the undo stack (compensations.py).

Running orders replay this code: a change to the commands it issues (activities, timers, their order)
is made behind `workflow.patched` (see docs/changing-workflows.md).
"""

import asyncio
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, FailureError, WorkflowAlreadyStartedError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.payments.activities import (
        PAYMENT_DECLINED,
        PAYMENTS_MISCONFIGURED,
        ChargeRequest,
        PaymentActivities,
    )
    from activities.store.activities import INVALID_ORDER, KitchenTicket, StoreActivities, ValidateOrder
    from activities.store.stock_activities import OUT_OF_STOCK, StockActivities, StockHold, StockRequest
    from domain.messages import cancelled_text, confirmation_text, delivery_failed_text, late_text, ready_text
    from domain.order import Order, OrderStatus, PaymentMethod
    from workflows import order_steps as steps
    from workflows.compensations import Compensations
    from workflows.delivery_contract import DeliveryNews, DeliveryNote, DeliveryOutcome, DeliveryReport, DeliveryStart
    from workflows.delivery_workflow import DeliveryWorkflow
    from workflows.order_contract import (
        DELIVERY_OUTCOME,
        DISPATCH_LATE,
        WORKFLOW_TYPE,
        CancelRequest,
        CarriedOver,
        OrderResult,
        OrderStart,
        Rejection,
        delivery_workflow_id,
    )
    from workflows.order_handlers import FAILED_DELIVERY, OPS, OrderHandlers
    from workflows.order_story import delivery_story, delivery_summary
    from workflows.order_view import OrderView

NOTIFIER = "notifier"
# The compensations, by name.
REFUND = "refund the card"
LEAVE_KITCHEN = "leave the kitchen's queue"
RELEASE_STOCK = "release the stock"
# A patch (docs/changing-workflows.md): a long history while waiting for the kitchen continues as new.
CONTINUE_AS_NEW_PATCH = "continue-as-new-while-waiting-for-the-kitchen"
# A patch: the order reserves the stock it needs before the charge (and consumes it at preparing).
STOCK_PATCH = "reserve-stock-before-the-charge"
# A patch: a delivery order that becomes ready starts its DeliveryWorkflow (orders ready before it have none).
DELIVERY_CHILD_PATCH = "delivery-runs-as-a-child-workflow"


T = TypeVar("T")


class _CancelRequested(Exception):
    """A cancel was asked for: the saga stops where it stands and compensates."""


@workflow.defn(name=WORKFLOW_TYPE)
class OrderWorkflow(OrderHandlers):
    @workflow.init
    def __init__(self, start: OrderStart) -> None:
        super().__init__(start)
        self._view = OrderView(start)
        self._undo = Compensations()
        self._refund_id: str | None = None
        self._ready_told = False
        self._sla_watch: asyncio.Task[None] | None = None
        self._sla_due: datetime | None = None  # while the kitchen's promise is watched
        self._telling_late = False
        self._may_continue_as_new = True
        # The order's delivery: its child, or (in a run that continued as new) the same workflow by its ID.
        self._delivery: (
            workflow.ChildWorkflowHandle[DeliveryWorkflow, DeliveryReport] | workflow.ExternalWorkflowHandle[Any] | None
        ) = None
        if start.carried_over is not None:
            self._carry_on(start.carried_over)

    def _carry_on(self, carried: CarriedOver) -> None:
        """Pick the order up where the previous run left it: waiting for the kitchen or for its delivery."""
        self._order = carried.order
        self._settled = True
        self._ready_told = carried.ready_told
        self._sla_due = carried.sla_due
        if carried.delivery_started:
            self._delivery = workflow.get_external_workflow_handle(delivery_workflow_id(carried.order.id))
        # What undoing the order would take, as `_place` pushed it: release the stock, refund a card, leave the
        # kitchen (not once it is out of the door).
        if carried.stock_held:
            self._undo.push(RELEASE_STOCK, self._release_stock)
        if self._start.request.payment_method is PaymentMethod.CARD:
            self._undo.push(REFUND, self._refund)
        if carried.order.status is not OrderStatus.OUT_FOR_DELIVERY:
            self._undo.push(LEAVE_KITCHEN, self._leave_kitchen)

    @workflow.run
    async def run(self, start: OrderStart) -> OrderResult:
        """Place the order (unless a previous run did), follow the kitchen, undo it all if it comes to that."""
        placed = start.carried_over is not None
        if placed:
            self._view.describe(self._order, self._rejection)
        else:
            self._view.received()
        try:
            if placed or await self._place():
                await self._follow_kitchen()
        except _CancelRequested:
            pass  # compensated below
        except asyncio.CancelledError:
            # Cancelled in Temporal (ops): compensate like a customer's cancel.
            self._cancelled_in_temporal()
        except FailureError as err:
            if is_cancelled_exception(err):
                # The same cancel, landing on an activity in flight: it arrives as that activity's failure.
                self._cancelled_in_temporal()
            else:
                # A placement step failed for good (its retries ran out): undo what was done.
                if self._order is not None and not self._order.is_cancellable:
                    raise
                self._failure = (
                    f"{err.activity_type} failed: {err.cause}" if isinstance(err, ActivityError) else str(err)
                )
                workflow.logger.error("order %s: %s; compensating", start.order_id, self._failure)
        if self._order is not None and not self._order.is_final:
            await self._compensate_to_the_end()
        elif self._order is None:
            self._reached(OrderStatus.CANCELLED if self._cancel else OrderStatus.REJECTED)
        await self._delivery_ended()
        self._settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    # --- placing the order ----------------------------------------------------------------

    async def _place(self) -> bool:
        """Validate, charge, store, queue, tell the customer. True once the order is confirmed."""
        request, order_id = self._start.request, self._start.order_id
        try:
            items = await workflow.execute_local_activity_method(
                StoreActivities.validate_order,
                ValidateOrder(order_id, request.lines()),
                summary=f"price {len(request.pizzas)} line(s) from today's menu",
                **steps.VALIDATION_STEP,
            )
        except FailureError as err:
            if (invalid := steps.business_error(err, INVALID_ORDER)) is None:
                raise
            self._rejection = Rejection(kind="invalid", detail=invalid.message)
            self._reached(OrderStatus.REJECTED)
            self._settled = True
            return False
        self._order = Order.place(
            order_id, request.customer(), request.fulfilment, items, request.payment_method, workflow.info().start_time
        )
        self._view.priced(self._order)
        self._checkpoint()
        if workflow.patched(STOCK_PATCH):
            if not await self._reserve_stock():
                return False
            self._checkpoint()
        if request.payment_method is PaymentMethod.CARD:
            # Pushed before the charge: a charge whose outcome is unknown is still refunded.
            self._undo.push(REFUND, self._refund)
            if not await self._charge(request.payment_token or ""):
                return False
            self._checkpoint()
        # Paid: stored as confirmed, then queued, in one workflow task. It counts as confirmed once stored.
        confirmed = deepcopy(self._order)
        confirmed.confirm(workflow.now())
        await self._db(StoreActivities.save_order, "store the order as confirmed", confirmed, placing=True)
        self._order = confirmed
        self._undo.push(LEAVE_KITCHEN, self._leave_kitchen)
        await self._db(
            StoreActivities.queue_in_kitchen,
            "put the order in the kitchen's queue",
            KitchenTicket(order_id),
            placing=True,
        )
        self._checkpoint()
        self._reached(OrderStatus.CONFIRMED)
        self._settled = True
        await self._notify("confirmation", confirmation_text(self._order))
        return True

    async def _charge(self, payment_token: str) -> bool:
        """Charge the card; a decline rejects the order. False when the saga stops here."""
        assert self._order is not None
        try:
            receipt = await workflow.execute_activity_method(
                PaymentActivities.charge_payment,
                ChargeRequest(self._order.id, self._order.total, payment_token),
                summary=f"charge ${self._order.total} to the card",
                **steps.CHARGE_STEP,
            )
        except FailureError as err:
            if steps.business_error(err, PAYMENTS_MISCONFIGURED):
                self._undo.drop(REFUND)  # the provider refused the request itself: nothing was charged
            if (declined := steps.business_error(err, PAYMENT_DECLINED)) is None:
                raise
            self._undo.drop(REFUND)  # nothing was charged
            await self._undo.run()  # what was done before the charge (the stock it reserved)
            code = declined.details[0] if declined.details else None
            self._rejection = Rejection(kind="declined", detail=declined.message, decline_code=code)
            self._order.reject(workflow.now(), f"card declined: {declined.message}", by="payments")
            self._reached(OrderStatus.REJECTED)
            await self._db(StoreActivities.record_rejection, "record the declined order")
            self._settled = True
            return False
        self._order.record_payment(receipt.transaction_id)
        return True

    async def _reserve_stock(self) -> bool:
        """Reserve the portions of tracked ingredients; short of one, the order is refused. False when it was."""
        assert self._order is not None
        # Pushed before the step: a reserve whose outcome is unknown (cancelled in flight) is still released.
        self._undo.push(RELEASE_STOCK, self._release_stock)
        try:
            reserved = await workflow.execute_local_activity_method(
                StockActivities.reserve_stock,
                StockRequest(self._order.id, self._order.items),
                summary=f"reserve the ingredients of {self._order.pizza_count} pizza(s)",
                **steps.PLACEMENT_DATABASE_STEP,
            )
        except FailureError as err:
            if (short := steps.business_error(err, OUT_OF_STOCK)) is None:
                raise
            self._undo.drop(RELEASE_STOCK)  # nothing was reserved
            self._rejection = Rejection(kind="invalid", detail=short.message)
            self._order.reject(workflow.now(), short.message, by="stock")
            self._reached(OrderStatus.REJECTED)
            await self._db(StoreActivities.record_rejection, "record the order refused for want of stock")
            self._settled = True
            return False
        if not reserved:
            self._undo.drop(RELEASE_STOCK)  # no ingredient of the order is tracked
        return True

    # --- following the kitchen ------------------------------------------------------------

    async def _follow_kitchen(self) -> None:
        """Apply the kitchen's and the driver's steps as they come, until completed, cancelled or failed."""
        assert self._order is not None
        order = self._order
        # Never cancelled: a workflow that ends first simply drops it, which costs no history event.
        if self._start.carried_over is None:
            self._sla_due = workflow.now() + timedelta(seconds=self._start.kitchen_sla_seconds)
        if self._sla_due is not None:  # a run carried on after the promise was kept or broken has none
            self._sla_watch = asyncio.create_task(self._watch_sla(self._sla_due))
        handled = order.status
        while True:
            try:
                await workflow.wait_condition(partial(self._moved_on, order, handled))
                self._checkpoint()
                status = order.status
                if status is handled:
                    if order.delivery_failed:
                        return  # compensated by `run`
                    # Woken by the history's length alone; orders started before this could continue do not.
                    if workflow.patched(CONTINUE_AS_NEW_PATCH):
                        self._continue_as_new()
                    self._may_continue_as_new = False
                    continue
                if status is OrderStatus.COMPLETED:
                    await self._completed()
                    return
                self._reached(status)
                await self._use_stock()
                if status is OrderStatus.OUT_FOR_DELIVERY:
                    await self._left_with_driver()
                else:
                    await self._db(StoreActivities.save_order, f"store the order as {status}")
                if status is OrderStatus.READY:
                    await self._tell_ready()
                    if order.is_delivery and workflow.patched(DELIVERY_CHILD_PATCH):
                        await self._start_delivery()
                handled = status
            except (asyncio.CancelledError, FailureError) as err:
                # A cancel in Temporal that lands on a step in flight arrives as the step's failure.
                if order.is_cancellable or not is_cancelled_exception(err):
                    raise
                workflow.logger.warning("order %s is %s and can no longer be cancelled", order.id, order.status)

    async def _completed(self) -> None:
        """Completed: by its driver, or by the kitchen (handed over at the counter, or by a driver off the system)."""
        order = self._order
        assert order is not None
        delivered = order.delivery is not None
        if self._delivery is not None:
            outcome = DeliveryOutcome.DELIVERED if delivered else DeliveryOutcome.HANDED_OVER
            self._view.also_set(DELIVERY_OUTCOME.value_set(outcome.value))
        self._reached(OrderStatus.COMPLETED)
        await self._use_stock()
        if not delivered:
            await self._tell_ready()
        # The delivery is told and the sale recorded in one workflow task.
        await asyncio.gather(
            self._tell_delivery(DeliveryNews.DELIVERED if delivered else DeliveryNews.HANDED_OVER),
            self._db(StoreActivities.record_completion, f"record the sale of ${order.total}"),
        )

    async def _left_with_driver(self) -> None:
        """Picked up: stored, and the delivery told (started first if the order was picked up as it became ready,
        or was ready before deliveries had a workflow of their own)."""
        # Out of the door: nothing to take out of the kitchen any more, only the card to give back.
        self._undo.keep_only(REFUND)
        if self._delivery is None:
            await self._start_delivery()
        stored = self._db(StoreActivities.save_order, f"store the order as {OrderStatus.OUT_FOR_DELIVERY}")
        await asyncio.gather(stored, self._tell_delivery(DeliveryNews.PICKED_UP))

    def _moved_on(self, order: Order, seen: OrderStatus) -> bool:
        """Whether the order moved on from `seen`, its delivery failed, a cancel came, or it should continue as new."""
        moved = order.status is not seen or order.delivery_failed or self._cancel is not None
        return moved or self._time_to_move_on()

    async def _watch_sla(self, due: datetime) -> None:
        left = due - workflow.now()
        if left > timedelta(0):
            sla = timedelta(seconds=self._start.kitchen_sla_seconds)
            await workflow.sleep(left, summary=f"kitchen promise: ready within {steps.duration(sla)}, else say sorry")
        self._sla_due = None
        order = self._order
        if order and order.status in (OrderStatus.CONFIRMED, OrderStatus.PREPARING) and not self._cancel:
            self._telling_late = True
            try:
                await self._notify("late", late_text(order))
            finally:
                self._telling_late = False

    async def _tell_ready(self) -> None:
        assert self._order is not None
        if not self._ready_told:
            self._ready_told = True
            await self._notify("ready", ready_text(self._order))

    def _time_to_move_on(self) -> bool:
        """Whether this run's history is long enough to continue as new, and nothing is under way that would be lost."""
        if not self._may_continue_as_new or self._telling_late or not workflow.all_handlers_finished():
            return False
        info = workflow.info()
        long_enough = info.get_current_history_length() >= self._start.continue_after_events
        return long_enough or info.is_continue_as_new_suggested()

    def _continue_as_new(self) -> None:
        """A fresh run, with the order as it stands, the ready text told or not, and the promise still watched."""
        assert self._order is not None
        workflow.logger.info(
            "order %s continues as new after %d events", self._order.id, workflow.info().get_current_history_length()
        )
        carried = CarriedOver(
            order=self._order,
            ready_told=self._ready_told,
            sla_due=self._sla_due,
            stock_held=RELEASE_STOCK in self._undo.names(),
            delivery_started=self._delivery is not None,
        )
        workflow.continue_as_new(self._start.model_copy(update={"carried_over": carried}))

    # --- the delivery ---------------------------------------------------------------------

    async def _start_delivery(self) -> None:
        """Start the order's DeliveryWorkflow, a child that keeps the delivery's story.

        The order may still continue as new while it waits for a driver (a flood of signals): the child is
        abandoned by the run that started it rather than closed with it, and the next run tells it the steps
        by its ID. Only the run that started it waits for its end; after it, the child ends by itself once told.
        """
        order = self._order
        assert order is not None
        sla = self._start.delivery_pickup_sla_seconds
        try:
            self._delivery = await workflow.start_child_workflow(
                DeliveryWorkflow.run,
                DeliveryStart(order=order, pickup_sla_seconds=sla),
                id=delivery_workflow_id(order.id),
                static_summary=delivery_summary(order, sla),
                static_details=delivery_story(order),
                search_attributes=TypedSearchAttributes([SearchAttributePair(DISPATCH_LATE, False)]),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            # Only by hand (ops started one): the order goes on without its story, and never fails for it.
            workflow.logger.error("order %s: its delivery workflow is already running; going on without it", order.id)

    async def _tell_delivery(self, news: DeliveryNews, request: CancelRequest | None = None) -> None:
        """Pass a step on to the delivery, if the order has one; a delivery that is gone never stops the order."""
        order = self._order
        if self._delivery is None or order is None:
            return
        last = request or order.history[-1]  # who made the step, and their note
        note = DeliveryNote(by=last.by, notes=last.notes)
        try:
            await self._delivery.signal(news.value, note)
        except FailureError as err:
            workflow.logger.error("order %s: the delivery was not told %s: %s", order.id, news, err)

    async def _delivery_ended(self) -> None:
        """Wait for the delivery (started by this run) to end its story, so that the order closes after it."""
        delivery = self._delivery
        if not isinstance(delivery, workflow.ChildWorkflowHandle):
            return
        try:
            report = await self._to_the_end(delivery, "waiting for its delivery to end")
        except FailureError as err:
            workflow.logger.error("order %s: its delivery ended badly: %s", self._start.order_id, err)
            return
        late = " (dispatched late)" if report.dispatch_late else ""
        workflow.logger.info("order %s: delivery %s%s", self._start.order_id, report.outcome, late)

    # --- undoing it -----------------------------------------------------------------------

    async def _compensate_to_the_end(self) -> None:
        """Compensate, shielded: a cancel from Temporal meanwhile must not cut a refund short."""
        await self._to_the_end(asyncio.create_task(self._compensate()), "being undone; undoing goes on")

    async def _to_the_end(self, task: "asyncio.Task[T]", doing: str) -> T:
        """Wait for a task, shielded from a cancel in Temporal meanwhile (logged)."""
        while True:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.cancelled():
                    raise
                workflow.logger.warning("order %s: cancelled in Temporal while %s", self._start.order_id, doing)

    async def _compensate(self) -> None:
        """Undo the steps already done, newest first, then mark the order cancelled and say so."""
        assert self._order is not None
        failed = self._order.delivery_failed
        request = self._delivery_failure or self._cancel or CancelRequest(by="system", notes=self._failure)
        if failed:
            await self._tell_delivery(DeliveryNews.FAILED, request)
        await self._undo.run()
        self._order.cancel(workflow.now(), request.by, request.notes, self._refund_id)
        if failed and self._delivery is not None:
            self._view.also_set(DELIVERY_OUTCOME.value_set(DeliveryOutcome.FAILED.value))
        self._reached(OrderStatus.CANCELLED)
        await self._db(StoreActivities.record_cancellation, "record the cancellation")
        self._settled = True
        if failed:
            await self._notify(FAILED_DELIVERY, delivery_failed_text(self._order))
        else:
            await self._notify("cancelled", cancelled_text(self._order))
        self._undone = True

    async def _refund(self) -> None:
        assert self._order is not None
        self._refund_id = await steps.refund(self._order)

    async def _use_stock(self) -> None:
        """The kitchen has started the order (ops' signals may skip ahead): what it holds of the stock is used."""
        if RELEASE_STOCK in self._undo.names():
            await self._stock_step(StockActivities.consume_stock, "take the reserved ingredients")
            self._undo.drop(RELEASE_STOCK)  # used now: a cancel from here on gives nothing back

    async def _release_stock(self) -> None:
        await self._stock_step(StockActivities.release_stock, "release the reserved ingredients")

    async def _stock_step(self, step: Callable[[StockActivities, StockHold], None], summary: str) -> None:
        assert self._order is not None
        await workflow.execute_local_activity_method(
            step, StockHold(self._order.id), summary=summary, **steps.DATABASE_STEP
        )

    async def _leave_kitchen(self) -> None:
        assert self._order is not None
        ticket = KitchenTicket(self._order.id)
        await self._db(StoreActivities.remove_from_kitchen, "take the order out of the kitchen's queue", ticket)

    # --- the steps every part shares ------------------------------------------------------

    def _checkpoint(self) -> None:
        """Stop the saga here if a cancel was asked for (customer, staff, or ops in Temporal)."""
        if self._cancel is not None:
            raise _CancelRequested

    def _reached(self, status: OrderStatus) -> None:
        self._view.reached(status, self._order, self._rejection)

    async def _db(
        self, step: Callable[[StoreActivities, Any], None], summary: str, arg: object = None, placing: bool = False
    ) -> None:
        """A local database step, given the order as it stands unless told otherwise."""
        await steps.store(step, arg or self._order, summary, placing)

    async def _notify(self, kind: str, text: str) -> None:
        assert self._order is not None
        failure = await steps.text_customer(self._order, kind, text)
        if failure is None:
            return
        if is_cancelled_exception(failure):
            self._cancelled_in_temporal()  # a cancel in Temporal cut the text short: honour the cancel
            return
        # Given up: the order goes on. The note puts it where the kitchen and ops read the order.
        reason = steps.failure_reason(failure)
        workflow.logger.warning("order %s: the %s text was not sent: %s", self._order.id, kind, reason)
        self._order.note(workflow.now(), NOTIFIER, f"{kind} text not sent: {reason}")
        self._view.describe(self._order, self._rejection)

    def _cancelled_in_temporal(self) -> None:
        """Ops cancelled the workflow: cancel the order like a customer would, while that is allowed."""
        if self._cancel is None and (self._order is None or self._order.is_cancellable):
            self._cancel = CancelRequest(by=OPS, notes="workflow cancelled in Temporal")
