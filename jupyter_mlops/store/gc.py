"""`jupyter mlops gc`: remove blobs that nothing references, safely while others write.

A blob goes only together with its `blobs` row, in one transaction that re-checks, at that
moment, that the row is older than the grace period and unreferenced. A writer touches the row
before it checks for the blob, so it either keeps the blob alive or (if gc won) writes it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, select

from . import get_store, record_change
from .tables import BLOB_REFERENCES, blobs


@dataclass(frozen=True)
class GcReport:
    removed: int
    freed_bytes: int
    kept: int
    dry_run: bool

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"{verb} {self.removed} unreferenced blob(s), {self.freed_bytes:,} bytes; "
                f"{self.kept} blob(s) in use or younger than the grace period")


def _unreferenced():
    return and_(*(~exists().where(getattr(t.c, col) == blobs.c.digest) for t, col in BLOB_REFERENCES))


def gc(grace: float | None = None, dry_run: bool = False) -> GcReport:
    """Delete blobs that no artifact (or dataset, model…) references and that nobody touched
    within `grace` seconds (default: the `gc_grace` setting)."""
    from .. import config

    store = get_store()
    if not dry_run:
        from ..team.access import require

        require(store, "blobs", "delete", "collect garbage (gc)")
    grace = config.load().gc_grace if grace is None else grace
    cutoff = time.time() - grace
    with store.read() as conn:
        total = conn.execute(select(blobs.c.digest)).all()
        candidates = conn.execute(
            select(blobs.c.digest, blobs.c.size).where(blobs.c.touched_at < cutoff, _unreferenced())
        ).all()
    removed = freed = 0
    if not dry_run:
        for digest, size in candidates:
            with store.write() as conn:
                gone = conn.execute(delete(blobs).where(
                    blobs.c.digest == digest, blobs.c.touched_at < cutoff, _unreferenced()
                )).rowcount
                if gone:
                    store.artifacts.delete(digest)  # inside the transaction: see module doc
                    record_change(conn, "blob", digest, "deleted")
                    removed += 1
                    freed += size
    else:
        removed, freed = len(candidates), sum(s for _, s in candidates)
    return GcReport(removed, freed, len(total) - removed, dry_run)
