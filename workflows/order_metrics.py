"""Order counters and timings, recorded by the workflow through the SDK's metric meter.

The meter records nothing while a workflow replays, so a worker that restarts counts no order twice.
The worker exports them with the SDK's own metrics (PIZZERIA_WORKER_METRICS_ADDRESS).
"""

from datetime import datetime

from temporalio.common import MetricMeter

from domain.order import OrderStatus

# Counted as `pizzeria_orders_<name>_total`.
COUNTED = {
    OrderStatus.RECEIVED: "placed",
    OrderStatus.CONFIRMED: "confirmed",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.COMPLETED: "completed",
}
READY_SECONDS = "pizzeria_order_ready_seconds"
# From a quick pizza to a very late one; the kitchen promises 45 minutes by default.
READY_BUCKETS = (300.0, 600.0, 900.0, 1200.0, 1500.0, 1800.0, 2400.0, 2700.0, 3600.0, 5400.0, 7200.0)


def record_status(
    meter: MetricMeter, status: OrderStatus, labels: dict[str, str], placed_at: datetime | None, now: datetime
) -> None:
    """Count an order reaching a status; on ready, time it from placed."""
    name = COUNTED.get(status)
    if name is not None:
        meter.with_additional_attributes(labels).create_counter(
            f"pizzeria_orders_{name}", f"Orders {name}", "orders"
        ).add(1)
    if status is OrderStatus.READY and placed_at is not None:
        meter.with_additional_attributes(labels).create_histogram_float(
            READY_SECONDS, "Time from an order placed to its pizzas ready", "s"
        ).record((now - placed_at).total_seconds())


def count_dispatch_late(meter: MetricMeter) -> None:
    """A delivery order waited for a driver past the pickup promise."""
    meter.create_counter(
        "pizzeria_deliveries_dispatch_late", "Deliveries that waited for a driver past the pickup promise", "deliveries"
    ).add(1)


def count_delivery_end(meter: MetricMeter, outcome: str, late: bool) -> None:
    """A delivery ended: delivered, failed or handed over (by the kitchen), late for dispatch or not."""
    meter.with_additional_attributes({"outcome": outcome, "dispatch_late": str(late).lower()}).create_counter(
        "pizzeria_deliveries_ended", "Deliveries ended, by outcome", "deliveries"
    ).add(1)
