"""SQL for runs and experiments: each function runs inside a transaction the caller holds."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from ..errors import MLOpsUsageError, NotFoundError
from ..store.sql import insert_ignore, upsert
from ..store.tables import experiments, params, runs, tags, texts
from ..values import as_number, as_text, to_json

MAX_KEY = 250
STATUSES = ("running", "finished", "failed", "killed")


def check_key(kind: str, key: Any) -> str:
    """Keys are non-empty strings of at most 250 characters."""
    if not isinstance(key, str) or not key.strip():
        raise MLOpsUsageError(f"a {kind} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY:
        raise MLOpsUsageError(f"{kind} key {key[:40]!r}… is longer than {MAX_KEY} characters")
    return key


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise MLOpsUsageError(f"an {kind} name must be a non-empty string, got {name!r}")
    if len(name) > 255:
        raise MLOpsUsageError(f"{kind} name {name[:40]!r}… is longer than 255 characters")
    return name.strip()


def experiment_id(conn: Connection, name: str, create: bool, dialect: str,
                  actor: str | None = None) -> int:
    """The id of experiment `name`; created by `actor` (or restored) when `create`."""
    row = conn.execute(
        select(experiments.c.id, experiments.c.lifecycle).where(experiments.c.name == name)
    ).first()
    if row is not None:
        if row.lifecycle != "active" and not create:
            raise NotFoundError(f"experiment {name!r} is archived (restore it first)")
        if row.lifecycle != "active":  # a new run in it must not be hidden; old runs stay archived
            from ..store import get_store
            from ..team.access import require_changed

            require_changed(get_store(), conn.execute(update(experiments).where(
                experiments.c.id == row.id).values(lifecycle="active")), 1,
                f"archived experiment {name!r} (to start a run in it)")
        return row.id
    if not create:
        raise NotFoundError(f"no experiment named {name!r}")
    conn.execute(
        insert_ignore(dialect, experiments, ["name"]),
        {"name": name, "created_at": time.time(), "lifecycle": "active", "created_by": actor},
    )
    return conn.execute(select(experiments.c.id).where(experiments.c.name == name)).scalar_one()


def resolve_run_id(conn: Connection, ref: str) -> str:
    """A full run id from an id or an unambiguous prefix of at least 8 hex characters."""
    from ..refs import parse

    parsed = parse(str(ref))
    if parsed.kind != "run" or len(parsed.name) > 32:
        raise MLOpsUsageError(f"{ref!r} is not a run id (32 hex characters, or a prefix of 8+)")
    ref = parsed.name
    if len(ref) == 32:
        if conn.execute(select(runs.c.id).where(runs.c.id == ref)).first():
            return ref
        raise NotFoundError(f"no run with id {ref}")
    found = conn.execute(
        select(runs.c.id).where(runs.c.id.like(ref + "%")).limit(2)
    ).scalars().all()
    if not found:
        raise NotFoundError(f"no run with id starting {ref}")
    if len(found) > 1:
        raise MLOpsUsageError(f"run id prefix {ref} is ambiguous: give more characters")
    return found[0]


def write_params(conn: Connection, run_id: str, values: dict[str, Any]) -> None:
    """Add params; the same value again is a no-op, a different value an error."""
    if not values:
        return
    for key in values:
        check_key("param", key)
    existing = dict(conn.execute(
        select(params.c.key, params.c.value).where(
            params.c.run_id == run_id, params.c.key.in_(list(values))
        )
    ).all())
    rows = []
    for key, value in values.items():
        encoded = to_json(value)
        if key in existing:
            if existing[key] != encoded:
                raise MLOpsUsageError(
                    f"param {key!r} of run {run_id[:8]} is already {existing[key]}; "
                    f"params cannot change within a run (got {encoded})"
                )
            continue
        rows.append({"run_id": run_id, "key": key, "value": encoded,
                     "num": as_number(value), "text": as_text(value)})
    if rows:
        conn.execute(params.insert(), rows)


def write_tags(conn: Connection, run_id: str, values: dict[str, Any], dialect: str) -> None:
    if not values:
        return
    rows = [{"run_id": run_id, "key": check_key("tag", k), "value": str(v)}
            for k, v in values.items()]
    conn.execute(upsert(dialect, tags, ["run_id", "key"], ["value"]), rows)


def put_text(conn: Connection, text: str, dialect: str) -> str:
    """Store `text` once by digest; returns the digest."""
    from ..store.artifacts import digest_bytes

    digest = digest_bytes(text.encode())
    conn.execute(insert_ignore(dialect, texts, ["digest"]), {"digest": digest, "text": text})
    return digest


def get_text(conn: Connection, digest: str | None) -> str | None:
    if not digest:
        return None
    return conn.execute(select(texts.c.text).where(texts.c.digest == digest)).scalar()


def status_expr(now: float, timeout: float):
    """`status`, with running runs whose heartbeat stopped shown as killed."""
    from sqlalchemy import case, literal

    return case(
        (and_(runs.c.status == "running", runs.c.heartbeat < now - timeout), literal("killed")),
        else_=runs.c.status,
    )

