"""The store: metadata (SQLAlchemy Core over SQLite or PostgreSQL) plus content-addressed
artifacts. Capability packages run their own queries through `Store.read()`/`Store.write()`;
this module owns connections, transactions, schema checks and the change sequence."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import config
from ..config import redact
from ..errors import SchemaError, StoreError
from . import schema
from .engine import create, normalize_uri, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .artifacts import ArtifactStore


class Store:
    """One metadata store and its artifact store, opened and schema-checked once per process."""

    def __init__(self, store_uri: str, artifact_uri: str, busy_timeout: float = 30.0,
                 check: bool = True, synchronous: str = "normal"):
        """Open a store; `check=False` skips the schema check (for `store upgrade`);
        `synchronous` is SQLite's level (`normal` or `full`, see `engine.create`)."""
        self.uri = normalize_uri(store_uri)
        self.artifact_uri = artifact_uri
        self.dialect = "sqlite" if self.uri.startswith("sqlite") else "postgresql"
        self.engine = create(self.uri, busy_timeout, synchronous)
        self.read_only_reason: str | None = None
        self._artifacts: ArtifactStore | None = None
        self.writer: Any = None  # this process's buffered writer (tracking.writer), once made
        self._identity: tuple[bool, str] | None = None  # (team store?, actor), read once
        self.revision = self._open() if check else None

    def __repr__(self) -> str:
        return f"Store({redact(self.uri)!r}, artifacts={redact(self.artifact_uri)!r})"

    @property
    def display_uri(self) -> str:
        return redact(self.uri.replace("postgresql+psycopg://", "postgresql://"))

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from .artifacts import ArtifactStore

            self._artifacts = ArtifactStore(self.artifact_uri, self)
        return self._artifacts

    @property
    def team(self) -> bool:
        """A team store: PostgreSQL whose tables `jupyter mlops team init` put under forced
        row-level security. Its database decides who may do what and sets every actor."""
        return self._who()[0]

    @property
    def actor(self) -> str:
        """Who this process writes as: on a team store the database's `session_user` (its
        triggers write it whatever a client sends), elsewhere the OS user."""
        return self._who()[1]

    def _who(self) -> tuple[bool, str]:
        if self._identity is None:
            from ..tracking.capture import user

            team, actor = False, user()
            if self.dialect == "postgresql":
                from sqlalchemy import text

                with self.read() as conn:
                    row = conn.execute(text(
                        "SELECT session_user, coalesce((SELECT relforcerowsecurity FROM pg_class "
                        "WHERE oid = to_regclass('runs')), false)")).one()
                if row[1]:
                    team, actor = True, row[0]
            self._identity = (team, actor)
        return self._identity

    def _open(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                rev = schema.current_revision(conn)
        except Exception as exc:  # unreachable server, bad credentials, unreadable file
            raise StoreError(f"cannot open the store at {self.display_uri}: {_reason(exc)}") from None
        state = schema.state(rev)
        if state == "current":
            return rev
        if state == "newer":
            self.read_only_reason = (
                f"this store's schema (revision {rev}) is newer than this jupyter-mlops knows "
                f"(up to {schema.HEAD}): it will not write to it; upgrade the package with "
                "`pip install -U jupyter-mlops`"
            )
            return rev
        if self.dialect == "sqlite":
            return self.upgrade()[1]
        raise SchemaError(
            f"the shared store at {self.display_uri} is "
            + ("empty" if state == "empty" else f"at schema revision {rev}, older than {schema.HEAD}")
            + ": run `jupyter mlops store upgrade` once (shared stores never upgrade on their own)"
        )

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate to the newest schema under a lock; returns (before, after)."""
        path = sqlite_path(self.uri)
        try:
            before, after = schema.upgrade(self.engine, path)
        except SchemaError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot upgrade the store at {self.display_uri}: {_reason(exc)}") from None
        self.revision = after
        return before, after

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside one read transaction."""
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise self._error(exc) from None

    @contextmanager
    def write(self, kind: str | None = None, key: str = "", action: str = "") -> Iterator[Connection]:
        """A connection inside one write transaction: all of it commits, or none. When `kind`
        is given, the transaction also records one change (kind, key, action)."""
        from sqlalchemy.exc import DBAPIError, IntegrityError

        if self.read_only_reason:
            raise SchemaError(self.read_only_reason)
        try:
            with self.engine.connect() as conn:
                conn.execution_options(mlops_write=True)
                with conn.begin():
                    yield conn
                    if kind is not None:
                        record_change(conn, kind, key, action)
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> Exception:
        """Our error for a driver error: what a team store's database refused to this user's
        role (insufficient privilege, row-level security) says so."""
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
            from ..team.access import refused

            return refused(self, exc)
        return StoreError(f"store {self.display_uri}: {_reason(exc)}")

    def last_change(self) -> int:
        """The newest change sequence number (0 for an empty store)."""
        from sqlalchemy import func, select

        from .tables import changes

        with self.read() as conn:
            return conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()


def record_change(conn: Connection, kind: str, key: str, action: str) -> None:
    """Add one row to the change sequence, in the caller's transaction."""
    from .tables import changes

    conn.execute(changes.insert(), {"kind": kind, "key": str(key)[:300], "action": action,
                                    "at": time.time()})


def _reason(exc: BaseException) -> str:
    orig: Any = getattr(exc, "orig", None) or exc
    return redact(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)


_stores: dict[tuple[str, str], Store] = {}
_lock = threading.Lock()


def get_store() -> Store:
    """The store named by the settings in force, opened once per process."""
    return open_store(config.load())


def open_store(settings: config.Settings) -> Store:
    """The store `settings` name (those in force, or another project's), once per process."""
    key = (settings.store_uri, settings.artifact_uri)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = Store(settings.store_uri, settings.artifact_uri, settings.busy_timeout,
                          synchronous=settings.sqlite_synchronous)
            _stores[key] = store
        return store


def reset() -> None:
    """Forget opened stores (tests, and after the settings change under a running process)."""
    with _lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()
