"""Staff accounts that sign in with a password, and the failed sign-ins that lock a username out for a while.

Revision ID: 0004_staff
Revises: 0003_stock
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_staff"
down_revision: str | Sequence[str] | None = "0003_stock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No account is made here: `make run` makes the first manager, with a password of its own written under data/.
    op.create_table(
        "staff_account",
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("roles", sa.String(), nullable=False),  # comma-separated, sorted
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),  # made anew with each account
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failure_username", "sign_in_failure", ["username"])
    op.create_index("ix_sign_in_failure_at", "sign_in_failure", ["at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_at", table_name="sign_in_failure")
    op.drop_index("ix_sign_in_failure_username", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_table("staff_account")
