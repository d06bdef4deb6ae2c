"""Reproductions: one row per replay of a run's notebook snapshot, its phases and verdict.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
RunId = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "reproductions",
        sa.Column("id", RunId, primary_key=True),
        sa.Column("original_run_id", RunId, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("run_id", RunId, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("env", sa.String(16), nullable=False),
        sa.Column("tolerance", sa.Float(precision=53), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("progress", sa.Float(precision=53)),
        sa.Column("message", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time),
        sa.Column("heartbeat", Time, nullable=False),
        sa.Column("started_by", sa.String(255)),
    )
    op.create_index("ix_reproductions_original", "reproductions",
                    ["original_run_id", "started_at"])


def downgrade() -> None:
    op.drop_table("reproductions")
