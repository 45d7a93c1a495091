"""OrderWorkflow: one pizza order as a saga, from the charge to the last slice.

Steps that touch only the local database run as local activities (no round trip to the
server); the charge and the refund are regular activities so that ops see their attempts.
Handlers change state through the domain; the side effects of a change run in `run`.

Running orders replay this code: a change to the commands it issues (activities, timers, their order)
is made behind `workflow.patched` (see README, "Changing the workflow safely").
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from copy import deepcopy
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from domain.errors import IllegalTransition
    from domain.menu import OrderLine
    from domain.messages import cancelled_text, confirmation_text, late_text, ready_text
    from domain.order import Order, OrderStatus, PaymentMethod
    from domain.text import text_problem
    from workflows.order_contract import (
        FULFILMENT,
        IDEMPOTENCY_CONFLICT,
        ILLEGAL_TRANSITION,
        NOT_CANCELLABLE,
        ORDER_STATUS,
        ORDER_TOTAL,
        PAYMENT_METHOD,
        QUERY_ORDER,
        SIGNAL_CANCEL,
        SIGNAL_MARK_COMPLETED,
        SIGNAL_MARK_PREPARING,
        SIGNAL_MARK_READY,
        UPDATE_AWAIT_CONFIRMATION,
        UPDATE_CANCEL_ORDER,
        UPDATE_CHANGE_STATUS,
        WORKFLOW_TYPE,
        CancelRequest,
        CarriedOver,
        KitchenStep,
        OrderResult,
        OrderStart,
        Rejection,
        StaffNote,
    )
    from workflows.order_metrics import record_status
    from workflows.order_story import current_details, order_summary

# The local database while placing: quick steps, retried for ten minutes before the saga gives up.
PLACEMENT_DATABASE_STEP = dict(
    start_to_close_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)
# Once placed, an order is never given up on: the store catches up when it is back.
DATABASE_STEP = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)),
)
VALIDATION_STEP = dict(
    PLACEMENT_DATABASE_STEP,
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=10),
        non_retryable_error_types=[act.INVALID_ORDER],
    ),
)
# A charge that cannot be made within ten minutes is given up (and refunded, in case it went through).
CHARGE_STEP = dict(
    start_to_close_timeout=timedelta(seconds=30),
    schedule_to_close_timeout=timedelta(minutes=10),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=[act.PAYMENT_DECLINED]),
)
# Money owed back is retried until it is paid.
REFUND_STEP = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
)
# A text never holds up an order: the notifier makes a few quick tries itself, then it is given up.
# One attempt here: the SDK leaves a retried local activity's earlier timers running (sdk-rust#1454).
NOTIFY_STEP = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(maximum_attempts=1),
)

OPS = "ops"
NOTIFIER = "notifier"
KITCHEN_SIGNALS = {
    SIGNAL_MARK_PREPARING: OrderStatus.PREPARING,
    SIGNAL_MARK_READY: OrderStatus.READY,
    SIGNAL_MARK_COMPLETED: OrderStatus.COMPLETED,
}

# Patches: what orders started before a change replay without (README, "Changing the workflow safely").
# A long history while waiting for the kitchen continues as new.
CONTINUE_AS_NEW_PATCH = "continue-as-new-while-waiting-for-the-kitchen"
# A signal whose note has fields besides `by` and `notes`, or text a store cannot keep, is refused.
STRICT_SIGNALS_PATCH = "signals-refuse-notes-the-order-cannot-keep"


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes} min" if minutes else f"{span.total_seconds():g} s"


def _unkeepable(note: StaffNote) -> str | None:
    """Why a signal's note cannot be taken: fields it should not have, or text a store cannot keep (NUL)."""
    if note.model_extra:
        return f"unknown fields {', '.join(note.model_extra)}"
    by = note.by and text_problem(note.by)
    notes = note.notes and text_problem(note.notes, lines=True)
    return f"by {by}" if by else f"notes {notes}" if notes else None


def _business_error(err: FailureError, error_type: str) -> ApplicationError | None:
    """The business refusal behind an activity's failure (a local activity's arrives unwrapped)."""
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause if isinstance(cause, ApplicationError) and cause.type == error_type else None


