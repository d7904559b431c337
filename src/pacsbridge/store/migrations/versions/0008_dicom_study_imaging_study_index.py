"""dicom study: index imaging_study_id, to find one patient's studies (patient_studies.py)

On PostgreSQL the column takes resource.res_id's collation ("C"): a join of columns of
two collations cannot use either index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("dicom_study", "imaging_study_id", type_=sa.String(64, collation="C"),
                        existing_nullable=True)  # fmt: skip
    with op.batch_alter_table("dicom_study", schema=None) as batch_op:
        batch_op.create_index("ix_dicom_study_imaging_study", ["imaging_study_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dicom_study", schema=None) as batch_op:
        batch_op.drop_index("ix_dicom_study_imaging_study")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("dicom_study", "imaging_study_id", type_=sa.String(64),
                        existing_nullable=True)  # fmt: skip
