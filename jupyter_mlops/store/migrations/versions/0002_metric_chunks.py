"""Metric history in chunks: `metrics` (a row per point) becomes `metric_chunks` (a row per
run, key and flush, the points packed). Existing points are carried over.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.series import CHUNK, pack

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    chunks = op.create_table(
        "metric_chunks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("min_step", sa.BigInteger, nullable=False),
        sa.Column("max_step", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_metric_chunks_run_key", "metric_chunks", ["run_id", "key"])
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT run_id, key, step, value, timestamp FROM metrics "
        "ORDER BY run_id, key, step, timestamp"))
    group: list = []
    for row in rows:
        if group and ((row[0], row[1]) != (group[0][0], group[0][1]) or len(group) >= CHUNK):
            _insert(bind, chunks, group)
            group = []
        group.append(row)
    if group:
        _insert(bind, chunks, group)
    op.drop_index("ix_metrics_run_key_step", table_name="metrics")
    op.drop_table("metrics")


def _insert(bind, chunks, points) -> None:
    steps = [p[2] for p in points]
    values = [float("nan") if p[3] is None else p[3] for p in points]
    bind.execute(chunks.insert().values(
        run_id=points[0][0], key=points[0][1], count=len(points), min_step=min(steps),
        max_step=max(steps), data=pack(steps, values, [p[4] for p in points])))


def downgrade() -> None:
    from jupyter_mlops.store.series import unpack

    metrics = op.create_table(
        "metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(precision=53)),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.Float(precision=53), nullable=False),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step"])
    bind = op.get_bind()
    for run_id, key, count, data in bind.execute(sa.text(
            "SELECT run_id, key, count, data FROM metric_chunks ORDER BY id")).all():
        steps, values, stamps = unpack(data, count)
        bind.execute(metrics.insert(), [
            {"run_id": run_id, "key": key, "value": None if v != v else float(v), "step": int(s),
             "timestamp": float(t)} for s, v, t in zip(steps, values, stamps, strict=True)])
    op.drop_index("ix_metric_chunks_run_key", table_name="metric_chunks")
    op.drop_table("metric_chunks")
