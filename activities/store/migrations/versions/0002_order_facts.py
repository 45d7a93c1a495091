"""What the manager's numbers and a customer's history are read from: an order's moments and lines as columns.

Orders already stored get theirs from their JSON snapshot, read here as plain JSON (not through the code's
models, which may change after this migration was written), a batch at a time. `alembic upgrade --sql`
writes the new columns and table only: filling them needs the rows, so a shop with orders migrates online.

Revision ID: 0002_order_facts
Revises: 0001_initial
Create Date: 2026-11-30
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002_order_facts"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500  # orders read, and written back, at a time
FACTS = (
    ("customer_phone", sa.String()),
    ("confirmed_at", sa.DateTime(timezone=True)),
    ("ready_at", sa.DateTime(timezone=True)),
    ("prep_seconds", sa.Float()),
    ("picked_up_at", sa.DateTime(timezone=True)),
    ("delivered_at", sa.DateTime(timezone=True)),
    ("delivery_seconds", sa.Float()),
    ("cancelled_from", sa.String()),
)
INDEXES = (
    ("ix_orders_ready_at", ["ready_at"]),
    ("ix_orders_delivered_at", ["delivered_at"]),
    ("ix_orders_customer_history", ["customer_phone", "placed_at", "id"]),
)


def upgrade() -> None:
    # Nullable: a worker of the release before this one still saves orders without them during a rolling upgrade.
    for name, kind in FACTS:
        op.add_column("orders", sa.Column(name, kind, nullable=True))
    for index, columns in INDEXES:
        op.create_index(index, "orders", columns)
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("pizza", sa.String(), nullable=False),
        sa.Column("size", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("order_id", "line_no"),
    )
    if not context.is_offline_mode():
        _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("order_lines")
    for index, _ in INDEXES:
        op.drop_index(index, table_name="orders")
    with op.batch_alter_table("orders") as orders:  # SQLite: the table is copied without the columns
        for name, _ in FACTS:
            orders.drop_column(name)


# --- filling the facts of orders stored before ----------------------------------------------------------------

ORDERS = sa.table(
    "orders",
    sa.column("id", sa.String()),
    sa.column("snapshot", sa.String()),
    *(sa.column(name, kind) for name, kind in FACTS),
)
LINES = sa.table(
    "order_lines",
    *(sa.column(name, sa.String()) for name in ("order_id", "pizza", "size")),
    *(sa.column(name, sa.Integer()) for name in ("line_no", "quantity")),
)


def _backfill(connection: sa.Connection) -> None:
    """Every stored order's facts and lines, from its snapshot, a batch of orders (by id) at a time."""
    update = (
        ORDERS.update()
        .where(ORDERS.c.id == sa.bindparam("order_id"))
        .values({name: sa.bindparam(f"new_{name}") for name, _ in FACTS})
    )
    last = ""
    while True:
        batch = connection.execute(
            sa.select(ORDERS.c.id, ORDERS.c.snapshot).where(ORDERS.c.id > last).order_by(ORDERS.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        facts, lines = [], []
        for order_id, snapshot in batch:
            order = json.loads(snapshot)
            facts.append({"order_id": order_id, **{f"new_{name}": value for name, value in _facts(order).items()}})
            lines += _lines(order_id, order)
        connection.execute(update, facts)
        if lines:
            connection.execute(LINES.insert(), lines)
        last = batch[-1][0]


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _facts(order: dict[str, Any]) -> dict[str, Any]:
    """An order's facts as the code of this revision saves them, from its snapshot's JSON."""
    history = order.get("history") or []
    firsts: dict[str, datetime | None] = {}
    for change in history:
        firsts.setdefault(change["status"], _moment(change["at"]))
    before_cancel = [change["status"] for change in history if change["status"] != "cancelled"]
    delivery = order.get("delivery") or {}
    facts: dict[str, Any] = {
        "customer_phone": (order.get("customer") or {}).get("phone"),
        "confirmed_at": firsts.get("confirmed"),
        "ready_at": firsts.get("ready"),
        "picked_up_at": _moment(delivery.get("picked_up_at")),
        "delivered_at": _moment(delivery.get("delivered_at")),
        "cancelled_from": before_cancel[-1] if order.get("status") == "cancelled" and before_cancel else None,
    }
    facts["prep_seconds"] = _seconds(facts["confirmed_at"], facts["ready_at"])
    facts["delivery_seconds"] = _seconds(facts["picked_up_at"], facts["delivered_at"])
    return facts


def _lines(order_id: str, order: dict[str, Any]) -> list[dict[str, Any]]:
    items = enumerate(order.get("items") or [], start=1)
    return [
        {"order_id": order_id, "line_no": n, "pizza": item["pizza"], "size": item["size"], "quantity": item["quantity"]}
        for n, item in items
    ]
