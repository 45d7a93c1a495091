"""How an order reads in the Temporal UI: its summary, its details, and a line for each step.

No customer data goes in here (names, phones, addresses): ops read these without the codec too.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from domain.menu import OrderLine
from domain.order import Order, PaymentMethod
from domain.pricing import Fulfilment, total_order


def _pizzas(count: int) -> str:
    return f"{count} pizza" if count == 1 else f"{count} pizzas"


def _clock(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S UTC") if at else "—"


def order_summary(order_id: str, pizzas: int, total: Decimal | None, fulfilment: Fulfilment) -> str:
    """One line: short id, number of pizzas, total, fulfilment."""
    price = f"${total}" if total is not None else "not priced"
    return f"#{order_id[:8]} · {_pizzas(pizzas)} · {price} · {fulfilment}"


def _money(amount: Decimal) -> str:
    return f"\\${amount}"  # escaped: the Temporal UI reads $…$ in Markdown as mathematics


def order_lines(lines: Sequence[OrderLine], fulfilment: Fulfilment, payment: PaymentMethod) -> str:
    """The order's lines and totals, in Markdown."""
    totals = total_order(lines, fulfilment)
    items = [
        f"- {line.quantity} x {line.pizza}, {line.size}"
        + (f", with {', '.join(line.toppings)}" if line.toppings else "")
        + f": {_money(line.line_total)}"
        for line in lines
    ]
    return "\n".join(
        [
            *items,
            "",
            f"Subtotal {_money(totals.subtotal)} · tax {_money(totals.tax)} · delivery {_money(totals.delivery_fee)} · "
            f"**total {_money(totals.total)}**",
            "",
            f"{fulfilment.capitalize()}, paid by {payment}.",
        ]
    )


def current_details(order: Order) -> str:
    """Where the order stands now, in Markdown: status, since when, by whom, payment, and the last note."""
    last = order.history[-1]
    since = next((change for change in order.history if change.status is order.status), last)
    lines = [f"**{order.status}** since {_clock(since.at)} (by {since.by})"]
    payment = order.payment
    if payment.refund_id:
        lines.append(f"Refunded: {payment.refund_id} (charge {payment.transaction_id})")
    elif payment.transaction_id:
        lines.append(f"Paid by card: {payment.transaction_id}")
    else:
        lines.append(f"Payment: {payment.method}")
    if order.estimated_ready_at and not order.is_final:
        lines.append(f"Ready by about {_clock(order.estimated_ready_at)}")
    if last.notes:
        lines.append(f"Last note ({last.by}): {last.notes}")
    return "\n\n".join(lines)


def delivery_summary(order: Order, pickup_sla_seconds: int) -> str:
    """The delivery's one line in the UI, under its order: short id, pizzas, the pickup promise."""
    minutes = round(pickup_sla_seconds / 60)
    promise = f"{minutes} min" if minutes else f"{pickup_sla_seconds} s"
    return f"delivery of #{order.short_id} · {_pizzas(order.pizza_count)} · a driver within {promise}"


def delivery_story(order: Order) -> str:
    """What the delivery is for, in Markdown: the order's lines and how it is paid (what a driver collects)."""
    due = f"collect {_money(order.total)} in cash" if order.payment.method is PaymentMethod.CASH else "paid by card"
    return "\n\n".join(
        [
            f"Delivery of order #{order.short_id}: waiting for a driver, picked up, then delivered or failed.",
            order_lines(order.items, order.fulfilment, order.payment.method),
            f"On delivery: {due}.",
        ]
    )


def delivery_details(order: Order, stage: str, at: datetime, late: bool) -> str:
    """Where the delivery stands now, in Markdown."""
    flag = "\n\nDispatch late: past the pickup promise" if late and "late" not in stage else ""
    return f"{stage} since {_clock(at)} · order #{order.short_id}{flag}"
