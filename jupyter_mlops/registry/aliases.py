"""Aliases (`production`, `staging`, anything) and their audit record: every move is kept
with who made it, when, from which version to which, the comment and the gate that allowed
it. `promote` moves an alias only when its gate holds, checked in the same transaction.

On a team store a protected alias (`production`, or one a policy protects) moves only by an
approved promotion request (`team/promotions.py`): `set_alias`, `promote`, `delete_alias` and
`register_model(alias=...)` refuse it here first, and the database refuses it anyway."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from .. import expr, refs
from ..errors import AccessError, GateError, MLOpsUsageError, NotFoundError
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
from ..team.events import deliver_after_commit

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store
    from .versions import ModelVersion

ALIAS_LOCK = 7101226  # the first key of the advisory lock a model's alias moves take


def move_alias(conn, model_id: int, name: str, alias: str, version: int | None, actor: str,
               comment: str | None, gate: dict[str, Any] | None = None,
               store: Store | None = None) -> int | None:
    """Point `alias` at `version` (None removes it) and record the move; returns the version
    it pointed at before. Runs in the caller's transaction on `store` (the one in force by
    default). A protected alias of a team store is refused (see `require_unprotected`)."""
    require_unprotected(conn, model_id, name, alias, version, store)
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


def is_protected(conn, model_id: int, alias: str, store: Store | None = None) -> bool:
    """Whether `alias` of the model moves only by an approved request: on a team store, its
    policy says so or, without one, it is `production` (the database's own rule, asked of
    it); elsewhere nothing is protected."""
    if not (store or get_store()).team:
        return False
    from sqlalchemy import text

    return bool(conn.execute(text("SELECT mlops_alias_protected(:m, :a)"),
                             {"m": model_id, "a": alias}).scalar())


def require_unprotected(conn, model_id: int, name: str, alias: str,
                        version: int | None, store: Store | None = None) -> None:
    """Refuse to move (or, with `version` None, remove) a protected alias directly, saying
    what to do instead. The database refuses it too, for a client that skips this library."""
    if not is_protected(conn, model_id, alias, store):
        return
    if version is None:
        how = ("nothing removes it while it is protected (a maintainer can first "
               f"set_alias_policy({name!r}, {alias!r}, protected=False))")
    else:
        how = (f"request it with request_promotion('{name}@{version}', {alias!r}) (%register "
               "request, jupyter mlops models request) and a maintainer approves it")
    raise AccessError(f"alias {alias!r} of model {name!r} is protected: it moves only by an "
                      f"approved promotion request; {how}. Nothing was changed.")


def _actor(actor: str | None) -> str:
    """Who moves the alias: on a solo store `actor` (the caller may name who, as the REST API
    does with the Jupyter user) or this process's user; on a team store the database records
    its session user, so naming one is refused."""
    store = get_store()
    if actor is not None and store.team:
        raise MLOpsUsageError("on a team store the database records who acts (your database "
                              "role); actor= is not accepted")
    return actor or store.actor




def _locked_model(conn, name: str, lock: bool = True) -> int:
    """The model's id, its aliases locked for the write transaction on PostgreSQL (SQLite's
    write transaction already excludes other writers). The lock is an advisory one, not the
    model row's: locking a row needs the right to update it, which on a team store a
    contributor has only on the models it created, and anyone may move an unprotected alias."""
    model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        raise NotFoundError(f"no model named {name!r}")
    if lock and conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:k, :m)"),
                     {"k": ALIAS_LOCK, "m": model_id})
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
    deliver_after_commit()
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
    deliver_after_commit()


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


def gate_inputs(conn, model_id: int) -> tuple[dict[str, int], dict[int, str | None]]:
    """What a gate over this model reads: the aliases held (alias -> version) and each
    version's run."""
    held = dict(conn.execute(select(model_aliases.c.alias, model_aliases.c.version)
                             .where(model_aliases.c.model_id == model_id)).all())
    runs = dict(conn.execute(select(model_versions.c.version, model_versions.c.run_id)
                             .where(model_versions.c.model_id == model_id)).all())
    return held, runs


def parse_gate(require: str | None, held: dict[str, int], alias: str) -> expr.Node | None:
    """The gate's tree over the candidate's fields and those of the aliases held and `alias`;
    a FilterSyntaxError naming the fields it may use."""
    return expr.parse(require, gate_spec(sorted({*held, alias}))) if require else None


