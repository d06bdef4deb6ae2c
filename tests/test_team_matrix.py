"""The permission matrix (jupyter_mlops/team/matrix.py) proved entry by entry on a real
PostgreSQL team store, for each role: through the API (each capability a user has, allowed or
refused as the matrix says; a refusal is one AccessError naming the user and its role, with
nothing changed) and through raw SQL as that role (insert; update and delete of its own rows
and of others', table by table), which is what a client that skips the library can do.

The expectations are computed from the matrix, so a change to it changes what is tested; the
capabilities list which tables each one writes, which is the library's side of the bargain."""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from conftest import ENV_KEYS, _forget, drop_pg_database, fresh_pg_database, require_postgres

from jupyter_mlops.errors import AccessError
from jupyter_mlops.team.matrix import MATRIX, ROLES, writes

pytestmark = pytest.mark.postgres

NAMES = ("viewer", "contributor", "maintainer", "service")


def reaches(table: str, role: str, operation: str, whose: str) -> bool:
    """Whether team role `role` (viewer, …) may `operation` rows of `table` that are its own
    (`whose="own"`: it created them, or their parent) or anyone's (`"any"`), by the matrix."""
    kind, _, arg = writes(table, ROLES[role]).partition(" ")
    if kind in ("write", "all"):
        return True
    if operation == "insert":
        return kind in ("insert", "touch", "record", "own") or (kind == "child"
                                                                and whose == "own")
    if operation == "update" and kind == "touch":
        return True
    if operation == "update" and kind == "record":  # its own rows, while the column is empty
        return whose == "own"
    return kind in ("own", "child") and whose == "own"


# --------------------------------------------------------------------------- the world

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
Y = pd.Series([0.0, 1.5, 2.0, 3.5, 4.0, 5.5], name="y")
FEATURES = pd.DataFrame({"k": [1, 2], "ts": pd.to_datetime(["2026-01-01", "2026-01-02"]),
                         "f": [1.0, 2.0]})


def fitted():
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, Y)


def features():
    return FEATURES


@dataclass
class World:
    """A team store whose objects were made by `other` (a second contributor), and own
    objects of the user in `role`, on which that user tries each capability."""

    role: str
    team: Any
    root: Any
    user: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    def owner(self):
        return psycopg.connect(self.team.uri, autocommit=True)


def _seed_own(world: World) -> None:
    """Rows the acting user owns, written by the database's owner with triggers off (its
    session's replication role), so that roles that may not create them own some too."""
    with world.owner() as conn:
        conn.execute("SET session_replication_role = replica")
        exp = conn.execute("INSERT INTO experiments (name, created_at, lifecycle, created_by) "
                           "VALUES ('own-exp', 0, 'active', %s) RETURNING id",
                           (world.user,)).fetchone()[0]
        for name in ("own-archive", "own-purge"):
            run_id = uuid.uuid4().hex
            conn.execute("INSERT INTO runs (id, experiment_id, name, status, start_time, "
                         "heartbeat, \"user\", lifecycle) VALUES (%s, %s, %s, 'finished', 0, 0, "
                         "%s, 'active')", (run_id, exp, name, world.user))
            conn.execute("INSERT INTO params (run_id, key, value, text) VALUES (%s, 'k', '1', "
                         "'1')", (run_id,))
            world.ids[name] = run_id


