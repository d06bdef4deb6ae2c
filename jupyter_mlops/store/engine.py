"""Engines for the metadata store: URI normalisation and per-connection SQLite settings."""

from __future__ import annotations

from pathlib import Path

from ..config import CHOICES
from ..errors import MLOpsUsageError


def normalize_uri(uri: str) -> str:
    """`postgresql://` means psycopg 3; a bare path means a SQLite file."""
    if uri.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if "://" not in uri:
        return f"sqlite:///{Path(uri).expanduser().resolve()}"
    if not uri.startswith(("sqlite:", "postgresql+")):
        raise MLOpsUsageError(
            f"unsupported store URI {uri.split('://')[0]}://…: use sqlite:///PATH or postgresql://…"
        )
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a SQLite URI (None for in-memory or other dialects)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _journal_wal(cursor, timeout: float) -> None:
    """PRAGMA journal_mode=WAL, retried while "database is locked" for up to `timeout`
    seconds: converting a new file's journal needs it alone, and SQLite does not run the busy
    handler for that statement while another connection holds the write lock of a file not
    yet in WAL, so processes opening a new store at once could fail together."""
    import sqlite3
    import time

    deadline, pause = time.monotonic() + timeout, 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


# SQLite's synchronous levels a store may run at. In WAL mode, NORMAL syncs the WAL only at
# checkpoints: a commit survives a crash of the process but the last ones may be lost on power
# loss; FULL syncs the WAL at every commit, so a commit also survives a power loss.
SYNCHRONOUS = CHOICES["sqlite_synchronous"]


def create(uri: str, busy_timeout: float, synchronous: str = "normal"):
    """A SQLAlchemy engine for `uri`. SQLite runs in WAL mode at the `synchronous` level
    (`normal` or `full`) with a busy timeout, foreign keys and case-sensitive LIKE; write
    transactions begin IMMEDIATE so writers queue on the lock instead of failing with
    "database is locked" when a reader upgrades."""
    from sqlalchemy import create_engine, event

    if synchronous not in SYNCHRONOUS:
        raise MLOpsUsageError(f"sqlite synchronous must be one of {', '.join(SYNCHRONOUS)}, "
                              f"got {synchronous!r}")
    uri = normalize_uri(uri)
    if not uri.startswith("sqlite"):
        return create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10)
    path = sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(uri, connect_args={"timeout": busy_timeout, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        _journal_wal(cur, busy_timeout)
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        write = conn.get_execution_options().get("mlops_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
