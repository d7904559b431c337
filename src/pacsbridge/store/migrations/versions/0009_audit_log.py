"""audit log: one narrow row per access to patient data, and what it was about

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("pk", Pk, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("recorded", sa.DateTime(), nullable=False),
        sa.Column("face", sa.String(16), nullable=False),
        sa.Column("interaction", sa.String(64), nullable=False),
        sa.Column("action", sa.String(1), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.Column("fhir_user", sa.String(140), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("entities", sa.Text(), nullable=False),
        sa.Column("patients", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_event_recorded", "audit_event", ["recorded"])
    op.create_index("ix_audit_event_subject", "audit_event", ["subject"])
    op.create_index("ix_audit_event_client", "audit_event", ["client_id"])
    op.create_table(
        "audit_event_link",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_link_value", "audit_event_link", ["kind", "value", "event_id"])
    op.create_index("ix_audit_link_event", "audit_event_link", ["event_id"])


def downgrade() -> None:
    op.drop_table("audit_event_link")
    op.drop_table("audit_event")
