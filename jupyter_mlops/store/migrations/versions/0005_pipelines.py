"""Pipelines: pipeline runs, step runs (one row per attempt), schedules.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
RunId = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", RunId, primary_key=True),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("resumed_from", RunId),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time),
        sa.Column("heartbeat", Time, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline", "started_at"])
    op.create_table(
        "step_runs",
        sa.Column("id", RunId, primary_key=True),
        sa.Column("pipeline_run_id", RunId,
                  sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time),
        sa.Column("notebook_digest", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("failed_cell", sa.Integer),
        sa.Column("output", sa.Text),
    )
    op.create_index("ix_step_runs_pipeline_run", "step_runs", ["pipeline_run_id"])
    op.create_table(
        "schedules",
        sa.Column("pipeline", sa.String(255), primary_key=True),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("last_fire", Time),
        sa.Column("next_fire", Time),
        sa.Column("updated_at", Time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("step_runs")
    op.drop_table("pipeline_runs")
