"""The runs a replay made, found by their tags (marks.py): the reproduction run, and the
earlier runs of the session replayed on the way, which are archived once the replay is over.
When the replay stopped before the reproduction run began, one is written here, failed with
the reason, so every reproduction that executed has its run."""

from __future__ import annotations

import sys
import time
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from ..store.tables import run_links, runs, tags
from . import marks

if TYPE_CHECKING:
    from ..store import Store
    from ..tracking.run import Run


def made(store: Store, reproduction_id: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(the reproduction run's id or None, [(id, name)] of the replayed earlier runs that are
    not nested in another of them)."""
    ours = select(tags.c.run_id).where(tags.c.key == "mlops.reproduction",
                                       tags.c.value == reproduction_id)
    with store.read() as conn:
        rows = conn.execute(
            select(runs.c.id, runs.c.name, runs.c.parent_run_id, tags.c.key)
            .join(tags, tags.c.run_id == runs.c.id)
            .where(runs.c.id.in_(ours), tags.c.key.in_(("mlops.reproduces", "mlops.replay_of")))
            .order_by(runs.c.start_time)).all()
    reproduction = next((r.id for r in rows if r.key == "mlops.reproduces"), None)
    earlier = [r for r in rows if r.key == "mlops.replay_of"]
    ids = {r.id for r in earlier}
    return reproduction, [(r.id, r.name) for r in earlier if r.parent_run_id not in ids]


def archive(store: Store, replayed: list[tuple[str, str]]) -> str | None:
    """Archive the replayed earlier runs and the runs nested in them; a note saying which."""
    from ..tracking.manage import delete_run

    if not replayed:
        return None
    nested = sum(len(delete_run(run_id)) - 1 for run_id, _ in replayed)
    names = ", ".join(f"{name} ({run_id[:8]})" for run_id, name in replayed)
    inside = f" and {nested} run(s) nested in them" if nested else ""
    return (f"replayed {len(replayed)} earlier run(s) of the session on the way, archived "
            f"with the tag mlops.replay_of{inside}: {names}")


def mark_failed(store: Store, run_id: str, reason: str) -> None:
    """The reproduction run failed with `reason`, unless it already failed with its own."""
    now = time.time()
    with store.write("run", run_id, "failed") as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            status="failed", error=func.coalesce(runs.c.error, reason[:4000]),
            end_time=func.coalesce(runs.c.end_time, now), heartbeat=now))


def failed_run(original: Run, reproduction_id: str, reason: str) -> str:
    """Write the reproduction run of a replay that stopped before it began: failed, with
    the reason, tagged and linked as the replay would have."""
    from ..tracking import capture, records

    store = original.store
    info = original.info
    run_id = uuid.uuid4().hex
    now = time.time()
    with store.write("run", run_id, "started") as conn:
        exp_id = records.experiment_id(conn, info["experiment"], create=True,
                                       dialect=store.dialect, actor=store.actor)
        conn.execute(runs.insert().values(
            id=run_id, experiment_id=exp_id, name=info["name"], status="failed",
            start_time=now, end_time=now, heartbeat=now, user=store.actor, host=capture.host(),
            notebook=info["notebook"], python_version=sys.version.split()[0],
            error=reason[:4000], lifecycle="active"))
        records.write_tags(conn, run_id, {"mlops.reproduces": original.id,
                                          "mlops.reproduction": reproduction_id},
                           store.dialect)
        conn.execute(run_links.insert().values(
            run_id=run_id, direction="input", kind="run", ref=f"run:{original.id}",
            role=marks.ROLE, created_at=now))
    return run_id
