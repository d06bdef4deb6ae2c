"""Feature views (one row a definition version) and their materializations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
Number = sa.Float(precision=53)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feature_views",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("function", sa.String(255)),
        sa.Column("entities", sa.Text, nullable=False),
        sa.Column("timestamp", sa.String(255), nullable=False),
        sa.Column("ttl", Number),
        sa.Column("features", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", Time, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_feature_views_version"),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("view_id", sa.Integer, sa.ForeignKey("feature_views.id"), nullable=False),
        sa.Column("blob_digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("start", Time),
        sa.Column("end", Time),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("ix_feature_materializations_view", "feature_materializations",
                    ["view_id", "created_at"])


def downgrade() -> None:
    op.drop_table("feature_materializations")
    op.drop_table("feature_views")
