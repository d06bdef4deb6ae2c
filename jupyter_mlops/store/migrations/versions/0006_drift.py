"""Drift: reference sketches, monitoring batches, alert rules and alerts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
Number = sa.Float(precision=53)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RunId = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "drift_references",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("blob_digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.Integer, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.UniqueConstraint("kind", "name", "version", name="uq_drift_references_owner"),
    )
    op.create_table(
        "drift_batches",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("window_start", Time),
        sa.Column("window_end", Time),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.Integer, nullable=False),
        sa.Column("drifted_columns", sa.Integer, nullable=False),
        sa.Column("drift_share", Number, nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("prediction_drift", Number),
        sa.Column("prediction_drifted", sa.Boolean),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("report_digest", sa.String(64), nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ix_drift_batches_model", "drift_batches", ["model_id", "at"])
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("ref", sa.String(300), nullable=False),
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("pipeline", sa.String(255)),
        sa.Column("webhook", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.Integer, sa.ForeignKey("alert_rules.id"), nullable=False),
        sa.Column("batch_id", BigId, sa.ForeignKey("drift_batches.id"), nullable=False),
        sa.Column("observed", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("pipeline_run_id", RunId),
        sa.Column("webhook_status", sa.String(255)),
        sa.Column("created_at", Time, nullable=False),
        sa.UniqueConstraint("rule_id", "batch_id", name="uq_alerts_rule_batch"),
    )
    op.create_index("ix_alerts_batch", "alerts", ["batch_id"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    op.drop_table("drift_batches")
    op.drop_table("drift_references")
