"""What the outside can ask an order and tell it: the query, the updates, the signals, and the state they share.

OrderWorkflow (order_workflow.py) is this plus the saga; the handlers change the order through the domain,
and the saga runs the side effects of each change.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import ParamSpec, TypeVar

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from domain.errors import IllegalTransition, NotYourDelivery
from domain.order import Order, OrderStatus
from workflows.order_contract import (
    IDEMPOTENCY_CONFLICT,
    ILLEGAL_TRANSITION,
    NOT_CANCELLABLE,
    NOT_YOUR_DELIVERY,
    QUERY_ORDER,
    REASON_REQUIRED,
    SIGNAL_CANCEL,
    SIGNAL_MARK_DELIVERED,
    SIGNAL_MARK_PICKED_UP,
    UPDATE_AWAIT_CONFIRMATION,
    UPDATE_CANCEL_ORDER,
    UPDATE_CHANGE_STATUS,
    UPDATE_FINISH_DELIVERY,
    UPDATE_PICK_UP,
    CancelRequest,
    DeliveryEnd,
    DriverStep,
    KitchenStep,
    OrderResult,
    OrderStart,
    Rejection,
    StaffNote,
)
from workflows.order_signals import DELIVERY_SIGNALS, DESCRIPTION, KITCHEN_SIGNALS, read_signal

OPS = "ops"
# A patch (docs/changing-workflows.md): a signal whose note has fields besides `by` and `notes`,
# or text a store cannot keep, is refused.
STRICT_SIGNALS_PATCH = "signals-refuse-notes-the-order-cannot-keep"
# A patch: the delivery signals, which orders started before them ignored as unknown, are applied.
DELIVERY_SIGNALS_PATCH = "signals-for-deliveries"
FAILED_DELIVERY = "delivery failed"

P = ParamSpec("P")
R = TypeVar("R")


def async_update(name: str) -> Callable[[Callable[P, Awaitable[R]]], workflow.UpdateMethodMultiParam[P, R]]:
    """`workflow.update(name=...)` for an `async def` handler, typed so that callers get its answer, not a coroutine.

    temporalio types the bare `@workflow.update` so, but not the form that takes a name; the decorator is the same.
    """
    return workflow.update(name=name)  # type: ignore[return-value]  # the SDK's named overload keeps the coroutine


class OrderHandlers:
    def __init__(self, start: OrderStart) -> None:
        self._start = start
        self._fingerprint = start.request.fingerprint()
        self._order: Order | None = None
        self._rejection: Rejection | None = None
        self._failure: str | None = None
        self._cancel: CancelRequest | None = None
        self._settled = False  # placement has an answer: confirmed, rejected or cancelled
        self._confirmations_awaited = 0  # placements that asked for the answer, in this run
        # Who failed the delivery, and why: the cancel that its compensation ends with.
        self._delivery_failure: CancelRequest | None = None
        self._undone = False  # compensation has run to its end, the customer told

    def _result(self) -> OrderResult:
        return OrderResult(
            fingerprint=self._fingerprint, order=self._order, rejection=self._rejection, failure=self._failure
        )

    @workflow.query(name=QUERY_ORDER)
    def order(self) -> Order:
        if self._order is None:
            detail = self._rejection.detail if self._rejection else "the order is still being validated"
            raise ApplicationError(detail, type="OrderNotPlaced")
        return self._order

    @async_update(UPDATE_AWAIT_CONFIRMATION)
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
        return self._advance(step)

    @change_status.validator
    def _kitchen_step_allowed(self, step: KitchenStep) -> None:
        self._step_allowed(lambda order: order.check_kitchen_step(step.status))

    def _step_allowed(self, check: Callable[[Order], None]) -> None:
        """Refuse (409) a step on an order not confirmed yet, being cancelled, or that its status machine refuses."""
        if self._order is None or not self._settled:
            raise ApplicationError("the order is not confirmed yet", type=ILLEGAL_TRANSITION)
        if self._cancel:
            raise ApplicationError("the order is being cancelled", type=ILLEGAL_TRANSITION)
        try:
            check(self._order)
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL_TRANSITION) from None

    @async_update(UPDATE_CANCEL_ORDER)
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

    @workflow.update(name=UPDATE_PICK_UP)
    def pick_up(self, step: DriverStep) -> Order:
        """A driver takes a ready delivery order out; refused (409) unless it is one, ready, not being cancelled."""
        return self._pick_up(step)

    @pick_up.validator
    def _pick_up_allowed(self, step: DriverStep) -> None:
        self._step_allowed(Order.check_pick_up)

    @async_update(UPDATE_FINISH_DELIVERY)
    async def finish_delivery(self, end: DeliveryEnd) -> Order:
        """Delivered: answered completed. Failed: answered cancelled once refunded, stored and the customer told."""
        order = self._end_delivery(end.driver or OPS, end.delivered, end.reason)
        if not end.delivered:
            await workflow.wait_condition(lambda: self._undone)
        return order

    @finish_delivery.validator
    def _delivery_end_allowed(self, end: DeliveryEnd) -> None:
        if self._order is None or not self._settled:
            raise ApplicationError("the order is not confirmed yet", type=ILLEGAL_TRANSITION)
        try:
            self._order.check_delivery_end(end.driver)
        except NotYourDelivery as err:
            raise ApplicationError(str(err), type=NOT_YOUR_DELIVERY) from None
        except IllegalTransition as err:
            raise ApplicationError(str(err), type=ILLEGAL_TRANSITION) from None
        if not end.delivered and not end.reason:
            raise ApplicationError("a failed delivery needs a reason", type=REASON_REQUIRED)

    def _pick_up(self, step: DriverStep) -> Order:
        """The pickup a validator allowed, by update or by signal."""
        assert self._order is not None
        self._order.pick_up(workflow.now(), step.driver, step.notes)
        return self._order

    def _end_delivery(self, by: str, delivered: bool, notes: str | None) -> Order:
        """The end a validator allowed, by update or by signal: completed, or failed (the saga compensates it)."""
        order = self._order
        assert order is not None
        if delivered:
            order.deliver(workflow.now(), by, notes)
        else:
            reason = notes or FAILED_DELIVERY
            order.fail_delivery(reason)
            self._delivery_failure = CancelRequest(by=by, notes=reason)
        return order

    @workflow.signal(dynamic=True, description=DESCRIPTION)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """A kitchen step or a cancel; any signal the order cannot read or does not allow changes nothing."""
        reading = read_signal(name, args)
        if reading is None:
            return
        if name in DELIVERY_SIGNALS and not workflow.patched(DELIVERY_SIGNALS_PATCH):
            workflow.logger.warning("signal %r ignored: the order has no such signal", name)
            return
        if reading.unkeepable and workflow.patched(STRICT_SIGNALS_PATCH):
            workflow.logger.warning("%s signal ignored: %.300s", name, reading.unkeepable)
            return
        if name == SIGNAL_CANCEL:
            self._cancel_signal(reading.note)
        elif name in DELIVERY_SIGNALS:
            self._delivery_signal(name, reading.note)
        else:
            self._kitchen_signal(KITCHEN_SIGNALS[name], reading.note)

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
        self._advance(step)

    def _delivery_signal(self, name: str, note: StaffNote) -> None:
        """Ops do a driver's step: any driver's order, by `note.by` or ops; a failed one's reason is the notes."""
        by = note.by or OPS
        try:
            if name == SIGNAL_MARK_PICKED_UP:
                step = DriverStep(driver=by, notes=note.notes)
                self._pick_up_allowed(step)
                self._pick_up(step)
                return
            delivered = name == SIGNAL_MARK_DELIVERED
            self._delivery_end_allowed(DeliveryEnd(driver=None, delivered=delivered, reason=FAILED_DELIVERY))
        except ApplicationError as err:
            workflow.logger.warning("%s signal ignored: %s", name, err)
            return
        self._end_delivery(by, delivered, note.notes)

    def _advance(self, step: KitchenStep) -> Order:
        """The step the validator allowed, by update or by signal."""
        assert self._order is not None
        self._order.advance(step.status, workflow.now(), step.by, step.notes)
        return self._order
