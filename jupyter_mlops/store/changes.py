"""The change feed: what changed after a cursor, for a client that follows the store live.

Each write transaction adds one row to `changes` (kind, key, action) with an increasing
sequence number. On PostgreSQL a transaction that took number 10 can commit after one that
took 11, so a reader that saw 11 must not move its cursor past 10 until 10 is visible or is
known to be lost (a rolled-back transaction leaves a gap for good). The cursor returned stops
before any gap younger than GAP_GRACE seconds; rows after it are sent now and sent again
later, so a client treats changes as "look again", never as counts."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from ..errors import MLOpsUsageError
from . import get_store
from .tables import changes

GAP_GRACE = 10.0  # seconds after which a missing sequence number is taken as rolled back


def changes_since(since: int = 0, limit: int = 1000) -> dict[str, Any]:
    """{"cursor": N, "changes": [{seq, kind, key, action, at}, ...]} for changes after
    `since`, oldest first; ask again with the cursor returned."""
    if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since < 2**63:
        raise MLOpsUsageError(f"since must be an integer between 0 and {2**63 - 1} (a cursor), "
                              f"got {since!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MLOpsUsageError(f"limit must be a positive integer, got {limit!r}")
    with get_store().read() as conn:
        rows = conn.execute(select(changes).where(changes.c.seq > since)
                            .order_by(changes.c.seq).limit(limit)).mappings().all()
        last = conn.execute(select(changes.c.seq).order_by(changes.c.seq.desc()).limit(1)) \
            .scalar() or 0
    cursor, expected, now = since, since + 1, time.time()
    blocked = False
    for row in rows:
        if row["seq"] != expected and now - row["at"] < GAP_GRACE:
            blocked = True  # a younger number may still commit: hold the cursor here
        if not blocked:
            cursor = row["seq"]
        expected = row["seq"] + 1
    return {"cursor": cursor, "latest": last,
            "changes": [{k: row[k] for k in ("seq", "kind", "key", "action", "at")}
                        for row in rows]}
