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
    # plain ALTER TABLE ADD COLUMN (SQLite has it): a batch copy of these tables would drop
    # tables other rows refer to, which SQLite's foreign keys refuse
    for table, columns in (
        ("experiments", [sa.Column("tags", sa.Text), sa.Column("updated_at", Time)]),
        ("models", [sa.Column("tags", sa.Text), sa.Column("updated_at", Time)]),
        ("model_versions", [sa.Column("tags", sa.Text), sa.Column("source", sa.Text),
                            sa.Column("logged_model_id", sa.String(64)),
                            sa.Column("run_link", sa.Text), sa.Column("updated_at", Time)]),
    ):
        for column in columns:
            op.add_column(table, column)
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
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not a batch copy: see upgrade()
    for table, columns in (("model_versions", ("updated_at", "run_link", "logged_model_id",
                                               "source", "tags")),
                           ("models", ("updated_at", "tags")),
                           ("experiments", ("updated_at", "tags"))):
        for column in columns:
            op.drop_column(table, column)
