"""What the manager's numbers and a customer's history are read from: an order's moments and lines as columns.

Revision ID: 0002_order_facts
Revises: 0001_initial
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0002_order_facts"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
