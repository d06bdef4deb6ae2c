"""Each feature materialization's event-time range, so freshness (how recent its newest row
is) is known without reading the parquet, and the number of keys it wrote online.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("feature_materializations") as batch:
        batch.add_column(sa.Column("first_event", Time))
        batch.add_column(sa.Column("last_event", Time))
        batch.add_column(sa.Column("online_keys", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("feature_materializations") as batch:
        batch.drop_column("online_keys")
        batch.drop_column("last_event")
        batch.drop_column("first_event")
