"""What happened to an order, as the aggregate reports it."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    at: datetime


@dataclass(frozen=True)
class OrderPlaced(OrderEvent):
    total: Decimal


@dataclass(frozen=True)
class OrderConfirmed(OrderEvent):
    estimated_ready_at: datetime


@dataclass(frozen=True)
class OrderStatusChanged(OrderEvent):
    previous: str
    status: str
    by: str


@dataclass(frozen=True)
class OrderRejected(OrderEvent):
    reason: str


@dataclass(frozen=True)
class OrderCancelled(OrderEvent):
    by: str
    refund_id: str | None


@dataclass(frozen=True)
class OrderCompleted(OrderEvent):
    total: Decimal
