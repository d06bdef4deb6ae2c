"""Feature views over partitioned parquet: the path a view reads one partition at a time
(`feature_views.partitions`; NULL for a view that computes all its rows at once).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"  # MERGE: 0014
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN, as in 0013: a batch copy of feature_views would drop a
    # table other rows refer to
    op.add_column("feature_views", sa.Column("partitions", sa.Text()))


def downgrade() -> None:
    op.drop_column("feature_views", "partitions")
