"""The first schema: experiments, runs and what runs log, links, cells, blobs, changes.

Frozen: later changes to the schema are new revisions, never edits here.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("description", sa.Text),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_run_id", sa.String(32), sa.ForeignKey("runs.id")),
        sa.Column("start_time", Time, nullable=False),
        sa.Column("end_time", Time),
        sa.Column("heartbeat", Time, nullable=False),
        sa.Column("user", sa.String(255)),
        sa.Column("host", sa.String(255)),
        sa.Column("notebook", sa.Text),
        sa.Column("source_digest", sa.String(64)),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("python_version", sa.String(32)),
        sa.Column("environment_digest", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "start_time"])
    op.create_index("ix_runs_parent", "runs", ["parent_run_id"])
    cascade = {"ondelete": "CASCADE"}
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("num", sa.Float(precision=53)),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(precision=53)),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", Time, nullable=False),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float(precision=53)),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", Time, nullable=False),
    )
    op.create_table(
        "tags",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), primary_key=True),
        sa.Column("name", sa.String(1000), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ix_artifacts_digest", "artifacts", ["digest"])
    op.create_table(
        "run_links",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(500), nullable=False),
        sa.Column("role", sa.String(64)),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ix_run_links_run", "run_links", ["run_id"])
    op.create_index("ix_run_links_ref", "run_links", ["kind", "ref"])
    op.create_table(
        "cells",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", **cascade), primary_key=True),
        sa.Column("ordinal", sa.Integer, primary_key=True),
        sa.Column("execution_count", sa.Integer),
        sa.Column("cell_id", sa.String(64)),
        sa.Column("notebook_index", sa.Integer),
        sa.Column("source_digest", sa.String(64), nullable=False),
        sa.Column("started", Time, nullable=False),
        sa.Column("ended", Time),
        sa.Column("success", sa.Boolean),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "texts",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("touched_at", Time, nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", Time, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "changes", "blobs", "texts", "cells", "run_links", "artifacts", "tags",
        "latest_metrics", "metrics", "params", "runs", "experiments",
    ):
        op.drop_table(table)
