"""Aliases (`production`, `staging`, anything) and their audit record: every move is kept
with who made it, when, from which version to which, the comment and the gate that allowed
it. `promote` moves an alias only when its gate holds, checked in the same transaction."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from .. import expr, refs
from ..errors import GateError, MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.sql import upsert
from ..store.tables import (
    alias_events,
    latest_metrics,
    model_aliases,
    model_versions,
    models,
    params,
    tags,
)

if TYPE_CHECKING:
    import pandas as pd

    from .versions import ModelVersion


def move_alias(conn, model_id: int, name: str, alias: str, version: int | None, actor: str,
               comment: str | None, gate: dict[str, Any] | None = None) -> int | None:
    """Point `alias` at `version` (None removes it) and record the move; returns the version
    it pointed at before. Runs in the caller's transaction."""
    before = conn.execute(select(model_aliases.c.version).where(
        model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)).scalar()
    now = time.time()
    if version is None:
        conn.execute(delete(model_aliases).where(model_aliases.c.model_id == model_id,
                                                 model_aliases.c.alias == alias))
    else:
        conn.execute(upsert(conn.dialect.name, model_aliases, ["model_id", "alias"],
                            ["version", "updated_at"]),
                     {"model_id": model_id, "alias": alias, "version": version, "updated_at": now})
    conn.execute(alias_events.insert().values(
        model_id=model_id, alias=alias, from_version=before, to_version=version, actor=actor,
        at=now, comment=comment, gate=json.dumps(gate) if gate else None))
    return before


def _actor(actor: str | None) -> str:
    """Who moves the alias: on a solo store `actor` (the caller may name who, as the REST API
    does with the Jupyter user) or this process's user; on a team store the database records
    its session user, so naming one is refused."""
    store = get_store()
    if actor is not None and store.team:
        raise MLOpsUsageError("on a team store the database records who acts (your database "
                              "role); actor= is not accepted")
    return actor or store.actor


_PG_LOCK_SPACE = 0x616C6961  # "alia": the advisory lock space of alias moves on PostgreSQL


def _locked_model(conn, name: str, lock: bool = True) -> int:
    """The model's id, its alias moves serialized until the write transaction ends: on
    PostgreSQL a transaction-scoped advisory lock keyed by the model's id (not `FOR UPDATE`,
    which a team store's row-level security allows only on rows the user may update: a
    contributor moves aliases of models others created); SQLite's write transaction already
    excludes other writers."""
    from sqlalchemy import text

    model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        raise NotFoundError(f"no model named {name!r}")
    if lock and conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                     {"space": _PG_LOCK_SPACE, "key": model_id})
    return model_id


def _check_version(conn, model_id: int, name: str, version: Any) -> int:
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MLOpsUsageError(f"a version is a number from 1, got {version!r}")
    found = conn.execute(select(model_versions.c.id).where(
        model_versions.c.model_id == model_id, model_versions.c.version == version)).first()
    if found is None:
        raise NotFoundError(f"model {name!r} has no version {version}")
    return version


def set_alias(name: str, alias: str, version: int, comment: str | None = None,
              actor: str | None = None) -> ModelVersion:
    """Point `alias` of model `name` at `version`; the move is recorded (who: `actor`, by
    default the OS user; REST passes the Jupyter identity)."""
    from .versions import get_model_version

    name, alias = refs.check_name(name, "model name"), refs.check_alias(alias)
    actor = _actor(actor)
    with get_store().write("model", name, "alias") as conn:
        model_id = _locked_model(conn, name)
        version = _check_version(conn, model_id, name, version)
        move_alias(conn, model_id, name, alias, version, actor, comment)
    return get_model_version(f"{name}@{version}")


def delete_alias(name: str, alias: str, comment: str | None = None,
                 actor: str | None = None) -> None:
    """Remove an alias (recorded as a move to no version)."""
    name, alias = refs.check_name(name, "model name"), refs.check_alias(alias)
    actor = _actor(actor)
    with get_store().write("model", name, "alias") as conn:
        model_id = _locked_model(conn, name)
        if move_alias(conn, model_id, name, alias, None, actor, comment) is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")


def gate_spec(aliases: list[str]) -> expr.FieldSpec:
    """Gate fields: the candidate's `metrics.*`, `params.*`, `tags.*`, `version`, and the
    same for the version each alias holds (`production.metrics.f1`)."""
    prefixes = ["metrics", "params", "tags"]
    prefixes += [f"{a}.{p}" for a in aliases for p in ("metrics", "params", "tags")]
    return expr.FieldSpec(names=("version", *(f"{a}.version" for a in aliases)),
                          prefixes=tuple(prefixes))


