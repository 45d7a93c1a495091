"""Stock: ingredients and their counts, each pizza's recipe, and each order's reservation.

Revision ID: 0003_stock
Revises: 0002_order_facts
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0003_stock"
down_revision: str | Sequence[str] | None = "0002_order_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
