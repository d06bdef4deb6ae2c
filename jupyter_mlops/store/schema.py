"""Schema versions: check at open, upgrade under a lock, refuse writes from an older client.

The embedded SQLite store upgrades itself when opened; a shared store (PostgreSQL) is upgraded
only by `jupyter mlops store upgrade`. Alembic is imported only when an upgrade is needed.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SchemaError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "mlops_alembic_version"
# The newest revision this code knows; tests check it is Alembic's single head.
HEAD = "0015"
KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011",
         "0012", "0013", "0015")
MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6D6C6F7073  # "mlops": the advisory lock id for migrations on PostgreSQL


def current_revision(conn: Connection) -> str | None:
    """The store's revision, or None for an empty database."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def state(rev: str | None) -> str:
    """'current', 'empty', 'older' or 'newer' for a store at revision `rev`."""
    if rev == HEAD:
        return "current"
    if rev is None:
        return "empty"
    return "older" if rev in KNOWN else "newer"


def alembic_config(conn: Connection):
    """An Alembic Config that runs our revisions on `conn`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, lock_path: Path | None = None) -> tuple[str | None, str]:
    """Bring the store to HEAD under a lock (a file lock for SQLite, an advisory lock on
    PostgreSQL), so processes opening a new store at once never race. Returns (before, after)."""
    from alembic import command
    from sqlalchemy import text

    if engine.dialect.name == "sqlite":
        from filelock import FileLock

        lock = FileLock(str(lock_path or "mlops.db") + ".lock", timeout=120)
    else:
        lock = None
    with lock if lock is not None else nullcontext(), engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        try:
            before = current_revision(conn)
            conn.commit()
            _refuse_unknown(before)
            if before != HEAD:
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
            return before, HEAD
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()


def _refuse_unknown(rev: str | None) -> None:
    if rev is not None and rev not in KNOWN:
        raise SchemaError(
            f"this store's schema (revision {rev}) is newer than this jupyter-mlops understands "
            f"(up to {HEAD}); upgrade the package: pip install -U jupyter-mlops"
        )
