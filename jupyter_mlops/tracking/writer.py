"""The buffered writer: metric points and cell records cost an append in the caller; a
background thread writes them in batches (at most `flush_interval` apart), keeps heartbeats
of this process's active runs, and retries what the store refused, warning once.

`flush()` (also called by end_run and at interpreter exit) writes everything buffered now.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import warnings
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..store import Store


class StoreUnavailableWarning(RuntimeWarning):
    """The store refused a write; what was logged stays buffered and is retried."""


class Writer:
    """Batches for one store. `points` is appended to directly by `log_metric`."""

    def __init__(self, store: Store, flush_interval: float, heartbeat_interval: float):
        self.store = store
        self.points: deque[tuple] = deque()  # (run_id, key, value, step, timestamp)
        self.cells: deque[dict] = deque()
        self.ends: deque[dict] = deque()  # run endings that wait for their points
        self.flush_interval = min(max(flush_interval, 0.01), 1.0)
        self.heartbeat_interval = heartbeat_interval
        self.beating: set[str] = set()  # active runs of this process
        self._retry: tuple[list, list, list] = ([], [], [])
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        self._stopped = False
        self.failure: str | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="mlops-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()
            if self.beating and time.time() - self._last_beat >= self.heartbeat_interval:
                self._heartbeat()

    def pending(self, run_id: str | None = None) -> int:
        """Points not yet in the store (for one run, or all)."""
        items = list(self.points) + self._retry[0]
        return sum(1 for p in items if run_id is None or p[0] == run_id)

    def flush(self) -> str | None:
        """Write everything buffered; returns None on success, else the store's complaint
        (the batch stays buffered for the next try)."""
        with self._lock:
            points, cells, ends = self._retry
            for buf, out in ((self.points, points), (self.cells, cells), (self.ends, ends)):
                for _ in range(len(buf)):
                    out.append(buf.popleft())
            if not (points or cells or ends):
                return None
            try:
                try:
                    _write(self.store, points, cells, ends)
                except Exception as exc:
                    if not _integrity_error(exc):
                        raise
                    # a run purged meanwhile (by another process) would block every later write
                    points, cells, ends = _without_deleted_runs(self.store, points, cells, ends)
                    _write(self.store, points, cells, ends)
            except Exception as exc:  # the store is down, locked, full: keep and retry
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if self.failure is None:
                    warnings.warn(
                        f"jupyter-mlops: the store refused a write ({reason}); "
                        f"{len(points)} metric point(s) stay buffered and are retried",
                        StoreUnavailableWarning,
                        stacklevel=2,
                    )
                self.failure = reason
                self._retry = (points, cells, ends)
                return reason
            self._retry = ([], [], [])
            self.failure = None
            return None

    def _heartbeat(self) -> None:
        from sqlalchemy import update

        from ..store.tables import runs

        self._last_beat = now = time.time()
        try:
            with self.store.write() as conn:
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(list(self.beating)), runs.c.status == "running")
                    .values(heartbeat=now)
                )
        except Exception:
            pass  # a missed heartbeat is retried next interval; a flush failure already warned

    def stop(self) -> None:
        """Flush, then end the background thread (when the store is closed)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def _write(store: Store, points: list[tuple], cells: list[dict], ends: list[dict]) -> None:
    """One transaction: metric history, latest values, cells, run endings, change rows."""
    from sqlalchemy import update

    from ..store import record_change
    from ..store.sql import insert_ignore
    from ..store.tables import cells as cells_t
    from ..store.tables import runs, texts

    touched = {p[0] for p in points} | {c["run_id"] for c in cells}
    with store.write() as conn:
        write_points(conn, store.dialect, points)
        if cells:
            sources = {c["source_digest"]: c["source"] for c in cells}
            conn.execute(insert_ignore(store.dialect, texts, ["digest"]),
                         [{"digest": d, "text": t} for d, t in sources.items()])
            conn.execute(cells_t.insert(), [
                {k: v for k, v in c.items() if k != "source"} for c in cells
            ])
        for end in ends:
            conn.execute(
                update(runs).where(runs.c.id == end["run_id"]).values(
                    status=end["status"], end_time=end["end_time"], heartbeat=end["end_time"],
                    error=end["error"],
                )
            )
        for run_id in sorted(touched):
            record_change(conn, "run", run_id, "logged")
        for end in ends:
            record_change(conn, "run", end["run_id"], end["status"])


