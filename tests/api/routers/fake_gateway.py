"""The order gateway in memory: the routers' other side, with no Temporal server behind it."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.gateway import (
    AnotherDriversDelivery,
    IdempotencyConflict,
    OrderClosed,
    OrderNotFound,
    Placement,
    StepRefused,
    Unavailable,
)
from api.order_ids import OrderIds
from domain.errors import IllegalTransition, NotYourDelivery
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, Menu, OrderLine
from domain.order import Order
from workflows.order_contract import (
    CancelRequest,
    DeliveryEnd,
    DriverStep,
    KitchenStep,
    OrderRequest,
    OrderResult,
    Rejection,
)

MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class FakeGateway:
    """Places each order at once as confirmed, or as the test said it ends; Temporal is down when told so."""

    ids: OrderIds = field(default_factory=lambda: OrderIds(b"fake-order-id-secret-of-the-tests"))
    results: dict[str, OrderResult] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)  # orders whose workflow has ended
    next_rejection: Rejection | None = None
    down: bool = False
    calls: list[str] = field(default_factory=list)

    async def order_id(self, idempotency_key: str | None) -> str:
        order_id = self.ids.new(idempotency_key)
        self._reach("order_id", order_id)  # the real one asks Temporal about keys of old ids
        return order_id

    async def place(self, order_id: str, request: OrderRequest, priced: tuple[OrderLine, ...] | None) -> Placement:
        self._reach("place", order_id)
        if order_id in self.results:
            if self.results[order_id].fingerprint != request.fingerprint():
                raise IdempotencyConflict()
            return Placement(self.results[order_id], created=False)
        if self.next_rejection is not None:
            result = OrderResult(fingerprint=request.fingerprint(), rejection=self.next_rejection)
            self.next_rejection = None
            self.finished.add(order_id)
        else:
            lines = MENU.price_lines(request.lines())
            order = Order.place(order_id, request.customer(), request.fulfilment, lines, request.payment_method, NOW)
            order.confirm(NOW)
            result = OrderResult(fingerprint=request.fingerprint(), order=order)
        self.results[order_id] = result
        return Placement(result, created=True)

    async def current(self, order_id: str) -> Order:
        self._reach("current", order_id)
        result = self.results.get(order_id)
        if result is None or result.order is None:
            raise OrderNotFound(order_id)
        return result.order

    async def change_status(self, order_id: str, step: KitchenStep) -> Order:
        order = self._running(order_id, "change_status", f"become {step.status}")
        try:
            order.advance(step.status, NOW, step.by, step.notes)
        except IllegalTransition as refused:
            raise StepRefused(order_id, str(refused)) from None
        if order.is_final:
            self.finished.add(order_id)
        return order

    async def cancel(self, order_id: str, request: CancelRequest) -> OrderResult:
        order = self._running(order_id, "cancel", "be cancelled")
        if not order.is_cancellable:
            raise StepRefused(order_id, f"an order that is {order.status} cannot be cancelled")
        order.cancel(NOW, request.by, request.notes, refund_id="re_fake")
        self.finished.add(order_id)
        return self.results[order_id]

    async def pick_up(self, order_id: str, step: DriverStep) -> Order:
        order = self._running(order_id, "pick_up", "be picked up")
        try:
            order.pick_up(NOW, step.driver, step.notes)
        except IllegalTransition as refused:
            raise StepRefused(order_id, str(refused)) from None
        return order

    async def finish_delivery(self, order_id: str, end: DeliveryEnd) -> Order:
        order = self._running(order_id, "finish_delivery", "be delivered")
        try:
            order.check_delivery_end(end.driver)
        except IllegalTransition as refused:
            raise StepRefused(order_id, str(refused)) from None
        except NotYourDelivery as theirs:
            raise AnotherDriversDelivery(order_id, str(theirs)) from None
        if end.delivered:
            order.deliver(NOW, end.driver or "ops")
        else:
            order.fail_delivery(end.reason or "")
            order.cancel(NOW, end.driver or "ops", end.reason, refund_id="re_fake")
        self.finished.add(order_id)
        return order

    async def health(self) -> str:
        self._reach("health")
        return "fake-temporal:7233"

    def _running(self, order_id: str, call: str, change: str) -> Order:
        self._reach(call, order_id)
        result = self.results.get(order_id)
        if result is None:
            raise OrderNotFound(order_id)
        if order_id in self.finished:
            raise OrderClosed(order_id, result.status or "rejected", change)
        assert result.order is not None
        return result.order

    def _reach(self, call: str, order_id: str | None = None) -> None:
        self.calls.append(call)
        if self.down:
            raise Unavailable("the order system is unreachable (fake: Temporal is down)", order_id)