@workflow.defn(name=WORKFLOW_TYPE)
class OrderWorkflow:
    @workflow.init
    def __init__(self, start: OrderStart) -> None:
        self._start = start
        self._fingerprint = start.request.fingerprint()
        self._order: Order | None = None
        self._rejection: Rejection | None = None
        self._failure: str | None = None
        self._cancel: CancelRequest | None = None
        self._settled = False  # placement has an answer: confirmed, rejected or cancelled
        self._compensations: list[Callable[[], Awaitable[None]]] = []
        self._refund_id: str | None = None
        self._ready_told = False
        self._status_attr = OrderStatus.RECEIVED
        # Search attributes to set with the next status: no upsert of their own, no event of their own.
        self._pending_attrs: list[SearchAttributeUpdate] = []
        self._sla_watch: asyncio.Task[None] | None = None
        self._sla_due: datetime | None = None  # while the kitchen's promise is watched
        self._telling_late = False
        self._may_continue_as_new = True
        if start.carried_over is not None:
            self._carry_on(start.carried_over)

    def _carry_on(self, carried: CarriedOver) -> None:
        """Pick the order up where the previous run left it: waiting for the kitchen."""
        self._order = carried.order
        self._settled = True
        self._ready_told = carried.ready_told
        self._sla_due = carried.sla_due
        self._status_attr = carried.order.status
        # What undoing the order would take, as `_place` registered it: refund a card, leave the kitchen.
        if self._start.request.payment_method is PaymentMethod.CARD:
            self._compensations.append(self._refund)
        self._compensations.append(self._leave_kitchen)

    @workflow.run
    async def run(self, start: OrderStart) -> OrderResult:
        if start.carried_over is not None:
            self._describe()
            return await self._saga(placed=True)
        self._record(OrderStatus.RECEIVED)
        if workflow.info().typed_search_attributes.get(ORDER_STATUS) is None:  # started by hand, not by the API
            request = start.request
            self._pending_attrs += [
                FULFILMENT.value_set(request.fulfilment.value),
                PAYMENT_METHOD.value_set(request.payment_method.value),
            ]
            self._set_status_attr(OrderStatus.RECEIVED, force=True)
        return await self._saga(placed=False)

    async def _saga(self, placed: bool) -> OrderResult:
        """Place the order (unless a previous run did), follow the kitchen, undo it all if it comes to that."""
        start = self._start
        try:
            if placed or await self._place():
                await self._follow_kitchen()
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
            self._set_status_attr(OrderStatus.CANCELLED if self._cancel else OrderStatus.REJECTED)
        self._settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    # --- the saga -------------------------------------------------------------------------

    async def _place(self) -> bool:
        """Validate, charge, store, queue, tell the customer. True once the order is confirmed."""
        request, order_id = self._start.request, self._start.order_id
        try:
            items = await workflow.execute_local_activity(
                act.VALIDATE_ORDER,
                act.ValidateOrder(order_id, request.lines()),
                result_type=tuple[OrderLine, ...],
                summary=f"price {len(request.pizzas)} line(s) from today's menu",
                **VALIDATION_STEP,
            )
        except FailureError as err:
            if (invalid := _business_error(err, act.INVALID_ORDER)) is None:
                raise
            self._rejection = Rejection(kind="invalid", detail=invalid.message)
            self._set_status_attr(OrderStatus.REJECTED)
            self._settled = True
            return False
        self._order, _ = Order.place(
            order_id, request.customer(), request.fulfilment, items, request.payment_method, workflow.info().start_time
        )
        if workflow.info().typed_search_attributes.get(ORDER_TOTAL) != float(self._order.total):
            self._pending_attrs.append(ORDER_TOTAL.value_set(float(self._order.total)))
        if self._cancel:
            return False
        if request.payment_method is PaymentMethod.CARD:
            # Registered before the charge: a charge whose outcome is unknown is still refunded.
            self._compensations.append(self._refund)
            if not await self._charge(request.payment_token or ""):
                return False
        # Paid: stored as confirmed, then queued, in one workflow task. It counts as confirmed once stored.
        confirmed = deepcopy(self._order)
        confirmed.confirm(workflow.now())
        await self._db(act.SAVE_ORDER, "store the order as confirmed", confirmed, placing=True)
        self._order = confirmed
        self._compensations.append(self._leave_kitchen)
        await self._db(
            act.QUEUE_IN_KITCHEN, "put the order in the kitchen's queue", act.KitchenTicket(order_id), placing=True
        )
        if self._cancel:
            return False
        self._set_status_attr(OrderStatus.CONFIRMED)
        self._settled = True
        await self._notify("confirmation", confirmation_text(self._order))
        return True

    async def _charge(self, payment_token: str) -> bool:
        """Charge the card; a decline rejects the order. False when the saga stops here."""
        assert self._order is not None
        try:
            receipt = await workflow.execute_activity(
                act.CHARGE_PAYMENT,
                act.ChargeRequest(self._order.id, self._order.total, payment_token),
                result_type=act.ChargeReceipt,
                summary=f"charge ${self._order.total} to the card",
                **CHARGE_STEP,
            )
        except FailureError as err:
            if _business_error(err, act.PAYMENTS_MISCONFIGURED):
                self._compensations.clear()  # the provider refused the request itself: nothing was charged
            if (declined := _business_error(err, act.PAYMENT_DECLINED)) is None:
                raise
            self._compensations.clear()  # nothing was charged
            code = declined.details[0] if declined.details else None
            self._rejection = Rejection(kind="declined", detail=declined.message, decline_code=code)
            self._order.reject(workflow.now(), f"card declined: {declined.message}", by="payments")
            self._set_status_attr(OrderStatus.REJECTED)
            await self._db(act.RECORD_REJECTION, "record the declined order")
            self._settled = True
            return False
        self._order.record_payment(receipt.transaction_id)
        return not self._cancel

    async def _follow_kitchen(self) -> None:
        """Apply the kitchen's steps as they come, until completed or cancelled."""
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
                await workflow.wait_condition(
                    lambda seen=handled: order.status is not seen or self._cancel is not None or self._time_to_move_on()
                )
                if self._cancel:
                    return
                status = order.status
                if status is handled:
                    # Woken by the history's length alone; orders started before this could continue do not.
                    if workflow.patched(CONTINUE_AS_NEW_PATCH):
                        self._continue_as_new()
                    self._may_continue_as_new = False
                    continue
                self._set_status_attr(status)
                if status is OrderStatus.COMPLETED:
                    await self._tell_ready()
                    await self._db(act.RECORD_COMPLETION, f"record the sale of ${order.total}")
                    return
                await self._db(act.SAVE_ORDER, f"store the order as {status}")
                if status is OrderStatus.READY:
                    await self._tell_ready()
                handled = status
            except (asyncio.CancelledError, FailureError) as err:
                # A cancel in Temporal that lands on a step in flight arrives as the step's failure.
                if order.is_cancellable or not is_cancelled_exception(err):
                    raise
                workflow.logger.warning("order %s is %s and can no longer be cancelled", order.id, order.status)

    async def _watch_sla(self, due: datetime) -> None:
        left = due - workflow.now()
        if left > timedelta(0):
            sla = timedelta(seconds=self._start.kitchen_sla_seconds)
            await workflow.sleep(left, summary=f"kitchen promise: ready within {_duration(sla)}, else say sorry")
        self._sla_due = None
        order = self._order
        if order and order.status in (OrderStatus.CONFIRMED, OrderStatus.PREPARING) and not self._cancel:
            self._telling_late = True
            try:
                await self._notify("late", late_text(order))
            finally:
                self._telling_late = False

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
        carried = CarriedOver(order=self._order, ready_told=self._ready_told, sla_due=self._sla_due)
        workflow.continue_as_new(self._start.model_copy(update={"carried_over": carried}))

    async def _tell_ready(self) -> None:
        assert self._order is not None
        if not self._ready_told:
            self._ready_told = True
            await self._notify("ready", ready_text(self._order))

    async def _compensate_to_the_end(self) -> None:
        """Compensate, shielded: a cancel from Temporal meanwhile must not cut a refund short."""
        undoing = asyncio.create_task(self._compensate())
        while True:
            try:
                await asyncio.shield(undoing)
                return
            except asyncio.CancelledError:
                if undoing.cancelled():
                    raise
                workflow.logger.warning(
                    "order %s: cancelled in Temporal while being undone; undoing goes on", self._start.order_id
                )

    async def _compensate(self) -> None:
        """Undo the steps already done, newest first, then mark the order cancelled and say so."""
        assert self._order is not None
        request = self._cancel or CancelRequest(by="system", notes=self._failure)
        for undo in reversed(self._compensations):
            await undo()
        self._compensations.clear()
        self._order.cancel(workflow.now(), request.by, request.notes, self._refund_id)
        self._set_status_attr(OrderStatus.CANCELLED)
        await self._db(act.RECORD_CANCELLATION, "record the cancellation")
        self._settled = True
        await self._notify("cancelled", cancelled_text(self._order))

    async def _refund(self) -> None:
        assert self._order is not None
        receipt = await workflow.execute_activity(
            act.REFUND_PAYMENT,
            act.RefundRequest(self._order.id, self._order.total, self._order.payment.transaction_id),
            result_type=act.RefundReceipt,
            summary=f"refund ${self._order.total} to the card",
            **REFUND_STEP,
        )
        self._refund_id = receipt.refund_id

    async def _leave_kitchen(self) -> None:
        assert self._order is not None
        await self._db(
            act.REMOVE_FROM_KITCHEN, "take the order out of the kitchen's queue", act.KitchenTicket(self._order.id)
        )

    async def _db(self, activity: str, summary: str, arg: object = None, placing: bool = False) -> None:
        """A local database step, given the order as it stands unless told otherwise.

        While placing, a step that keeps failing is given up so the order can be undone;
        after that (kitchen steps, compensation) the store is waited for.
        """
        options = PLACEMENT_DATABASE_STEP if placing else DATABASE_STEP
        await workflow.execute_local_activity(activity, arg or self._order, summary=summary, **options)

    async def _notify(self, kind: str, text: str) -> None:
        assert self._order is not None
        try:
            await workflow.execute_local_activity(
                act.NOTIFY_CUSTOMER,
                act.Notification(self._order.id, self._order.customer.phone, text),
                summary=f"text the customer: {kind}",
                **NOTIFY_STEP,
            )
        except FailureError as err:
            if is_cancelled_exception(err):
                self._cancelled_in_temporal()  # a cancel in Temporal cut the text short: honour the cancel
                return
            # Given up: the order goes on. The note puts it where the kitchen and ops read the order.
            failure = err.cause if isinstance(err, ActivityError) and isinstance(err.cause, FailureError) else err
            reason = failure.message
            workflow.logger.warning("order %s: the %s text was not sent: %s", self._order.id, kind, reason)
            self._order.note(workflow.now(), NOTIFIER, f"{kind} text not sent: {reason}")
            self._describe()

    def _cancelled_in_temporal(self) -> None:
        """Ops cancelled the workflow: cancel the order like a customer would, while that is allowed."""
        if self._cancel is None and (self._order is None or self._order.is_cancellable):
            self._cancel = CancelRequest(by=OPS, notes="workflow cancelled in Temporal")

    def _set_status_attr(self, status: OrderStatus, force: bool = False) -> None:
        """The order reached a status: tell the search attributes, the UI's details, the metrics and the log."""
        if force or status is not self._status_attr:
            before, self._status_attr = self._status_attr, status
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value), *self._pending_attrs])
            self._pending_attrs.clear()
            workflow.logger.info("order %s is %s", self._start.order_id, status)
            if status is not before:
                self._record(status, before)
        self._describe()

    def _record(self, status: OrderStatus, before: OrderStatus | None = None) -> None:
        request = self._start.request
        labels = {"fulfilment": request.fulfilment.value, "payment_method": request.payment_method.value}
        if status is OrderStatus.REJECTED:
            labels["reason"] = self._rejection.kind if self._rejection else "failed"
        if status is OrderStatus.CANCELLED and before is not None:
            labels["stage"] = before.value  # the status it was cancelled in
        placed_at = self._order.placed_at if self._order else None
        record_status(workflow.metric_meter(), status, labels, placed_at, workflow.now())

    def _describe(self) -> None:
        """What the Temporal UI shows as the order's current details."""
        order = self._order
        if order is not None and self._start.carried_over is not None:
            # A run that continued as new has no summary of its own (Temporal keeps it on the first run).
            summary = order_summary(order.id, order.pizza_count, order.total, order.fulfilment)
            workflow.set_current_details(f"{summary} (continued as new)\n\n{current_details(order)}")
        elif order is not None:
            workflow.set_current_details(current_details(order))
        elif self._rejection is not None:
            workflow.set_current_details(f"**rejected**: {self._rejection.detail}")

    def _result(self) -> OrderResult:
        return OrderResult(
            fingerprint=self._fingerprint, order=self._order, rejection=self._rejection, failure=self._failure
        )

    # --- what the outside can ask and say -------------------------------------------------

    @workflow.query(name=QUERY_ORDER)
    def order(self) -> Order:
        if self._order is None:
            detail = self._rejection.detail if self._rejection else "the order is still being validated"
            raise ApplicationError(detail, type="OrderNotPlaced")
        return self._order

    # How many placements have awaited the confirmation (counted per run, from this start).
    _confirmations_awaited = 0

    @workflow.update(name=UPDATE_AWAIT_CONFIRMATION)
    async def await_confirmation(self, fingerprint: str) -> OrderResult:
        """Answer a placement once the order is confirmed, rejected or cancelled; tell its first caller so.

        The first caller came with the start (a run continued as new has had it already). Counting issues no
        command, and the handlers run again on replay, so the count is the same there.
        """
        self._confirmations_awaited += 1
        creator = self._confirmations_awaited == 1 and self._start.carried_over is None
        await workflow.wait_condition(lambda: self._settled)
        return self._result().model_copy(update={"creator": creator})

    @await_confirmation.validator
    def _same_request(self, fingerprint: str) -> None:
        if fingerprint != self._fingerprint:
            raise ApplicationError("this Idempotency-Key was used for a different order", type=IDEMPOTENCY_CONFLICT)

    @workflow.update(name=UPDATE_CHANGE_STATUS)
    def change_status(self, step: KitchenStep) -> Order:
        """The kitchen moves the order on; refused (409) when the status machine says no."""
        assert self._order is not None
        self._order.advance(step.status, workflow.now(), step.by, step.notes)
        return self._order

    @change_status.validator
    def _kitchen_step_allowed(self, step: KitchenStep) -> None:
        if self._order is None or not self._settled:
            raise ApplicationError("the order is not confirmed yet", type=ILLEGAL_TRANSITION)
        if self._cancel:
            raise ApplicationError("the order is being cancelled", type=ILLEGAL_TRANSITION)
        try:
            self._order.check_kitchen_step(step.status)
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL_TRANSITION) from None

    @workflow.update(name=UPDATE_CANCEL_ORDER)
    async def cancel_order(self, request: CancelRequest) -> OrderResult:
        """Cancel and answer once compensation has run."""
        if self._cancel is None:
            self._cancel = request
        await workflow.wait_condition(lambda: self._settled and (self._order is None or self._order.is_final))
        return self._result()

    @cancel_order.validator
    def _cancellable(self, request: CancelRequest) -> None:
        if self._cancel is not None:
            return  # already under way: wait for it with the first caller
        if self._order is not None and not self._order.is_cancellable:
            raise ApplicationError(f"an order that is {self._order.status} cannot be cancelled", type=NOT_CANCELLABLE)
        if self._order is None and self._settled:
            raise ApplicationError("the order was rejected", type=NOT_CANCELLABLE)

    # One handler for every signal: a named one would let the SDK drop a payload it cannot decode before any
    # code of ours runs (so a flood of those would never let the order continue as new), and fail the workflow
    # task on a signal with two payloads.
    @workflow.signal(dynamic=True, description="mark_preparing, mark_ready, mark_completed, cancel: {by?, notes?}")
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """A kitchen step or a cancel; any signal the order cannot read or does not allow changes nothing."""
        if name != SIGNAL_CANCEL and name not in KITCHEN_SIGNALS:
            workflow.logger.warning("signal %r ignored: the order has no such signal", name[:100])
            return
        note = self._staff_note(name, args)
        if note is None:
            return
        if name == SIGNAL_CANCEL:
            self._cancel_signal(note)
        else:
            self._kitchen_signal(KITCHEN_SIGNALS[name], note)

    def _staff_note(self, name: str, args: Sequence[RawValue]) -> StaffNote | None:
        """The signal's note (none sent is an empty one); None, logged, when it has no readable note."""
        if len(args) > 1:
            workflow.logger.warning("%s signal ignored: %d payloads, not one note", name, len(args))
            return None
        try:
            note = workflow.payload_converter().from_payload(args[0].payload, StaffNote | None) if args else None
        except Exception as err:  # whatever the payload is, it is not a note: pydantic's, the codec's, JSON's errors
            workflow.logger.warning("%s signal ignored: its payload is not a note: %.300s", name, err)
            return None
        if note and (refusal := _unkeepable(note)) and workflow.patched(STRICT_SIGNALS_PATCH):
            workflow.logger.warning("%s signal ignored: %.300s", name, refusal)
            return None
        return note or StaffNote()

    def _cancel_signal(self, note: StaffNote) -> None:
        request = CancelRequest(by=note.by or OPS, notes=note.notes)
        try:
            self._cancellable(request)
        except ApplicationError as err:
            workflow.logger.warning("cancel signal ignored: %s", err)
            return
        if self._cancel is None:
            self._cancel = request

    def _kitchen_signal(self, status: OrderStatus, note: StaffNote) -> None:
        step = KitchenStep(status=status, by=note.by or "kitchen", notes=note.notes)
        try:
            self._kitchen_step_allowed(step)
        except ApplicationError as err:
            workflow.logger.warning("%s signal ignored: %s", status, err)
            return
        self.change_status(step)