def _seed_theirs(world: World, mlops) -> None:
    from jupyter_mlops.pipelines.runner import queue_pipeline
    from jupyter_mlops.store import get_store

    team, maintainer = world.team, world.team.users["maintainer"]
    (world.root / "noop.ipynb").write_text(NOOP)
    mlops.export_pipeline("noop", notebooks=["noop.ipynb"])
    mlops.export_pipeline("nightly", notebooks=["noop.ipynb"], schedule="0 2 * * *")
    with team.acting_as(team.users["other"]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("their-archive", "their-purge"):
            with mlops.start_run(name=name, experiment="their-exp") as run:
                mlops.log_param("p", 1)
                mlops.log_metric("m", 1.0)
            world.ids[name] = run.id
        with mlops.start_run(name="their-training"):
            mlops.version_dataset(X.assign(y=Y), "their-data", role="train")
            mlops.register_model(fitted(), "their-model", alias="staging")
        mlops.register_model(fitted(), "their-model", alias="canary")
        mlops.create_experiment("their-empty")
        mlops.create_experiment("their-archived")
        mlops.delete_experiment("their-archived")
        mlops.feature_view("their-view", entities=["k"], timestamp="ts")(features)
        digest, _ = get_store().artifacts.put_bytes(b"garbage nobody references")
        with get_store().write() as conn:  # as an alert would: a run waiting for a runner
            world.ids["queued"] = queue_pipeline(conn, "noop", "alert")
    with team.acting_as(maintainer):
        world.ids["rule"] = mlops.add_alert("their-model", "rows < 0").id
    with world.owner() as conn:  # old enough for gc
        conn.execute("UPDATE blobs SET touched_at = 0 WHERE digest = %s", (digest,))


NOOP = ('{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, '
        '"outputs": [], "source": "x = 1"}], "metadata": {"kernelspec": {"display_name": '
        '"Python 3", "language": "python", "name": "python3"}}, "nbformat": 4, '
        '"nbformat_minor": 5}')


@pytest.fixture(scope="module", params=NAMES)
def world(request, tmp_path_factory):
    """One team store per role (so one role's changes never meet another's tests), seeded
    once for that role's capabilities."""
    from team_store import drop_users, make_team_store

    import jupyter_mlops as mlops
    from jupyter_mlops.store import Store
    from jupyter_mlops.team import setup

    require_postgres()
    root = tmp_path_factory.mktemp(f"matrix-{request.param}") / "project"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for key in ENV_KEYS:
            patch.delenv(key, raising=False)
        patch.setenv("MLOPS_PROJECT_ROOT", str(root))
        patch.chdir(root)
        uri = fresh_pg_database()
        team = None
        try:
            Store(uri, str(root / "artifacts"), check=False).upgrade()
            patch.setenv("MLOPS_STORE_URI", uri)
            _forget()
            team = make_team_store(uri, str(root / "artifacts"))
            team.users["other"] = team.users["contributor"] + "_other"
            owner = Store(uri, str(root / "artifacts"))
            setup.add(team.users["other"], "contributor", store=owner)
            owner.dispose()
            made = World(request.param, team, root, team.users[request.param])
            _seed_theirs(made, mlops)
            _seed_own(made)
            yield made
        finally:
            _forget()
            if team is not None:
                drop_users(team)
            drop_pg_database(uri)


def snapshot(world: World) -> dict[str, set]:
    """Every row of every table, as the database's owner sees it."""
    with world.owner() as conn:
        return {t: set(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in MATRIX}


# --------------------------------------------------------------------------- capabilities

@dataclass(frozen=True)
class Capability:
    """What a user does through the API, and the writes it makes: `changes` must show when
    it is allowed, `uses` may stay as they were (a blob or text already stored)."""

    name: str
    act: Callable[[Any, World], Any]
    changes: tuple[tuple[str, str, str], ...]
    uses: tuple[tuple[str, str, str], ...] = ()

    def allowed(self, role: str) -> bool:
        return all(reaches(t, role, op, whose) for t, op, whose in self.changes + self.uses)


def log_a_run(mlops, world):
    with mlops.start_run(name="mine", experiment="mine"):
        mlops.log_param("x", 1)
        mlops.log_metric("m", 0.5)
        mlops.set_tag("t", "v")
        mlops.log_artifact(f"bytes of {world.user}".encode(), name="a.bin")


def feature_view_materialized(mlops, world):
    mlops.feature_view("mine", entities=["k"], timestamp="ts")(features)
    mlops.materialize("mine")


def tick(mlops, world):
    from jupyter_mlops.pipelines import scheduler

    scheduler.tick(start=lambda name: None)


def monitoring_sample(mlops, world):
    from jupyter_mlops.serving.samples import record_batch

    frame = X.assign(prediction=Y, timestamp=pd.Timestamp("2026-01-01", tz="UTC"))
    record_batch("their-model", 1, frame, "serving")


OWN, ANY = "own", "any"
CONTENT = (("blobs", "insert", ANY), ("changes", "insert", ANY))
CAPABILITIES = [
    Capability("log a run with params, metrics, tags and an artifact", log_a_run,
               (("experiments", "insert", OWN), ("runs", "insert", OWN),
                ("params", "insert", OWN), ("metric_chunks", "insert", OWN),
                ("latest_metrics", "insert", OWN), ("tags", "insert", OWN),
                ("artifacts", "insert", OWN)), CONTENT),
    Capability("version a new dataset",
               lambda mlops, w: mlops.version_dataset(X.assign(z=1.0), "mine"),
               (("datasets", "insert", OWN), ("dataset_versions", "insert", OWN)), CONTENT),
    Capability("version a new version of someone else's dataset",
               lambda mlops, w: mlops.version_dataset(X.assign(y=Y, z=2.0), "their-data"),
               (("dataset_versions", "insert", OWN),), CONTENT),
    Capability("define and materialize a feature view", feature_view_materialized,
               (("feature_views", "insert", OWN), ("feature_materializations", "insert", OWN)),
               CONTENT),
    Capability("materialize someone else's feature view",
               lambda mlops, w: mlops.materialize("their-view"),
               (("feature_materializations", "insert", OWN),), CONTENT),
    Capability("register a new model",
               lambda mlops, w: mlops.register_model(fitted(), "mine", signature=X),
               (("models", "insert", OWN), ("model_versions", "insert", OWN)), CONTENT),
    Capability("register a new version of someone else's model",
               lambda mlops, w: mlops.register_model(fitted(), "their-model", signature=X),
               (("model_versions", "insert", OWN),), CONTENT),
    Capability("move an unprotected alias of someone else's model",
               lambda mlops, w: mlops.set_alias("their-model", "staging", 2),
               (("model_aliases", "update", ANY), ("alias_events", "insert", ANY)),
               (("changes", "insert", ANY),)),
    Capability("remove an unprotected alias of someone else's model",
               lambda mlops, w: mlops.delete_alias("their-model", "canary"),
               (("model_aliases", "delete", ANY), ("alias_events", "insert", ANY)),
               (("changes", "insert", ANY),)),
    Capability("add an alert rule",
               lambda mlops, w: mlops.add_alert("their-model", "drift_share > 0.9"),
               (("alert_rules", "insert", ANY),), (("changes", "insert", ANY),)),
    Capability("stop an alert rule",
               lambda mlops, w: mlops.remove_alert(w.ids["rule"]),
               (("alert_rules", "update", ANY),), (("changes", "insert", ANY),)),
    Capability("record the scheduler's fires", tick, (("schedules", "insert", ANY),)),
    Capability("run a pipeline",
               lambda mlops, w: mlops.run_pipeline("noop", progress=False),
               (("pipeline_runs", "insert", OWN), ("step_runs", "insert", OWN)), CONTENT),
    Capability("start someone else's queued pipeline run",
               lambda mlops, w: mlops.run_pipeline("noop", queued=w.ids["queued"],
                                                   progress=False),
               (("pipeline_runs", "update", ANY), ("step_runs", "insert", ANY)), CONTENT),
    Capability("monitor a batch", lambda mlops, w: mlops.monitor("their-model@1", X),
               (("drift_batches", "insert", ANY),), CONTENT),
    Capability("keep a scoring server's monitoring sample", monitoring_sample,
               (("monitoring_batches", "insert", ANY),), CONTENT),
    Capability("archive an own run", lambda mlops, w: mlops.delete_run(w.ids["own-archive"]),
               (("runs", "update", OWN),), (("changes", "insert", ANY),)),
    Capability("archive someone else's run",
               lambda mlops, w: mlops.delete_run(w.ids["their-archive"]),
               (("runs", "update", ANY),), (("changes", "insert", ANY),)),
    Capability("purge an own run",
               lambda mlops, w: mlops.delete_run(w.ids["own-purge"], purge=True),
               (("runs", "delete", OWN), ("params", "delete", OWN)),
               (("changes", "insert", ANY),)),
    Capability("purge someone else's run",
               lambda mlops, w: mlops.delete_run(w.ids["their-purge"], purge=True),
               (("runs", "delete", ANY), ("params", "delete", ANY),
                ("latest_metrics", "delete", ANY)), (("changes", "insert", ANY),)),
    Capability("archive an own experiment", lambda mlops, w: mlops.delete_experiment("own-exp"),
               (("experiments", "update", OWN),),
               (("runs", "update", OWN), ("changes", "insert", ANY))),
    Capability("archive someone else's experiment",
               lambda mlops, w: mlops.delete_experiment("their-empty"),
               (("experiments", "update", ANY),), (("changes", "insert", ANY),)),
    Capability("restore someone else's experiment",
               lambda mlops, w: mlops.restore_experiment("their-archived"),
               (("experiments", "update", ANY),), (("changes", "insert", ANY),)),
    Capability("collect garbage (gc)", lambda mlops, w: mlops.gc(grace=0),
               (("blobs", "delete", ANY),), (("changes", "insert", ANY),)),
]


@pytest.mark.parametrize("capability", CAPABILITIES, ids=[c.name for c in CAPABILITIES])
def test_each_capability_through_the_api_is_allowed_or_refused_as_the_matrix_says(
        world, capability):
    import jupyter_mlops as mlops

    before = snapshot(world)
    with world.team.acting_as(world.user), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if capability.allowed(world.role):
            capability.act(mlops, world)
            refusal = None
        else:
            with pytest.raises(AccessError) as refusal:
                capability.act(mlops, world)
    after = snapshot(world)
    if refusal is None:
        for table, operation, _ in capability.changes:
            made = after[table] - before[table] if operation == "insert" else (
                before[table] - after[table])
            assert made, f"{capability.name}: nothing was {operation}ed in {table}"
        return
    message = str(refusal.value)
    assert f"{world.user} (role {world.role})" in message, message
    assert "Nothing was changed." in message and "Traceback" not in message
    changed = sorted(t for t in MATRIX if t != "blobs" and after[t] != before[t])
    assert changed == [], f"{capability.name} refused, yet {changed} changed"
    # content stored before the refusal is garbage for gc: nothing refers to it
    new_blobs = {row[0] for row in after["blobs"]} - {row[0] for row in before["blobs"]}
    with world.owner() as conn:
        from jupyter_mlops.store.tables import BLOB_REFERENCES

        for table, column in BLOB_REFERENCES:
            used = conn.execute(f"SELECT count(*) FROM {table.name} WHERE {column} = ANY(%s)",
                                (list(new_blobs),)).fetchone()[0]
            assert used == 0, (table.name, capability.name)


# --------------------------------------------------------------------------- raw SQL

def _child(table: str) -> tuple[str, str] | None:
    """(parent table, column) when the contributor's rights on `table` follow its parent."""
    kind, _, arg = writes(table, ROLES["contributor"]).partition(" ")
    return tuple(arg.split(".")) if kind == "child" else None


class Rows:
    """Rows of any table of the schema made from its columns: unique values, the actor column
    set to an owner, a child row under its owner's parent row, other references to a pool of
    parent rows (so that unique pairs such as an alert's rule and batch stay unique)."""

    POOLED = ("experiments", "runs", "models", "datasets", "feature_views", "registry_events",
              "event_hooks", "alert_rules", "drift_batches")

    def __init__(self) -> None:
        from jupyter_mlops.store.tables import metadata
        from jupyter_mlops.team.matrix import ACTORS

        self.tables = metadata.tables
        self.actors = {t: c.strip('"') for t, (c, _) in ACTORS.items()}
        self.n = 100_000
        self.made: dict[str, int] = {}  # rows made per table: which pool row each refers to
        self.pool: dict[str, list[Any]] = {}
        self.parents: dict[tuple[str, str], Any] = {}  # (parent table, owner) -> its id

    def make(self, table: str, owner: str) -> dict[str, Any]:
        self.n += 1
        n = self.n
        self.made[table] = index = self.made.get(table, -1) + 1
        if table == "mlops_alembic_version":
            return {"version_num": f"v{n}"}
        child = _child(table)
        row = {}
        for col in self.tables[table].columns:
            fk = next(iter(col.foreign_keys), None)
            if child is not None and col.name == child[1]:
                row[col.name] = self.parents[(child[0], owner)]
            elif col.name == self.actors.get(table):
                row[col.name] = owner
            elif fk is not None:
                target = fk.column.table.name
                pool = self.pool[target] if not col.nullable or col.primary_key else None
                row[col.name] = pool[index % len(pool)] if pool else None
            elif col.nullable and not col.primary_key:
                row[col.name] = None
            else:
                row[col.name] = self._value(table, col, n)
        return row

    @staticmethod
    def _value(table: str, col, n: int) -> Any:
        kind = col.type.python_type if hasattr(col.type, "python_type") else str
        if table == "promotion_requests" and col.name == "state":
            return "open"
        if col.name == "alias":
            return f"alias{n}"  # never production: protected aliases are tested apart
        if kind is bool:
            return False
        if kind is int:
            return n
        if kind is float:
            return float(n)
        if kind is bytes:
            return b"x"
        return f"v{n}"[:getattr(col.type, "length", None) or 64]

    def insert(self, conn, table: str, row: dict[str, Any]):
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join(["%s"] * len(row))
        return conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                            list(row.values()))

    def key(self, table: str, row: dict[str, Any]) -> tuple[str, list[Any]]:
        if table == "mlops_alembic_version":
            return "version_num = %s", [row["version_num"]]
        pk = [c.name for c in self.tables[table].primary_key.columns]
        return " AND ".join(f'"{c}" = %s' for c in pk), [row[c] for c in pk]


@dataclass
class SqlWorld:
    uri_of: Callable[[str], str]
    users: dict[str, str]
    rows: Rows
    mine: dict[tuple[str, str], dict[str, Any]]  # (table, role) -> a row that role owns
    theirs: dict[str, dict[str, Any]]  # table -> a row someone else owns


@pytest.fixture(scope="module")
def sql_world(tmp_path_factory):
    """A team store with, in every table, a row owned by each role's user and one owned by
    another user (written with the owner's triggers off, so any actor can be given)."""
    from team_store import drop_users, make_team_store

    from jupyter_mlops.store import Store

    require_postgres()
    uri = fresh_pg_database()
    artifacts = str(tmp_path_factory.mktemp("matrix-sql"))
    team = None
    try:
        Store(uri, artifacts, check=False).upgrade()
        team = make_team_store(uri, artifacts)
        rows = Rows()
        owners = {**team.users, "other": "someone-else"}
        mine, theirs = {}, {}
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            for table in Rows.POOLED:  # parents first, each referring to the pool before it
                rows.pool[table] = []
                for _ in range(40):
                    row = rows.make(table, "someone-else")
                    rows.insert(conn, table, row)
                    rows.pool[table].append(row["id"])
            for parent in ("runs", "dataset_versions", "pipeline_runs", "logged_models"):
                for user in owners.values():
                    row = rows.make(parent, user)
                    rows.insert(conn, parent, row)
                    rows.parents[(parent, user)] = row["id"]
            for table in MATRIX:
                for name, user in owners.items():
                    row = rows.make(table, user)
                    rows.insert(conn, table, row)
                    if name == "other":
                        theirs[table] = row
                    else:
                        mine[(table, name)] = row
        yield SqlWorld(team.uri_of, team.users, rows, mine, theirs)
    finally:
        if team is not None:
            drop_users(team)
        drop_pg_database(uri)


def _try(conn, statement: str, values: list[Any]) -> int | str:
    """The rows `statement` changed, or 'refused'; rolled back either way."""
    try:
        return conn.execute(statement, values).rowcount
    except psycopg.errors.InsufficientPrivilege:
        return "refused"
    finally:
        conn.rollback()


@pytest.mark.parametrize("table", sorted(MATRIX))
@pytest.mark.parametrize("role", NAMES)
def test_raw_sql_as_each_role_changes_exactly_what_the_matrix_allows(sql_world, role, table):
    """Insert (under its own parent row, and under another's), update and delete of its own
    row and of another's: refused by the database (permission denied, or a row-level
    security policy), or changing no row (row-level security hides it), or allowed."""
    w = sql_world
    user = w.users[role]
    kind, _, arg = writes(table, ROLES[role]).partition(" ")
    mine, theirs = w.mine[(table, role)], w.theirs[table]
    column = arg if kind in ("touch", "record") else next(iter(mine))
    got, want = {}, {}
    with psycopg.connect(w.uri_of(user)) as conn:
        got["insert own"] = _try(conn, *_insert_sql(w, table, user))
        want["insert own"] = 1 if reaches(table, role, "insert", "own") else "refused"
        if _child(table):
            got["insert under another's"] = _try(conn, *_insert_sql(w, table, "someone-else"))
            want["insert under another's"] = (
                1 if reaches(table, role, "insert", "any") else "refused")
        for whose, row in (("own", mine), ("another's", theirs)):
            where, values = w.rows.key(table, row)
            got[f"update {whose}"] = _try(
                conn, f'UPDATE {table} SET "{column}" = "{column}" WHERE {where}', values)
            got[f"delete {whose}"] = _try(conn, f"DELETE FROM {table} WHERE {where}", values)
            for op in ("update", "delete"):
                can_at_all = reaches(table, role, op, "own")
                want[f"{op} {whose}"] = ("refused" if not can_at_all else
                                         1 if reaches(table, role, op, "any" if whose ==
                                                      "another's" else "own") else 0)
        if kind in ("touch", "record"):  # only that column
            other = next(c for c in mine if c != arg)
            where, values = w.rows.key(table, mine)
            got["update another column"] = _try(
                conn, f'UPDATE {table} SET "{other}" = "{other}" WHERE {where}', values)
            want["update another column"] = "refused"
    assert got == want, f"{role} on {table} (matrix: {writes(table, ROLES[role]) or 'read'})"


def _insert_sql(w: SqlWorld, table: str, owner: str) -> tuple[str, list[Any]]:
    row = w.rows.make(table, owner)
    columns = ", ".join(f'"{c}"' for c in row)
    return (f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(row))})",
            list(row.values()))


