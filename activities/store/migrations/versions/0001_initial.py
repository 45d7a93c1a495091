"""The shop's first tables (the menu, the orders, the kitchen queue) and the menu of a new shop.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import context, op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The menu as it was when this migration was written, not as domain/menu.py has it now: a migration makes
# the same database whenever it runs. Prices change through the API (or a later migration).
PIZZAS = [
    ("margherita", "Margherita", "9.99", "12.99", "15.99"),
    ("pepperoni", "Pepperoni", "11.99", "14.99", "17.99"),
    ("quattro_formaggi", "Quattro Formaggi", "12.99", "15.99", "18.99"),
    ("diavola", "Diavola", "12.49", "15.49", "18.49"),
    ("vegetariana", "Vegetariana", "11.49", "14.49", "17.49"),
    ("hawaiian", "Hawaiian", "11.99", "14.99", "17.99"),
]
TOPPINGS = [
    ("extra_cheese", "1.50"),
    ("mushrooms", "1.25"),
    ("olives", "1.00"),
    ("jalapenos", "1.00"),
    ("basil", "0.75"),
    ("prosciutto", "2.50"),
]


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(precision=10, scale=2), nullable=False)


def upgrade() -> None:
    if not context.is_offline_mode() and sa.inspect(op.get_bind()).has_table("menu_pizza"):
        # A database made before the schema had migrations, when the processes created these very tables at
        # start: it already is at this revision, menu and all.
        return
    pizzas = op.create_table(
        "menu_pizza",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        _money("price_small"),
        _money("price_medium"),
        _money("price_large"),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    toppings = op.create_table(
        "menu_topping",
        sa.Column("name", sa.String(), nullable=False),
        _money("price"),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("fulfilment", sa.String(), nullable=False),
        sa.Column("payment_method", sa.String(), nullable=False),
        _money("total"),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.create_index("ix_orders_finished_at", "orders", ["finished_at"])
    op.create_table(
        "kitchen_queue",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    assert pizzas is not None and toppings is not None  # create_table answers with the table it made
    op.bulk_insert(
        pizzas,
        [
            {
                "name": name,
                "display_name": display_name,
                "price_small": Decimal(small),
                "price_medium": Decimal(medium),
                "price_large": Decimal(large),
                "available": True,
            }
            for name, display_name, small, medium, large in PIZZAS
        ],
    )
    op.bulk_insert(toppings, [{"name": name, "price": Decimal(price), "available": True} for name, price in TOPPINGS])


def downgrade() -> None:
    op.drop_table("kitchen_queue")
    op.drop_index("ix_orders_finished_at", table_name="orders")
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.drop_index("ix_orders_status", table_name="orders")
    op.drop_table("orders")
    op.drop_table("menu_topping")
    op.drop_table("menu_pizza")
