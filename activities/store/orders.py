"""Orders in the database: written by the saga's activities, read back by the API.

The workflow is the truth while an order runs; this store keeps what outlives it
(finished orders, the kitchen's queue, the day's sales).
"""

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from activities.store.numbers import KitchenDay, day_bounds, kitchen_day
from activities.store.tables import KitchenTicketRow, OrderLineRow, OrderRow, utc
from domain.money import cents
from domain.order import FINAL, Order, OrderStatus
from domain.pricing import Fulfilment

ORDER_JSON = TypeAdapter(Order)
IN_KITCHEN = (OrderStatus.CONFIRMED.value, OrderStatus.PREPARING.value)
WITH_DRIVERS = (OrderStatus.READY.value, OrderStatus.OUT_FOR_DELIVERY.value)


def _add_once(session: Session, row: SQLModel, key: str, replace: bool) -> None:
    """Insert a row; when its key is taken, replace it or leave it. One statement where the dialect allows."""
    _add_all_once(session, type(row), [row.model_dump()], (key,), replace)


@functools.cache
def _insert_once(dialect: str, table: type[SQLModel], keys: tuple[str, ...], replace: bool) -> Insert | None:
    """The statement that inserts rows of `table`, replacing or leaving those whose key is taken; None where the
    dialect has none. Made once: SQLAlchemy then compiles it once, not at every save."""
    statement: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:
        return None
    if not replace:
        return statement.on_conflict_do_nothing(index_elements=keys)
    columns = [column.name for column in statement.table.columns if column.name not in keys]
    return statement.on_conflict_do_update(index_elements=keys, set_={c: statement.excluded[c] for c in columns})


def _add_all_once(
    session: Session, table: type[SQLModel], values: list[dict[str, Any]], keys: tuple[str, ...], replace: bool
) -> None:
    """Insert rows (all with every column); those whose key is taken replace the row there or leave it. One
    statement where the dialect allows."""
    statement = _insert_once(session.get_bind().dialect.name, table, keys, replace)
    if statement is None:  # other databases: two round trips a row, same outcome
        for row in values:
            if replace or session.get(table, tuple(row[key] for key in keys)) is None:
                session.merge(table(**row))
        return
    session.connection().execute(statement, values[0] if len(values) == 1 else values)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def order_facts(order: Order) -> dict[str, Any]:
    """The columns the numbers and the customer's history are read by, from the order as it stands."""
    confirmed_at = ready_at = None
    for change in order.history:
        if change.status is OrderStatus.CONFIRMED and confirmed_at is None:
            confirmed_at = utc(change.at)
        elif change.status is OrderStatus.READY and ready_at is None:
            ready_at = utc(change.at)
    cancelled_from = None
    if order.status is OrderStatus.CANCELLED:
        # The status before the cancel: the last change of another status (notes repeat the status they are in).
        before = (change.status for change in reversed(order.history) if change.status is not OrderStatus.CANCELLED)
        cancelled_from = next(before, None)
    delivery = order.delivery
    picked_up_at = utc(delivery.picked_up_at) if delivery else None
    delivered_at = utc(delivery.delivered_at) if delivery and delivery.delivered_at else None
    return {
        "customer_phone": order.customer.phone,
        "confirmed_at": confirmed_at,
        "ready_at": ready_at,
        "prep_seconds": _seconds(confirmed_at, ready_at),
        "picked_up_at": picked_up_at,
        "delivered_at": delivered_at,
        "delivery_seconds": _seconds(picked_up_at, delivered_at),
        "cancelled_from": cancelled_from.value if cancelled_from else None,
    }


def order_lines(order: Order) -> list[dict[str, Any]]:
    """The order's lines as rows of order_lines."""
    return [
        {"order_id": order.id, "line_no": number, "pizza": line.pizza, "size": line.size, "quantity": line.quantity}
        for number, line in enumerate(order.items, start=1)
    ]


@dataclass(frozen=True)
class DaySales:
    day: date
    completed: int
    cancelled: int
    revenue: Decimal


def _moment_of(order: Order, status: OrderStatus) -> datetime:
    """When the order last reached `status`, as its history says (when it was placed, if it does not say)."""
    moments = [change.at for change in order.history if change.status is status]
    return utc(moments[-1] if moments else order.placed_at or order.history[0].at)


def _driver(order: Order) -> str | None:
    return order.delivery.driver if order.delivery else None


class OrderStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- written by activities ------------------------------------------------------------

    def save(self, order: Order) -> None:
        """Insert or replace the order's snapshot and facts; idempotent.

        Its lines never change: they are written on its first save (confirmed) and again, left as they are if
        there, on its last (a rejected order or one cancelled while received has only that one), not each time.
        """
        finished_at = utc(order.history[-1].at) if order.status in FINAL else None
        row = OrderRow(
            id=order.id,
            status=order.status.value,
            fulfilment=order.fulfilment.value,
            payment_method=order.payment.method.value,
            total=order.total,
            placed_at=utc(order.placed_at or order.history[0].at),
            finished_at=finished_at,
            snapshot=ORDER_JSON.dump_json(order).decode(),
            **order_facts(order),
        )
        with Session(self._engine) as session:
            _add_once(session, row, key="id", replace=True)
            if order.items and (order.status is OrderStatus.CONFIRMED or order.status in FINAL):
                _add_all_once(session, OrderLineRow, order_lines(order), ("order_id", "line_no"), replace=False)
            session.commit()

    def queue_in_kitchen(self, order_id: str, at: datetime) -> None:
        """Put a ticket in the kitchen's queue; a second call changes nothing."""
        with Session(self._engine) as session:
            _add_once(session, KitchenTicketRow(order_id=order_id, queued_at=utc(at)), key="order_id", replace=False)
            session.commit()

    def remove_from_kitchen(self, order_id: str) -> None:
        """Take the order's ticket out of the queue, if it is there."""
        with Session(self._engine) as session:
            ticket = session.get(KitchenTicketRow, order_id)
            if ticket is not None:
                session.delete(ticket)
                session.commit()

    # --- read by the API ------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        """The order as last saved, or None."""
        with Session(self._engine) as session:
            row = session.get(OrderRow, order_id)
            return ORDER_JSON.validate_json(row.snapshot) if row else None

    def holds_legacy_orders(self, since: datetime) -> bool:
        """Whether an order placed since then has an id made from its key the old, public way (a version-5 UUID)."""
        version_5 = col(OrderRow.id).like("_" * 14 + "5%")  # xxxxxxxx-xxxx-5xxx-…
        query = select(OrderRow.id).where(col(OrderRow.placed_at) >= utc(since)).where(version_5).limit(1)
        with Session(self._engine) as session:
            return session.exec(query).first() is not None

    def kitchen_queue(self) -> list[Order]:
        """Orders the kitchen has to make (confirmed or preparing), oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(OrderRow)
                .join(KitchenTicketRow, col(KitchenTicketRow.order_id) == col(OrderRow.id))
                .where(col(OrderRow.status).in_(IN_KITCHEN))
                .order_by(col(OrderRow.placed_at), col(OrderRow.id))
            ).all()
            return [ORDER_JSON.validate_json(row.snapshot) for row in rows]

    def recently_ready(self, limit: int) -> list[Order]:
        """The last `limit` orders that became ready, the newest first, whatever their status now."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(OrderRow)
                .where(col(OrderRow.ready_at).is_not(None))
                .order_by(col(OrderRow.ready_at).desc(), col(OrderRow.id).desc())
                .limit(limit)
            ).all()
            return [ORDER_JSON.validate_json(row.snapshot) for row in rows]

    def deliveries(self, driver: str) -> list[Order]:
        """Delivery orders ready for a driver, oldest ready first, then those out with `driver`, oldest pickup first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(OrderRow)
                .where(col(OrderRow.fulfilment) == Fulfilment.DELIVERY.value)
                .where(col(OrderRow.status).in_(WITH_DRIVERS))
                .order_by(col(OrderRow.placed_at), col(OrderRow.id))
            ).all()
            found = [ORDER_JSON.validate_json(row.snapshot) for row in rows]
        # Few rows: those a driver may take now, and those out on the road. The driver is in the snapshot only.
        waiting = [order for order in found if order.status is OrderStatus.READY]
        theirs = [order for order in found if order.status is OrderStatus.OUT_FOR_DELIVERY and _driver(order) == driver]
        waiting.sort(key=lambda order: (_moment_of(order, OrderStatus.READY), order.id))
        theirs.sort(key=lambda order: (_moment_of(order, OrderStatus.OUT_FOR_DELIVERY), order.id))
        return waiting + theirs

    def page(
        self,
        statuses: Collection[OrderStatus],
        limit: int,
        after: tuple[datetime, str] | None = None,
        phone: str | None = None,
    ) -> tuple[list[Order], tuple[datetime, str] | None]:
        """Orders newest first, of these statuses (all when empty) and this customer's phone (any when None),
        after a place in the list.

        Returns a page and the place after its last order, or None when nothing follows it.
        """
        query = select(OrderRow).order_by(col(OrderRow.placed_at).desc(), col(OrderRow.id).desc()).limit(limit + 1)
        if statuses:
            query = query.where(col(OrderRow.status).in_([status.value for status in statuses]))
        if phone is not None:
            query = query.where(col(OrderRow.customer_phone) == phone)
        if after is not None:
            placed_at, order_id = utc(after[0]), after[1]
            older = col(OrderRow.placed_at) < placed_at
            query = query.where(older | ((col(OrderRow.placed_at) == placed_at) & (col(OrderRow.id) < order_id)))
        with Session(self._engine) as session:
            rows = session.exec(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        orders = [ORDER_JSON.validate_json(row.snapshot) for row in rows]
        return orders, (utc(rows[-1].placed_at), rows[-1].id) if more else None

    def kitchen(self, day: date, kitchen_sla_seconds: float) -> KitchenDay:
        """The kitchen's numbers of a UTC day: counted, ranked and measured by the database."""
        with Session(self._engine) as session:
            return kitchen_day(session, day, kitchen_sla_seconds)

    def sales(self, day: date) -> DaySales:
        """Orders completed and cancelled on a UTC day, and the revenue of the completed ones."""
        first, last = day_bounds(day)
        in_day = (col(OrderRow.finished_at) >= first) & (col(OrderRow.finished_at) <= last)
        finished = (OrderStatus.COMPLETED.value, OrderStatus.CANCELLED.value)
        with Session(self._engine) as session:
            rows = session.exec(
                select(col(OrderRow.status), col(OrderRow.total))
                .where(in_day)
                .where(col(OrderRow.status).in_(finished))
            ).all()
        # Summed here, in Decimal: some databases (SQLite) would sum in floating point.
        completed = [Decimal(total) for status, total in rows if status == OrderStatus.COMPLETED.value]
        cancelled = sum(1 for status, _ in rows if status == OrderStatus.CANCELLED.value)
        return DaySales(day, len(completed), cancelled, cents(sum(completed, Decimal(0))))
