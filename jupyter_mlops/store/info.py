"""What a store holds, in numbers: for `jupyter mlops store info` and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from . import get_store
from .tables import (
    alias_events,
    artifacts,
    blobs,
    changes,
    dataset_versions,
    experiments,
    metric_chunks,
    model_versions,
    runs,
)


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
            "dataset_versions": conn.execute(
                select(func.count()).select_from(dataset_versions)).scalar(),
            "model_versions": conn.execute(
                select(func.count()).select_from(model_versions)).scalar(),
            "alias_moves": conn.execute(select(func.count()).select_from(alias_events)).scalar(),
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
        f"in {s['blobs']} blob(s), {s['blob_bytes']:,} bytes,",
        f"            {s['dataset_versions']} dataset version(s), {s['model_versions']} model "
        f"version(s), {s['alias_moves']} alias move(s)",
        f"changes:    {s['last_change']}",
    ])
