"""Pipelines on a Dask cluster: where each step attempt ran (`step_runs.worker`, the Dask
worker's address; NULL for the local runner).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN, as in 0013: a batch copy of step_runs would drop a table
    # other rows refer to
    op.add_column("step_runs", sa.Column("worker", sa.String(255)))


def downgrade() -> None:
    op.drop_column("step_runs", "worker")