def sync_runs(runs: dict[int, str | None], versions: set[int]) -> None:
    """Buffered metrics of live runs behind these versions reach the store before a gate
    reads them."""
    from ..tracking.fluent import get_run

    for number in versions:
        if runs.get(number):
            get_run(runs[number])._sync()


def check_gate(conn, model_id: int, version: int, tree: expr.Node,
               runs: dict[int, str | None]) -> tuple[list[str], dict[str, Any]]:
    """Evaluate a gate for `version` on `conn` (inside the caller's transaction): the
    comparisons that failed (empty when it holds) and every value it compared, by field
    (`metrics.f1`, `production.metrics.f1`; None when missing)."""
    held, _ = gate_inputs(conn, model_id)
    values = {"": {**_run_values(conn, runs.get(version)), "version": version}}
    for a, number in held.items():
        values[a] = {**_run_values(conn, runs.get(number)), "version": number}
    compared: dict[str, Any] = {}

    def lookup(field: expr.Field) -> Any:
        scope, _, section = field.path[0].rpartition(".")
        if len(field.path) == 2:  # (scope.metrics|params|tags, key)
            value = values.get(scope, {}).get(section, {}).get(field.path[1])
        else:
            value = values.get(scope, {}).get("version")
        compared[field.name] = value
        return value

    return expr.explain(tree, lookup), compared


def promote(name: str, version: int, alias: str, require: str | None = None,
            comment: str | None = None, actor: str | None = None) -> ModelVersion:
    """Move `alias` to `version` if the gate `require` holds, for example
    "metrics.f1 >= production.metrics.f1". A comparison with a missing value is false: when
    no version holds `production` yet, say `production.version IS NULL or ...`. Refused with
    a GateError naming every comparison that failed, and the alias stays where it was."""
    from .versions import get_model_version

    name, alias = refs.check_name(name, "model name"), refs.check_alias(alias)
    actor = _actor(actor)
    store = get_store()
    with store.read() as conn:  # check names and the gate's syntax before anything else
        model_id = _locked_model(conn, name, lock=False)
        version = _check_version(conn, model_id, name, version)
        require_unprotected(conn, model_id, name, alias, version)
        held, runs = gate_inputs(conn, model_id)
    tree = parse_gate(require, held, alias)
    sync_runs(runs, {version, *held.values()})
    with store.write("model", name, "alias") as conn:
        model_id = _locked_model(conn, name)
        gate = None
        if tree is not None:
            failed, _ = check_gate(conn, model_id, version, tree, runs)
            if failed:
                raise GateError(f"{name}@{version} was not promoted to {alias}: "
                                + "; ".join(failed))
            gate = {"require": require, "passed": True}
        move_alias(conn, model_id, name, alias, version, actor, comment, gate)
    deliver_after_commit()
    return get_model_version(f"{name}@{version}")


def alias_history(name: str, alias: str | None = None) -> pd.DataFrame:
    """Every alias move of model `name` (or of one alias), oldest first: alias, from_version,
    to_version, actor, at (UTC), comment, gate; and for a move by an approved promotion
    request (team stores): request_id, requested_by, approved_by (the actor), the
    approver's decision_comment (`comment` is the request's) and the gate_values the approval
    compared."""
    import pandas as pd

    name = refs.check_name(name, "model name")
    e = alias_events.c
    with get_store().read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
        if model_id is None:
            raise NotFoundError(f"no model named {name!r}")
        query = select(e.alias, e.from_version, e.to_version, e.actor, e.at, e.comment, e.gate,
                       e.request_id, e.requested_by, e.decision_comment, e.gate_values).where(
            e.model_id == model_id)
        if alias is not None:
            query = query.where(e.alias == refs.check_alias(alias))
        rows = conn.execute(query.order_by(e.id)).all()
    out = []
    for (moved, before, after, actor, at, comment, gate, request, requested_by, decision,
         values) in rows:
        # a promotion's gate is the JSON promote wrote; an approved request's, its expression
        shown = gate if request is not None else json.loads(gate)["require"] if gate else None
        out.append((moved, before, after, actor, at, comment, shown, request, requested_by,
                    actor if request is not None else None, decision,
                    json.loads(values) if values else None))
    frame = pd.DataFrame(out, columns=[
        "alias", "from_version", "to_version", "actor", "at", "comment", "gate", "request_id",
        "requested_by", "approved_by", "decision_comment", "gate_values"])
    for col in ("from_version", "to_version", "request_id"):
        frame[col] = frame[col].astype("Int64")
    frame["at"] = pd.to_datetime(frame["at"].astype("float64"), unit="s", utc=True)
    return frame
