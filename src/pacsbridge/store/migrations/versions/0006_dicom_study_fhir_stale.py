"""dicom study: fhir_stale, the ImagingStudy is rebuilt once the sender is done

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dicom_study", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fhir_stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_dicom_study_stale", ["fhir_stale", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dicom_study", schema=None) as batch_op:
        batch_op.drop_index("ix_dicom_study_stale")
        batch_op.drop_column("fhir_stale")
