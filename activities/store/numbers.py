"""The manager's numbers of a UTC day, counted and ranked by the database from the orders' facts.

Every figure is one query over the columns `OrderStore.save` fills (migration 0002_order_facts); no order is
loaded into Python. The same SQL runs on SQLite and PostgreSQL: window functions, no dialect's extras.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlmodel import Session, col

from activities.store.tables import OrderLineRow, OrderRow
from domain.order import CANCELLABLE, OrderStatus

TOP_PIZZAS = 5
# The stages an order can be cancelled from: a customer's or staff's cancel, or a failed delivery.
CANCELLED_FROM = tuple(s.value for s in OrderStatus if s in CANCELLABLE or s is OrderStatus.OUT_FOR_DELIVERY)
PERCENTILES = (50, 90)
MINUTE = Decimal(60)


@dataclass(frozen=True)
class Spread:
    """Minutes at the 50th and 90th percentile (nearest rank), one decimal; None when nothing was measured."""

    p50: float | None
    p90: float | None


@dataclass(frozen=True)
class KitchenDay:
    day: date
    orders_completed: int
    prep_minutes: Spread
    ready_late_share: float | None
    cancelled_by_stage: dict[str, int]
    top_pizzas: list[tuple[str, int]]
    delivery_minutes: Spread


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first and last moment of a UTC day (the last one included: the day after may not exist)."""
    first, last = (datetime.combine(day, moment, tzinfo=UTC) for moment in (time.min, time.max))
    return first, last


def _minutes(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return float((Decimal(str(seconds)) / MINUTE).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _share(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.001"), ROUND_HALF_UP))


def _spread(
    session: Session, seconds: Any, moment: Any, first: datetime, last: datetime, limit_seconds: float | None = None
) -> tuple[Spread, int, int]:
    """The percentiles of `seconds` over the rows whose `moment` falls in [first, last]; how many rows there are,
    and how many of them took longer than `limit_seconds` (0 without one).

    Nearest rank: the p-th percentile of n values is the value at rank ceil(p * n / 100) in ascending order,
    that is the smallest value whose rank r has r * 100 >= p * n (no division, so no dialect's rounding).
    """
    measured = col(seconds)
    ranked = (
        select(
            measured.label("seconds"),
            func.row_number().over(order_by=measured).label("rank"),
            func.count().over().label("n"),
        )
        .where(col(moment) >= first, col(moment) <= last, measured.is_not(None))
        .subquery()
    )
    at_rank: list[ColumnElement[Any]] = [
        func.min(case((ranked.c.rank * 100 >= ranked.c.n * percent, ranked.c.seconds))) for percent in PERCENTILES
    ]
    over = literal(0) if limit_seconds is None else func.sum(case((ranked.c.seconds > limit_seconds, 1), else_=0))
    p50, p90, count, late = session.execute(select(*at_rank, func.count(), over)).one()
    return Spread(_minutes(p50), _minutes(p90)), count, late or 0


def _completed(first: datetime, last: datetime) -> Sequence[ColumnElement[bool]]:
    finished = col(OrderRow.finished_at)
    return (col(OrderRow.status) == OrderStatus.COMPLETED.value, finished >= first, finished <= last)


def kitchen_day(session: Session, day: date, kitchen_sla_seconds: float) -> KitchenDay:
    """The kitchen's numbers of a UTC day (README, "Numbers for the manager", defines each)."""
    first, last = day_bounds(day)
    completed = session.execute(select(func.count()).select_from(OrderRow).where(*_completed(first, last))).scalar()
    prep, prepared, late = _spread(session, OrderRow.prep_seconds, OrderRow.ready_at, first, last, kitchen_sla_seconds)
    delivery, _, _ = _spread(session, OrderRow.delivery_seconds, OrderRow.delivered_at, first, last)
    stage = col(OrderRow.cancelled_from)
    cancelled = session.execute(
        select(stage, func.count())
        .where(col(OrderRow.status) == OrderStatus.CANCELLED.value)
        .where(col(OrderRow.finished_at) >= first, col(OrderRow.finished_at) <= last)
        .where(stage.is_not(None))
        .group_by(stage)
    ).all()
    quantity = func.sum(col(OrderLineRow.quantity)).label("quantity")
    top = session.execute(
        select(col(OrderLineRow.pizza), quantity)
        .join(OrderRow, col(OrderRow.id) == col(OrderLineRow.order_id))
        .where(*_completed(first, last))
        .group_by(col(OrderLineRow.pizza))
        .order_by(quantity.desc(), col(OrderLineRow.pizza))
        .limit(TOP_PIZZAS)
    ).all()
    return KitchenDay(
        day=day,
        orders_completed=completed or 0,
        prep_minutes=prep,
        ready_late_share=_share(late, prepared),
        cancelled_by_stage={name: 0 for name in CANCELLED_FROM} | {name: count for name, count in cancelled},
        top_pizzas=[(name, int(total)) for name, total in top],
        delivery_minutes=delivery,
    )
