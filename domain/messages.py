"""What the customer is told, in short texts that name the order by its short id."""

from datetime import datetime

from domain.order import Order


def _clock(at: datetime | None) -> str:
    return at.strftime("%H:%M UTC") if at else "soon"


def confirmation_text(order: Order) -> str:
    """The order is paid and in the kitchen's queue."""
    return (
        f"Mario's Pizzeria: order {order.short_id} confirmed, total ${order.total}. "
        f"Ready about {_clock(order.estimated_ready_at)}."
    )


def ready_text(order: Order) -> str:
    """The pizzas are out of the oven: waiting for a driver (delivery) or for the customer (pickup)."""
    if order.fulfilment == "delivery":
        return f"Mario's Pizzeria: order {order.short_id} is out of the oven; a driver will bring it to you soon."
    return f"Mario's Pizzeria: order {order.short_id} is ready for pickup. Buon appetito!"


def late_text(order: Order) -> str:
    """The kitchen has passed its promised time."""
    return f"Mario's Pizzeria: sorry, order {order.short_id} is taking longer than we promised. It's coming!"


def cancelled_text(order: Order) -> str:
    """The order is cancelled, and any card payment refunded."""
    refund = " Your payment is being refunded." if order.payment.refund_id else ""
    return f"Mario's Pizzeria: order {order.short_id} is cancelled.{refund}"


def picked_up_text(order: Order) -> str:
    """A driver has the order."""
    return f"Mario's Pizzeria: order {order.short_id} has left with our driver. It will be with you soon."


def dispatch_late_text(order: Order) -> str:
    """The order is ready but no driver has taken it within the pickup promise."""
    return f"Mario's Pizzeria: sorry, order {order.short_id} is ready but waiting for a driver. It's coming!"


def delivery_failed_text(order: Order) -> str:
    """The driver could not deliver; the order is cancelled and any card payment refunded."""
    refund = " Your payment is being refunded." if order.payment.refund_id else ""
    return f"Mario's Pizzeria: we could not deliver order {order.short_id}; it is cancelled.{refund}"