@pytest.mark.parametrize("role", NAMES)
def test_no_role_moves_a_protected_alias_in_raw_sql(sql_world, role):
    """`production` (protected by default) held by restrictive policies for every role, the
    maintainer too: only the approval function moves it."""
    w = sql_world
    model = w.rows.pool["models"][0]
    with psycopg.connect(w.uri_of(w.users[role])) as conn:
        for statement, values in [
                ("INSERT INTO model_aliases (model_id, alias, version, updated_at) "
                 "VALUES (%s, 'production', 1, 0)", [model]),
                ("INSERT INTO alias_events (model_id, alias, to_version, actor, at) "
                 "VALUES (%s, 'production', 1, 'x', 0)", [model])]:
            assert _try(conn, statement, values) == "refused", statement


def test_a_refusal_names_the_role_and_the_role_it_needs():
    from jupyter_mlops.team.matrix import needed

    assert needed("runs", "insert") == "contributor"
    assert needed("alert_rules", "insert") == "maintainer"
    assert needed("schedules", "update") == \
        "maintainer (or service, the long-running processes' role)"
    assert re.match("none of the roles", needed("registry_events", "insert"))


def test_a_contributors_batch_that_breaches_a_rule_records_the_webhooks_answer(team):
    """Why alerts are `touch webhook_status` for contributors: the alert a contributor's
    monitoring batch raises is theirs to complete with the answer of the rule's webhook (a
    maintainer's rule), and nothing else of any alert."""
    import time

    from webhook import Receiver

    import jupyter_mlops as mlops

    hook = Receiver()
    contributor = team.users["contributor"]
    with team.acting_as(contributor), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlops.start_run(name="training"):
            mlops.version_dataset(X.assign(y=Y), "data", role="train")
            mlops.register_model(fitted(), "model")
    with team.acting_as(team.users["maintainer"]):
        mlops.add_alert("model", "rows > 0", webhook=hook.url)
    with team.acting_as(contributor):
        batch = mlops.monitor("model@1", X)
        assert len(batch.alerts) == 1
        hook.wait()
        deadline = time.monotonic() + 10
        while (status := mlops.list_alerts("model").webhook_status.iloc[0]) != "204":
            assert time.monotonic() < deadline, f"the webhook's answer was not recorded: {status}"
            time.sleep(0.1)
    with team.sql(contributor) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE alerts SET reason = 'rewritten'")