def write_points(conn: Connection, dialect: str, points: list[tuple]) -> None:
    """Metric points (run_id, key, value, step, timestamp) in the caller's transaction: a
    chunk row per (run, key) and CHUNK points, and each key's latest value."""
    from ..store.series import CHUNK, pack
    from ..store.sql import upsert
    from ..store.tables import latest_metrics, metric_chunks

    if not points:
        return
    groups: dict[tuple[str, str], list[tuple]] = {}
    for p in points:
        group = groups.get((p[0], p[1]))
        if group is None:
            groups[p[0], p[1]] = [p]
        else:
            group.append(p)
    chunks, latest = [], []
    for (run_id, key), group in groups.items():
        for start in range(0, len(group), CHUNK):
            part = group[start:start + CHUNK]
            steps = [p[3] for p in part]
            chunks.append({
                "run_id": run_id, "key": key, "count": len(part), "min_step": min(steps),
                "max_step": max(steps),
                "data": pack(steps, [p[2] for p in part], [p[4] for p in part]),
            })
        top = max(p[3] for p in group)  # the newest point: highest step, then timestamp
        best = max((p for p in group if p[3] == top), key=lambda p: p[4])
        latest.append({"run_id": run_id, "key": key, "value": _nan_to_none(best[2]),
                       "step": best[3], "timestamp": best[4]})
    conn.execute(metric_chunks.insert(), chunks)
    stmt = _latest_upserts.get(dialect)
    if stmt is None:  # built once: a metric logged alone pays for no statement building
        stmt = _latest_upserts[dialect] = upsert(
            dialect, latest_metrics, ["run_id", "key"], ["value", "step", "timestamp"],
            where=lambda t, new: (new.step > t.c.step)
            | ((new.step == t.c.step) & (new.timestamp >= t.c.timestamp)),
        )
    conn.execute(stmt, latest)


_latest_upserts: dict[str, Any] = {}


def _integrity_error(exc: BaseException) -> bool:
    """A constraint violation, from SQLAlchemy or from psycopg's COPY (which bypasses it)."""
    from sqlalchemy.exc import IntegrityError

    if isinstance(exc, IntegrityError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.IntegrityError)


def _without_deleted_runs(store: Store, points: list[tuple], cells: list[dict],
                          ends: list[dict]) -> tuple[list[tuple], list[dict], list[dict]]:
    """Drop, with a warning, what was logged to runs deleted from the store meanwhile: it can
    never be written (the foreign key refuses it)."""
    from sqlalchemy import select

    from ..store.tables import runs

    wanted = {p[0] for p in points} | {c["run_id"] for c in cells} | {e["run_id"] for e in ends}
    with store.read() as conn:
        gone = wanted - set(conn.execute(select(runs.c.id).where(runs.c.id.in_(wanted))).scalars())
    if not gone:
        return points, cells, ends
    lost = sum(1 for p in points if p[0] in gone)
    if lost:
        warnings.warn(
            f"jupyter-mlops: run(s) {', '.join(sorted(r[:8] for r in gone))} were deleted from "
            f"the store while this process logged to them; {lost} metric point(s) are dropped",
            RuntimeWarning,
            stacklevel=2,
        )
    return ([p for p in points if p[0] not in gone], [c for c in cells if c["run_id"] not in gone],
            [e for e in ends if e["run_id"] not in gone])


def _nan_to_none(v: float) -> float | None:
    return None if v != v else v


_writers: dict[Store, Writer] = {}
_writers_lock = threading.Lock()


def writer_for(store: Store) -> Writer:
    """The one writer of `store` in this process."""
    from .. import config

    w = store.writer
    if w is not None:
        return w
    with _writers_lock:
        w = _writers.get(store)
        if w is None:
            s = config.load()
            w = _writers[store] = Writer(store, s.flush_interval, s.heartbeat_interval)
            w.start()
        store.writer = w  # the hot path (log_metric) reads it from here
        return w


def flush_all(raise_errors: bool = False) -> None:
    """Flush every writer; with raise_errors, a store that refuses raises StoreError."""
    for w in list(_writers.values()):
        reason = w.flush()
        if reason and raise_errors:
            raise StoreError(
                f"{w.pending()} metric point(s) could not be written to {w.store.display_uri}: "
                f"{reason}; they stay buffered and are retried"
            )


def forget_all() -> None:
    """Flush and stop every writer (before closing stores, or switching stores in tests)."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for w in writers:
        w.store.writer = None
        w.stop()


@atexit.register
def _flush_at_exit() -> None:
    from . import fluent

    try:
        fluent._end_all_at_exit()
    except Exception:
        pass
    for w in list(_writers.values()):
        for _ in range(3):
            if w.flush() is None:
                break
            time.sleep(0.5)
        else:
            print(
                f"jupyter-mlops: {w.pending()} metric point(s) could not be written to "
                f"{w.store.display_uri} before exit: {w.failure}",
                file=sys.stderr,
            )
