"""The order aggregate: its lines, its money and the status machine that guards it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.errors import IllegalTransition, NotYourDelivery
from domain.menu import OrderLine
from domain.pricing import Fulfilment, total_order


class OrderStatus(StrEnum):
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class PaymentMethod(StrEnum):
    CARD = "card"
    CASH = "cash"


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.RECEIVED: frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PREPARING, OrderStatus.CANCELLED}),
    OrderStatus.PREPARING: frozenset({OrderStatus.READY, OrderStatus.CANCELLED}),
    OrderStatus.READY: frozenset({OrderStatus.COMPLETED, OrderStatus.OUT_FOR_DELIVERY}),
    # A driver has it: delivered (completed) or failed (cancelled, compensated).
    OrderStatus.OUT_FOR_DELIVERY: frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED}),
}
KITCHEN_STEPS = frozenset({OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED})
# Where the kitchen moves an order: never one a driver has.
KITCHEN_FROM = frozenset({OrderStatus.CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY})
# Where a customer or staff may cancel (a failed delivery cancels too, but only through the driver).
CANCELLABLE = frozenset({OrderStatus.RECEIVED, OrderStatus.CONFIRMED, OrderStatus.PREPARING})
FINAL = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REJECTED})

PREP_BASE = timedelta(minutes=15)
PREP_PER_EXTRA_PIZZA = timedelta(minutes=2)
SYSTEM = "system"


@dataclass(frozen=True)
class Customer:
    name: str
    phone: str
    address: str | None


@dataclass
class Payment:
    method: PaymentMethod
    transaction_id: str | None = None
    refund_id: str | None = None


@dataclass(frozen=True)
class StatusChange:
    """Who moved the order, when, to which status, and why."""

    status: OrderStatus
    at: datetime
    by: str
    notes: str | None = None


@dataclass
class Delivery:
    """Who took a delivery order out, when, and how it ended."""

    driver: str
    picked_up_at: datetime
    delivered_at: datetime | None = None
    # The driver's reason, when the delivery failed.
    failure: str | None = None


@dataclass
class Order:
    id: str
    status: OrderStatus
    fulfilment: Fulfilment
    customer: Customer
    items: tuple[OrderLine, ...]
    subtotal: Decimal
    tax: Decimal
    delivery_fee: Decimal
    total: Decimal
    payment: Payment
    history: list[StatusChange] = field(default_factory=list)
    placed_at: datetime | None = None
    estimated_ready_at: datetime | None = None
    # Set when a driver picks a delivery order up; None for pickup orders and before.
    delivery: Delivery | None = None

    @classmethod
    def place(
        cls,
        order_id: str,
        customer: Customer,
        fulfilment: Fulfilment,
        items: tuple[OrderLine, ...],
        payment_method: PaymentMethod,
        at: datetime,
    ) -> "Order":
        """A new order in status received, priced from its lines."""
        totals = total_order(items, fulfilment)
        return cls(
            id=order_id,
            status=OrderStatus.RECEIVED,
            fulfilment=fulfilment,
            customer=customer,
            items=items,
            subtotal=totals.subtotal,
            tax=totals.tax,
            delivery_fee=totals.delivery_fee,
            total=totals.total,
            payment=Payment(method=payment_method),
            history=[StatusChange(OrderStatus.RECEIVED, at, SYSTEM)],
            placed_at=at,
        )

    @property
    def short_id(self) -> str:
        """The first eight characters of the id, as customers see it."""
        return self.id[:8]

    @property
    def pizza_count(self) -> int:
        return sum(line.quantity for line in self.items)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def is_cancellable(self) -> bool:
        """Whether a customer or staff may cancel it now."""
        return self.status in CANCELLABLE

    @property
    def is_delivery(self) -> bool:
        return self.fulfilment is Fulfilment.DELIVERY

    def can_become(self, status: OrderStatus) -> bool:
        """Whether the status machine allows moving to this status now."""
        return status in ALLOWED.get(self.status, frozenset())

    def check_kitchen_step(self, status: OrderStatus) -> None:
        """Refuse a kitchen step that is not one, or not allowed from the current status."""
        if status not in KITCHEN_STEPS or self.status not in KITCHEN_FROM or not self.can_become(status):
            raise IllegalTransition(self.status, status)

    def check_pick_up(self) -> None:
        """Refuse a pickup by a driver unless this is a delivery order that is ready."""
        if not self.is_delivery:
            raise IllegalTransition(self.status, OrderStatus.OUT_FOR_DELIVERY, "a pickup order is not delivered")
        if self.status is OrderStatus.OUT_FOR_DELIVERY and self.delivery is not None:
            # Two drivers pressed Pick up: the second is told who was first.
            raise IllegalTransition(self.status, OrderStatus.OUT_FOR_DELIVERY, f"{self.delivery.driver} took it first")
        if self.status is not OrderStatus.READY:
            raise IllegalTransition(self.status, OrderStatus.OUT_FOR_DELIVERY)

    def check_delivery_end(self, driver: str | None) -> None:
        """Refuse marking a delivery delivered or failed unless it is out with this driver (any driver: None)."""
        if self.status is not OrderStatus.OUT_FOR_DELIVERY or self.delivery is None or self.delivery.failure:
            raise IllegalTransition(self.status, "delivered or failed", "it is not out for delivery")
        if driver is not None and driver != self.delivery.driver:
            raise NotYourDelivery(self.delivery.driver)

    def record_payment(self, transaction_id: str) -> None:
        """The card was charged under this transaction."""
        self.payment.transaction_id = transaction_id

    def confirm(self, at: datetime) -> None:
        """Paid (or cash) and stored: the kitchen may start."""
        self._move(OrderStatus.CONFIRMED, at, SYSTEM, None)
        self.estimated_ready_at = at + PREP_BASE + PREP_PER_EXTRA_PIZZA * (self.pizza_count - 1)

    def advance(self, status: OrderStatus, at: datetime, by: str, notes: str | None = None) -> None:
        """A kitchen step: preparing, ready or completed."""
        self.check_kitchen_step(status)
        self._move(status, at, by, notes)

    def pick_up(self, at: datetime, driver: str, notes: str | None = None) -> None:
        """A driver takes the ready delivery order out."""
        self.check_pick_up()
        self._move(OrderStatus.OUT_FOR_DELIVERY, at, driver, notes)
        self.delivery = Delivery(driver=driver, picked_up_at=at)

    def deliver(self, at: datetime, by: str, notes: str | None = None) -> None:
        """The driver handed it over: completed."""
        self.check_delivery_end(None)
        assert self.delivery is not None
        self._move(OrderStatus.COMPLETED, at, by, notes)
        self.delivery.delivered_at = at

    def fail_delivery(self, reason: str) -> None:
        """The delivery failed: the order stays out for delivery while it is compensated, then is cancelled."""
        self.check_delivery_end(None)
        assert self.delivery is not None
        self.delivery.failure = reason

    @property
    def delivery_failed(self) -> bool:
        return self.delivery is not None and self.delivery.failure is not None

    def reject(self, at: datetime, reason: str, by: str = SYSTEM) -> None:
        """Validation or payment failed: nothing is charged."""
        self._move(OrderStatus.REJECTED, at, by, reason)

    def cancel(self, at: datetime, by: str, notes: str | None, refund_id: str | None) -> None:
        """Cancelled after compensation has run."""
        self._move(OrderStatus.CANCELLED, at, by, notes)
        self.payment.refund_id = refund_id

    def note(self, at: datetime, by: str, notes: str) -> None:
        """Something worth knowing that changes no status (a text that could not be sent)."""
        self.history.append(StatusChange(self.status, at, by, notes))

    def _move(self, status: OrderStatus, at: datetime, by: str, notes: str | None) -> None:
        if not self.can_become(status):
            raise IllegalTransition(self.status, status)
        self.status = status
        self.history.append(StatusChange(status, at, by, notes))