async def test_a_refusal_over_rest_is_403_naming_the_role(team, api):
    """The server connects with its user's own database role: what the role may not do is
    refused by the database and answered 403 with the message, the store unchanged."""
    import jupyter_mlops as mlops

    with team.acting_as(team.users["contributor"]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlops.register_model(fitted(), "m", signature=X)
    viewer = team.users["viewer"]
    with team.acting_as(viewer):
        status, body = await api("models/m/aliases", method="POST",
                                 body={"alias": "staging", "version": 1})
        assert status == 403 and f"refused this to {viewer} (role viewer)" in body["error"]
        assert "needs contributor" in body["error"]
        assert mlops.get_model_version("m@1").aliases == ()


# --------------------------------------------------------------------------- the docs

DOC = Path(__file__).resolve().parent.parent / "docs" / "team.md"


def _section(title: str) -> list[list[str]]:
    """The rows of the Markdown table in docs/team.md's section `title`, as cells."""
    text = DOC.read_text().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def cell(kind: str) -> str:
    """How docs/team.md writes a matrix entry (its legend says what each means)."""
    name, _, arg = kind.partition(" ")
    if name == "touch":
        return f"insert; update `{arg}`"
    if name == "record":
        return f"insert; fill `{arg}` once in own rows"
    if name == "own":
        return f"own rows (`{arg.strip(chr(34))}`)"
    if name == "child":
        return f"rows of own `{arg.split('.')[0]}`"
    return {"": "read", "insert": "insert", "write": "any row", "all": "any row"}[name]


def test_the_docs_table_of_roles_is_the_matrix():
    header, *rows = _section("Roles and what each may do")
    assert header == ["table", *NAMES]
    documented = {re.match(r"`(\w+)`", row[0]).group(1): row[1:] for row in rows}
    assert list(documented) == list(MATRIX)
    for table, cells in documented.items():
        assert cells == [cell(writes(table, ROLES[r])) for r in NAMES], table


def test_the_docs_table_of_actor_columns_is_the_triggers():
    from jupyter_mlops.team.matrix import ACTORS

    header, *rows = _section("Who did what")
    assert header[:2] == ["table", "actor column"]
    documented = {}
    for names, column, when in rows:
        for table in re.findall(r"`(\w+)`", names):
            documented[table] = (re.match(r"`(\w+)`", column).group(1), when)
    assert set(documented) == set(ACTORS)
    for table, (column, when) in ACTORS.items():
        assert documented[table][0] == column.strip('"'), table
        assert documented[table][1].startswith("on every write" if when == "always"
                                               else "on insert"), table
