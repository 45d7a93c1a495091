"""Stock: ingredients and their counts, each pizza's recipe, and each order's reservation.

Revision ID: 0003_stock
Revises: 0002_order_facts
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003_stock"
down_revision: str | Sequence[str] | None = "0002_order_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The recipes as they were when this migration was written (domain/stock.py's seed then), not as the code has
# them now: a migration makes the same database whenever it runs.
# (pizza, ingredient, portions small, medium, large)
RECIPES = [
    ("margherita", "dough", 1, 1, 1),
    ("margherita", "tomato_sauce", 1, 1, 2),
    ("margherita", "mozzarella", 1, 2, 2),
    ("margherita", "basil", 1, 1, 1),
    ("pepperoni", "dough", 1, 1, 1),
    ("pepperoni", "tomato_sauce", 1, 1, 2),
    ("pepperoni", "mozzarella", 1, 2, 2),
    ("pepperoni", "pepperoni", 1, 2, 3),
    ("quattro_formaggi", "dough", 1, 1, 1),
    ("quattro_formaggi", "mozzarella", 1, 1, 2),
    ("quattro_formaggi", "gorgonzola", 1, 1, 1),
    ("quattro_formaggi", "fontina", 1, 1, 1),
    ("quattro_formaggi", "parmesan", 1, 1, 1),
    ("diavola", "dough", 1, 1, 1),
    ("diavola", "tomato_sauce", 1, 1, 2),
    ("diavola", "mozzarella", 1, 2, 2),
    ("diavola", "spicy_salami", 1, 2, 3),
    ("diavola", "chili", 1, 1, 1),
    ("vegetariana", "dough", 1, 1, 1),
    ("vegetariana", "tomato_sauce", 1, 1, 2),
    ("vegetariana", "mozzarella", 1, 2, 2),
    ("vegetariana", "peppers", 1, 1, 2),
    ("vegetariana", "onions", 1, 1, 1),
    ("vegetariana", "mushrooms", 1, 1, 2),
    ("vegetariana", "olives", 1, 1, 1),
    ("hawaiian", "dough", 1, 1, 1),
    ("hawaiian", "tomato_sauce", 1, 1, 2),
    ("hawaiian", "mozzarella", 1, 2, 2),
    ("hawaiian", "ham", 1, 2, 2),
    ("hawaiian", "pineapple", 1, 1, 2),
]
# The toppings of 0001_initial's menu: each is one portion of the ingredient of its own name.
TOPPINGS = ["extra_cheese", "mushrooms", "olives", "jalapenos", "basil", "prosciutto"]
SIZES = ("small", "medium", "large")


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    if not context.is_offline_mode() and sa.inspect(op.get_bind()).has_table("ingredient"):
        # A database whose tables the processes made themselves before the schema had migrations.
        return
    ingredients = op.create_table(
        "ingredient",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=True),  # NULL: not tracked, never refuses an order
        _count("reserved"),
        _count("consumed"),
        sa.PrimaryKeyConstraint("name"),
    )
    recipes = op.create_table(
        "recipe",
        sa.Column("pizza", sa.String(), nullable=False),
        sa.Column("ingredient", sa.String(), nullable=False),
        sa.Column("size", sa.String(), nullable=False),
        sa.Column("portions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pizza", "ingredient", "size"),
    )
    op.create_table(
        "stock_reservation",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("ingredient", sa.String(), nullable=False),
        sa.Column("portions", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),  # reserved, consumed or released
        sa.PrimaryKeyConstraint("order_id", "ingredient"),
    )
    assert ingredients is not None and recipes is not None  # create_table answers with the table it made
    names = sorted({ingredient for _, ingredient, *_ in RECIPES} | set(TOPPINGS))
    op.bulk_insert(ingredients, [{"name": name, "on_hand": None, "reserved": 0, "consumed": 0} for name in names])
    op.bulk_insert(
        recipes,
        [
            {"pizza": pizza, "ingredient": ingredient, "size": size, "portions": portions}
            for pizza, ingredient, *per_size in RECIPES
            for size, portions in zip(SIZES, per_size, strict=True)
        ],
    )


def downgrade() -> None:
    op.drop_table("stock_reservation")
    op.drop_table("recipe")
    op.drop_table("ingredient")
