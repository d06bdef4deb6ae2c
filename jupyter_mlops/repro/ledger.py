"""The reproductions table: one row per reproduction, written when it starts (state running),
moved through its phases by the process that replays the run (phase, progress, heartbeat),
closed with the verdict. A running row whose heartbeat stopped is shown as failed: the
process that replayed it is gone."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from ..errors import MLOpsUsageError, NotFoundError
from ..store.tables import reproductions

if TYPE_CHECKING:
    from ..store import Store

PHASES = ("preparing", "building environment", "executing", "comparing", "done")
STALE = 120.0  # seconds without a heartbeat after which a running reproduction is gone


def create(store: Store, original_id: str, env: str, tolerance: float) -> str:
    """The row of a new reproduction (running, preparing); returns its id."""
    rid = uuid.uuid4().hex
    now = time.time()
    with store.write("reproduction", rid, "started") as conn:
        conn.execute(reproductions.insert().values(
            id=rid, original_run_id=original_id, env=env, tolerance=float(tolerance),
            state="running", phase="preparing", progress=None, started_at=now, heartbeat=now,
            started_by=store.actor))
    return rid


def advance(store: Store, rid: str, phase: str | None = None, progress: float | None = None,
            message: str | None = None) -> None:
    """Beat, and move to `phase` (its progress reset unless given) or just set `progress`."""
    values: dict[str, Any] = {"heartbeat": time.time()}
    if phase is not None:
        values.update(phase=phase, progress=progress)
    elif progress is not None:
        values["progress"] = progress
    if message is not None:
        values["message"] = message
    with store.write() as conn:
        conn.execute(update(reproductions).where(reproductions.c.id == rid).values(**values))


def finish(store: Store, rid: str, state: str, run_id: str | None, result: dict[str, Any],
           message: str) -> None:
    """Close a reproduction with its verdict (reproduced, differs or failed)."""
    now = time.time()
    with store.write("reproduction", rid, state) as conn:
        conn.execute(update(reproductions).where(reproductions.c.id == rid).values(
            state=state, phase="done", progress=1.0, run_id=run_id, message=message,
            result=json.dumps(result, default=str), ended_at=now,
            heartbeat=now))


def row(store: Store, rid: str) -> dict[str, Any]:
    """One reproduction's row (by id, or a prefix of 8+ hex characters)."""
    from ..refs import HEX

    if not isinstance(rid, str) or not HEX.match(rid.lower()) or len(rid) > 32:
        raise NotFoundError(f"no reproduction {rid!r} (an id is 32 hex characters, or a prefix "
                            "of 8+)")
    rid = rid.lower()
    with store.read() as conn:
        rows = conn.execute(select(reproductions).where(
            reproductions.c.id.like(rid + "%") if len(rid) < 32 else reproductions.c.id == rid)
            .limit(2)).mappings().all()
    if not rows:
        raise NotFoundError(f"no reproduction {rid}")
    if len(rows) > 1:
        raise MLOpsUsageError(f"reproduction id prefix {rid} is ambiguous: give more characters")
    return shown(dict(rows[0]))


def rows_of(store: Store, original_id: str | None) -> list[dict[str, Any]]:
    """Every reproduction (of one run), newest first."""
    query = select(reproductions).order_by(reproductions.c.started_at.desc())
    if original_id is not None:
        query = query.where(reproductions.c.original_run_id == original_id)
    with store.read() as conn:
        return [shown(dict(r)) for r in conn.execute(query).mappings()]


def shown(data: dict[str, Any]) -> dict[str, Any]:
    """A row as it stands now: a running one whose process stopped beating is failed."""
    if data["state"] == "running" and data["heartbeat"] < time.time() - STALE:
        gone = (f"the process replaying it stopped during {data['phase']} (no heartbeat for "
                f"{STALE:.0f} s)")
        data = {**data, "state": "failed", "message": gone,
                "result": json.dumps({"reason": gone})}
    return data
