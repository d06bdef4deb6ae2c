"""Experiments and run housekeeping: list, create, archive (default) or purge, restore."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import experiments, runs
from ..team.access import require_changed
from . import records

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store


def list_experiments(include_archived: bool = False) -> pd.DataFrame:
    """Experiments with their number of runs and last start time."""
    import pandas as pd

    store = get_store()
    counts = (
        select(runs.c.experiment_id, func.count().label("runs"),
               func.max(runs.c.start_time).label("last_run"))
        .where(runs.c.lifecycle == "active").group_by(runs.c.experiment_id).subquery()
    )
    query = (
        select(experiments.c.name, experiments.c.lifecycle, experiments.c.created_at,
               func.coalesce(counts.c.runs, 0).label("runs"), counts.c.last_run,
               experiments.c.description)
        .outerjoin(counts, counts.c.experiment_id == experiments.c.id)
        .order_by(experiments.c.name)
    )
    if not include_archived:
        query = query.where(experiments.c.lifecycle == "active")
    with store.read() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["name", "lifecycle", "created_at", "runs", "last_run",
                                        "description"])
    for col in ("created_at", "last_run"):
        frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)
    frame["runs"] = frame["runs"].astype("int64")
    return frame


def create_experiment(name: str, description: str | None = None) -> str:
    """Create an experiment; an existing name is an error."""
    store = get_store()
    name = records.check_name("experiment", name)
    with store.write("experiment", name, "created") as conn:
        if conn.execute(select(experiments.c.id).where(experiments.c.name == name)).first():
            raise MLOpsUsageError(f"experiment {name!r} exists already")
        conn.execute(experiments.insert().values(
            name=name, description=description, created_at=time.time(), lifecycle="active",
            created_by=store.actor))
    return name


def _experiment_row(conn: Connection, name: str):
    row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no experiment named {name!r}")
    return row


def delete_experiment(name: str, purge: bool = False) -> int:
    """Archive an experiment and its runs (hidden from listings, restorable), or with
    `purge=True` remove their rows for good. Returns the number of runs affected."""
    store = get_store()
    with store.write("experiment", name, "purged" if purge else "archived") as conn:
        row = _experiment_row(conn, name)
        ids = conn.execute(select(runs.c.id).where(runs.c.experiment_id == row.id)).scalars().all()
        if purge:
            _purge_runs(store, conn, ids)
            done = conn.execute(delete(experiments).where(experiments.c.id == row.id))
        else:
            done = conn.execute(update(experiments).where(experiments.c.id == row.id)
                                .values(lifecycle="archived"))
            require_changed(store, conn.execute(update(runs).where(
                runs.c.experiment_id == row.id).values(lifecycle="archived")), len(ids),
                f"the runs of experiment {name!r}")
        require_changed(store, done, 1, f"experiment {name!r}")
    return len(ids)


def restore_experiment(name: str) -> int:
    """Bring back an archived experiment and its runs; returns the number of runs."""
    store = get_store()
    with store.write("experiment", name, "restored") as conn:
        row = _experiment_row(conn, name)
        require_changed(store, conn.execute(update(experiments).where(
            experiments.c.id == row.id).values(lifecycle="active")), 1, f"experiment {name!r}")
        count = conn.execute(select(func.count()).where(runs.c.experiment_id == row.id)
                             ).scalar_one()
        require_changed(store, conn.execute(update(runs).where(
            runs.c.experiment_id == row.id).values(lifecycle="active")), count,
            f"the runs of experiment {name!r}")
        return count


def delete_run(run_id: str, purge: bool = False) -> list[str]:
    """Archive a run and the runs nested in it, or remove their rows with `purge=True`
    (blobs they alone used are then freed by `gc`). Returns the affected run ids."""
    store = get_store()
    with store.write() as conn:
        run_id = records.resolve_run_id(conn, run_id)
        ids = _with_children(conn, run_id)
        if purge:
            _purge_runs(store, conn, ids)
        else:
            require_changed(store, conn.execute(update(runs).where(runs.c.id.in_(ids)).values(
                lifecycle="archived")), len(ids), f"run {run_id[:8]}")
        from ..store import record_change

        for rid in ids:
            record_change(conn, "run", rid, "purged" if purge else "archived")
    return ids


def restore_run(run_id: str) -> list[str]:
    """Bring back an archived run and its children."""
    store = get_store()
    with store.write() as conn:
        run_id = records.resolve_run_id(conn, run_id)
        ids = _with_children(conn, run_id)
        require_changed(store, conn.execute(update(runs).where(runs.c.id.in_(ids)).values(
            lifecycle="active")), len(ids), f"run {run_id[:8]}")
        from ..store import record_change

        for rid in ids:
            record_change(conn, "run", rid, "restored")
    return ids


def _with_children(conn: Connection, run_id: str) -> list[str]:
    ids, frontier = [run_id], [run_id]
    while frontier:
        frontier = conn.execute(
            select(runs.c.id).where(runs.c.parent_run_id.in_(frontier))
        ).scalars().all()
        ids.extend(frontier)
    return ids


def _purge_runs(store: Store, conn: Connection, ids: list[str]) -> None:
    from ..store.tables import artifacts, cells, latest_metrics, metric_chunks, params, run_links, tags

    for table in (metric_chunks, latest_metrics, params, tags, artifacts, cells, run_links):
        conn.execute(delete(table).where(table.c.run_id.in_(ids)))
    # children first: parent_run_id references must go before their targets
    for rid in reversed(ids):
        require_changed(store, conn.execute(delete(runs).where(runs.c.id == rid)), 1,
                        f"run {rid[:8]}")
