"""MLflow on-ramp: what MLflow records that the store did not keep yet. Experiment and
registry tags, the last update times MLflow orders by, a model version's source and logged
model, the datasets a run read (MLflow's dataset inputs), and MLflow 3's logged models with
their artifacts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
RunId = sa.String(32)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("tags", sa.Text))
        batch.add_column(sa.Column("updated_at", Time))
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("tags", sa.Text))
        batch.add_column(sa.Column("updated_at", Time))
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("tags", sa.Text))
        batch.add_column(sa.Column("source", sa.Text))
        batch.add_column(sa.Column("logged_model_id", sa.String(64)))
        batch.add_column(sa.Column("run_link", sa.Text))
        batch.add_column(sa.Column("updated_at", Time))
    op.create_table(
        "run_datasets",
        sa.Column("run_id", RunId, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(500), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("context", sa.String(500)),
        sa.Column("source_type", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("schema", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "logged_models",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("source_run_id", RunId, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model_type", sa.String(500)),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("created_by", sa.String(255)),
    )
    op.create_index("ix_logged_models_experiment", "logged_models", ["experiment_id", "created_at"])
    op.create_index("ix_logged_models_run", "logged_models", ["source_run_id"])
    op.create_table(
        "logged_model_artifacts",
        sa.Column("model_id", sa.String(64),
                  sa.ForeignKey("logged_models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(1000), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ix_logged_model_artifacts_digest", "logged_model_artifacts", ["digest"])


def downgrade() -> None:
    op.drop_table("logged_model_artifacts")
    op.drop_table("logged_models")
    op.drop_table("run_datasets")
    with op.batch_alter_table("model_versions") as batch:
        for column in ("updated_at", "run_link", "logged_model_id", "source", "tags"):
            batch.drop_column(column)
    for table in ("models", "experiments"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("updated_at")
            batch.drop_column("tags")
