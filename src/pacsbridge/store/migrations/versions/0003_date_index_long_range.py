"""date index rows marked short or long, for windowed date search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("long_range", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_idx_date_2", ["res_type", "param", "long_range", "low"], unique=False
        )
    # Same threshold as search/dates.py SHORT; julianday's millisecond rounding only ever
    # makes a row long, and long rows are always checked exactly.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE idx_date SET long_range = (high - low >= interval '2 days')")
    else:
        op.execute("UPDATE idx_date SET long_range = (julianday(high) - julianday(low) >= 2)")


def downgrade() -> None:
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_date_2")
        batch_op.drop_column("long_range")
