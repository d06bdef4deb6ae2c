"""The drift method preset each monitoring batch was computed with, so a batch keeps the
meaning it was recorded under when the default changes. Batches recorded before this
revision were computed with Evidently's defaults: they get "evidently".

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drift_batches") as batch:
        batch.add_column(sa.Column("method", sa.String(32), nullable=False,
                                   server_default="evidently"))
    with op.batch_alter_table("drift_batches") as batch:
        batch.alter_column("method", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("drift_batches") as batch:
        batch.drop_column("method")