def _run_values(conn, run_id: str | None) -> dict[str, dict[str, Any]]:
    if run_id is None:
        return {"metrics": {}, "params": {}, "tags": {}}
    return {
        "metrics": dict(conn.execute(select(latest_metrics.c.key, latest_metrics.c.value)
                                     .where(latest_metrics.c.run_id == run_id)).all()),
        "params": {k: json.loads(v) for k, v in conn.execute(
            select(params.c.key, params.c.value).where(params.c.run_id == run_id)).all()},
        "tags": dict(conn.execute(select(tags.c.key, tags.c.value)
                                  .where(tags.c.run_id == run_id)).all()),
    }


def promote(name: str, version: int, alias: str, require: str | None = None,
            comment: str | None = None, actor: str | None = None) -> ModelVersion:
    """Move `alias` to `version` if the gate `require` holds, for example
    "metrics.f1 >= production.metrics.f1". A comparison with a missing value is false: when
    no version holds `production` yet, say `production.version IS NULL or ...`. Refused with
    a GateError naming every comparison that failed, and the alias stays where it was."""
    from ..tracking.fluent import get_run
    from .versions import get_model_version

    name, alias = refs.check_name(name, "model name"), refs.check_alias(alias)
    actor = _actor(actor)
    store = get_store()
    with store.read() as conn:  # check names and the gate's syntax before anything else
        model_id = _locked_model(conn, name, lock=False)
        version = _check_version(conn, model_id, name, version)
        held = dict(conn.execute(select(model_aliases.c.alias, model_aliases.c.version)
                                 .where(model_aliases.c.model_id == model_id)).all())
        runs = dict(conn.execute(select(model_versions.c.version, model_versions.c.run_id)
                                 .where(model_versions.c.model_id == model_id)).all())
    spec = gate_spec(sorted({*held, alias}))
    tree = expr.parse(require, spec) if require else None
    for number in {version, *held.values()}:  # buffered metrics of live runs reach the store
        if runs.get(number):
            get_run(runs[number])._sync()
    with store.write("model", name, "alias") as conn:
        model_id = _locked_model(conn, name)
        held = dict(conn.execute(select(model_aliases.c.alias, model_aliases.c.version)
                                 .where(model_aliases.c.model_id == model_id)).all())
        gate = None
        if tree is not None:
            values = {"": {**_run_values(conn, runs.get(version)), "version": version}}
            for a, number in held.items():
                values[a] = {**_run_values(conn, runs.get(number)), "version": number}

            def lookup(field: expr.Field) -> Any:
                scope, _, section = field.path[0].rpartition(".")
                if len(field.path) == 2:  # (scope.metrics|params|tags, key)
                    return values.get(scope, {}).get(section, {}).get(field.path[1])
                return values.get(scope, {}).get("version")

            failed = expr.explain(tree, lookup)
            if failed:
                raise GateError(f"{name}@{version} was not promoted to {alias}: "
                                + "; ".join(failed))
            gate = {"require": require, "passed": True}
        move_alias(conn, model_id, name, alias, version, actor, comment, gate)
    return get_model_version(f"{name}@{version}")


def alias_history(name: str, alias: str | None = None) -> pd.DataFrame:
    """Every alias move of model `name` (or of one alias), oldest first: alias, from_version,
    to_version, actor, at (UTC), comment, gate."""
    import pandas as pd

    name = refs.check_name(name, "model name")
    with get_store().read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
        if model_id is None:
            raise NotFoundError(f"no model named {name!r}")
        query = select(alias_events.c.alias, alias_events.c.from_version,
                       alias_events.c.to_version, alias_events.c.actor, alias_events.c.at,
                       alias_events.c.comment, alias_events.c.gate).where(
            alias_events.c.model_id == model_id)
        if alias is not None:
            query = query.where(alias_events.c.alias == refs.check_alias(alias))
        rows = conn.execute(query.order_by(alias_events.c.id)).all()
    frame = pd.DataFrame([(*r[:6], json.loads(r[6])["require"] if r[6] else None) for r in rows],
                         columns=[
        "alias", "from_version", "to_version", "actor", "at", "comment", "gate"])
    for col in ("from_version", "to_version"):
        frame[col] = frame[col].astype("Int64")
    frame["at"] = pd.to_datetime(frame["at"].astype("float64"), unit="s", utc=True)
    return frame
