"""Datasets: names, versions (digest, stored blob or folder listing, schema, profile, run).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("blob_digest", sa.String(64)),
        sa.Column("source_path", sa.Text),
        sa.Column("copied", sa.Boolean, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    )
    op.create_index("ix_dataset_versions_digest", "dataset_versions", ["dataset_id", "digest"])
    op.create_table(
        "dataset_files",
        sa.Column("version_id", BigId, sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("path", sa.String(1000), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_dataset_files_digest", "dataset_files", ["digest"])


def downgrade() -> None:
    op.drop_table("dataset_files")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
