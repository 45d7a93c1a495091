"""Orders in the database: written by the saga's activities, read back by the API.

The workflow is the truth while an order runs; this store keeps what outlives it
(finished orders, the kitchen's queue, the day's sales).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from activities.store.tables import KitchenTicketRow, OrderRow, utc
from domain.money import cents
from domain.order import FINAL, Order, OrderStatus
from domain.pricing import Fulfilment

ORDER_JSON = TypeAdapter(Order)
IN_KITCHEN = (OrderStatus.CONFIRMED.value, OrderStatus.PREPARING.value)
WITH_DRIVERS = (OrderStatus.READY.value, OrderStatus.OUT_FOR_DELIVERY.value)


def _add_once(session: Session, row: SQLModel, key: str, replace: bool) -> None:
    """Insert a row; when its key is taken, replace it or leave it. One statement where the dialect allows."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(session.get_bind().dialect.name)
    if dialect is None:  # other databases: two round trips, same outcome
        if replace or session.get(type(row), getattr(row, key)) is None:
            session.merge(row)
        return
    values = row.model_dump()
    statement = dialect.insert(type(row)).values(values)
    if replace:
        session.execute(statement.on_conflict_do_update(index_elements=[key], set_=values))
    else:
        session.execute(statement.on_conflict_do_nothing(index_elements=[key]))


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
        """Insert or replace the order's snapshot; idempotent."""
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
        )
        with Session(self._engine) as session:
            _add_once(session, row, key="id", replace=True)
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
        self, statuses: Collection[OrderStatus], limit: int, after: tuple[datetime, str] | None = None
    ) -> tuple[list[Order], tuple[datetime, str] | None]:
        """Orders newest first, of these statuses (all when empty), after a place in the list.

        Returns a page and the place after its last order, or None when nothing follows it.
        """
        query = select(OrderRow).order_by(col(OrderRow.placed_at).desc(), col(OrderRow.id).desc()).limit(limit + 1)
        if statuses:
            query = query.where(col(OrderRow.status).in_([status.value for status in statuses]))
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

    def sales(self, day: date) -> DaySales:
        """Orders completed and cancelled on a UTC day, and the revenue of the completed ones."""
        first, last = (datetime.combine(day, moment, tzinfo=UTC) for moment in (time.min, time.max))
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
