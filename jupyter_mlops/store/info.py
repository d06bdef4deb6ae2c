"""What a store holds, in numbers: for `jupyter mlops store info` and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from . import get_store
from .tables import artifacts, blobs, changes, experiments, metric_chunks, runs


def summary() -> dict[str, Any]:
    """Location, schema revision and counts of what the store holds."""
    store = get_store()
    with store.read() as conn:
        by_status = dict(conn.execute(
            select(runs.c.status, func.count()).group_by(runs.c.status)).all())
        blob_count, blob_bytes = conn.execute(
            select(func.count(), func.coalesce(func.sum(blobs.c.size), 0))).one()
        return {
            "store": store.display_uri,
            "artifacts": store.artifacts.uri,
            "schema": store.revision,
            "experiments": conn.execute(select(func.count()).select_from(experiments)).scalar(),
            "runs": sum(by_status.values()),
            "runs_by_status": by_status,
            "metric_points": conn.execute(
                select(func.coalesce(func.sum(metric_chunks.c.count), 0))).scalar(),
            "artifact_entries": conn.execute(select(func.count()).select_from(artifacts)).scalar(),
            "blobs": blob_count,
            "blob_bytes": int(blob_bytes),
            "last_change": conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))).scalar(),
        }


def describe() -> str:
    s = summary()
    status = ", ".join(f"{n} {k}" for k, n in sorted(s["runs_by_status"].items())) or "none"
    return "\n".join([
        f"store:      {s['store']} (schema {s['schema']})",
        f"artifacts:  {s['artifacts']}",
        f"holds:      {s['experiments']} experiment(s), {s['runs']} run(s) ({status}),",
        f"            {s['metric_points']:,} metric point(s), {s['artifact_entries']} artifact(s) "
        f"in {s['blobs']} blob(s), {s['blob_bytes']:,} bytes",
        f"changes:    {s['last_change']}",
    ])
