"""The metadata store: migrations from the first schema, schema checks, the version table,
many processes creating a store at once, the change sequence, transactions and injection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import drop_pg_database, fresh_pg_database, require_postgres
from sqlalchemy import inspect, select, text

from jupyter_mlops.errors import FilterSyntaxError, MLOpsUsageError, SchemaError, StoreError
from jupyter_mlops.store import Store, engine, get_store, reset, schema, tables

REPO = Path(__file__).resolve().parents[1]
FIRST = "0001"  # the first revision: the migration test always starts here
EVIL = "'; DROP TABLE runs; --"
TABLES = {"experiments", "runs", "params", "metric_chunks", "latest_metrics", "tags", "artifacts",
          "run_links", "cells", "texts", "blobs", "changes"}


def _env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that imports this source tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _forget_stores() -> None:
    from jupyter_mlops.tracking import writer

    with writer._writers_lock:
        writer._writers.clear()
    reset()


# --------------------------------------------------------------------------- migrations


def _blake3(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def _build_first_schema_store(uri: str, artifact_root: Path) -> dict:
    """A store created at the FIRST revision by Alembic and filled with plain SQL written for
    that schema (never through the current code), plus one blob in the artifact folder."""
    from alembic import command

    eng = engine.create(uri, 30)
    now = time.time()
    blob = b"weights of a model logged by the first schema\n"
    digest = _blake3(blob)
    (artifact_root / digest[:2]).mkdir(parents=True, exist_ok=True)
    (artifact_root / digest[:2] / digest[2:]).write_bytes(blob)
    cell_source = "model.fit(X, y)\n"
    env_text = json.dumps({"python": "3.12.0", "packages": {"sklearn": "1.5.0"}})
    ids = {"run": uuid.uuid4().hex, "child": uuid.uuid4().hex, "stale": uuid.uuid4().hex,
           "digest": digest, "blob": blob, "now": now}
    try:
        with eng.connect() as conn:
            command.upgrade(schema.alembic_config(conn), FIRST)
            conn.commit()
        with eng.begin() as conn:
            assert schema.current_revision(conn) == FIRST
            conn.execute(text(
                "INSERT INTO experiments (name, description, created_at, lifecycle) "
                "VALUES ('legacy', 'made by the first schema', :t, 'active')"), {"t": now - 100})
            exp_id = conn.execute(text("SELECT id FROM experiments WHERE name = 'legacy'")).scalar()
            src, env_digest = _blake3(cell_source.encode()), _blake3(env_text.encode())
            conn.execute(text("INSERT INTO texts (digest, text) VALUES (:d, :t)"),
                         [{"d": src, "t": cell_source}, {"d": env_digest, "t": env_text}])
            run_sql = text(
                'INSERT INTO runs (id, experiment_id, name, status, parent_run_id, start_time, '
                'end_time, heartbeat, "user", host, notebook, source_digest, git_commit, '
                'git_dirty, python_version, environment_digest, error, lifecycle) VALUES '
                '(:id, :exp, :name, :status, :parent, :start, :end, :hb, :user, :host, :nb, '
                ':src, :commit, :dirty, :py, :env, :error, :lifecycle)')
            base = {"exp": exp_id, "user": "ada", "host": "lab-1", "nb": "notebooks/train.ipynb",
                    "src": src, "commit": "a" * 40, "dirty": True, "py": "3.12.0",
                    "env": env_digest, "lifecycle": "active"}
            conn.execute(run_sql, [
                {**base, "id": ids["run"], "name": "legacy-rf", "status": "finished",
                 "parent": None, "start": now - 90, "end": now - 80, "hb": now - 80,
                 "error": None},
                {**base, "id": ids["stale"], "name": "legacy-stale", "status": "running",
                 "parent": None, "start": now - 90, "end": None, "hb": now - 86400,
                 "error": None, "dirty": False},
            ])
            conn.execute(run_sql, {
                **base, "id": ids["child"], "name": "legacy-child", "status": "failed",
                "parent": ids["run"], "start": now - 89, "end": now - 85, "hb": now - 85,
                "error": "ValueError: bad fold"})
            conn.execute(text(
                "INSERT INTO params (run_id, key, value, num, text) VALUES (:r, :k, :v, :n, :t)"),
                [{"r": ids["run"], "k": "lr", "v": "0.1", "n": 0.1, "t": "0.1"},
                 {"r": ids["run"], "k": "model", "v": '"rf"', "n": None, "t": "rf"},
                 {"r": ids["run"], "k": "depth", "v": "3", "n": 3.0, "t": "3"},
                 {"r": ids["run"], "k": "layers", "v": "[64, 32]", "n": None, "t": "[64, 32]"}])
            conn.execute(text(
                "INSERT INTO metrics (run_id, key, value, step, timestamp) "
                "VALUES (:r, :k, :v, :s, :t)"),
                [{"r": ids["run"], "k": "acc", "v": v, "s": s, "t": now - 88 + s}
                 for s, v in enumerate([0.5, 0.7, 0.9])]
                + [{"r": ids["child"], "k": "acc", "v": 0.4, "s": 0, "t": now - 86}])
            conn.execute(text(
                "INSERT INTO latest_metrics (run_id, key, value, step, timestamp) "
                "VALUES (:r, :k, :v, :s, :t)"),
                [{"r": ids["run"], "k": "acc", "v": 0.9, "s": 2, "t": now - 86},
                 {"r": ids["child"], "k": "acc", "v": 0.4, "s": 0, "t": now - 86}])
            conn.execute(text("INSERT INTO tags (run_id, key, value) VALUES (:r, :k, :v)"),
                         [{"r": ids["run"], "k": "team", "v": "vision"},
                          {"r": ids["run"], "k": "mlops.papermill", "v": "true"}])
            conn.execute(text(
                "INSERT INTO artifacts (run_id, name, digest, size, media_type, created_at) "
                "VALUES (:r, 'model.bin', :d, :s, 'application/octet-stream', :t)"),
                {"r": ids["run"], "d": digest, "s": len(blob), "t": now - 81})
            conn.execute(text("INSERT INTO blobs (digest, size, touched_at) VALUES (:d, :s, :t)"),
                         {"d": digest, "s": len(blob), "t": now - 81})
            conn.execute(text(
                "INSERT INTO run_links (run_id, direction, kind, ref, role, created_at) "
                "VALUES (:r, 'input', 'dataset', 'wine@1', 'train', :t)"),
                {"r": ids["run"], "t": now - 89})
            conn.execute(text(
                "INSERT INTO cells (run_id, ordinal, execution_count, cell_id, notebook_index, "
                "source_digest, started, ended, success, error) "
                "VALUES (:r, 0, 7, 'c1', 2, :d, :s, :e, :ok, NULL)"),
                {"r": ids["run"], "d": src, "s": now - 88, "e": now - 87, "ok": True})
            conn.execute(text(
                "INSERT INTO changes (kind, key, action, at) VALUES ('run', :r, :a, :t)"),
                [{"r": ids["run"], "a": "started", "t": now - 90},
                 {"r": ids["run"], "a": "finished", "t": now - 80}])
            ids["last_change"] = conn.execute(text("SELECT max(seq) FROM changes")).scalar()
    finally:
        eng.dispose()
    return ids


def _check_nothing_lost(mlops, ids: dict) -> None:
    run = mlops.get_run(ids["run"])
    assert run.name == "legacy-rf" and run.status == "finished" and run.experiment == "legacy"
    assert run.params == {"lr": 0.1, "model": "rf", "depth": 3, "layers": [64, 32]}
    assert isinstance(run.params["depth"], int)
    assert run.metrics == {"acc": 0.9}
    history = run.metric_history("acc")
    assert history["step"].tolist() == [0, 1, 2] and history["value"].tolist() == [0.5, 0.7, 0.9]
    assert run.tags == {"team": "vision", "mlops.papermill": "true"}
    art = run.artifacts["model.bin"]
    assert (art.digest, art.size, art.media_type) == (
        ids["digest"], len(ids["blob"]), "application/octet-stream")
    assert run.load_artifact("model.bin") == ids["blob"]
    assert [(i.kind, i.ref, i.role) for i in run.inputs] == [("dataset", "wine@1", "train")]
    cells = run.cells()
    assert cells["source"].tolist() == ["model.fit(X, y)\n"] and cells["success"].tolist() == [True]
    assert run.source == "model.fit(X, y)\n"
    assert run.environment["packages"] == {"sklearn": "1.5.0"}
    info = run.info
    assert info["git_commit"] == "a" * 40 and info["git_dirty"] is True
    assert (info["user"], info["host"], info["notebook"]) == ("ada", "lab-1",
                                                              "notebooks/train.ipynb")
    child = mlops.get_run(ids["child"])
    assert child.status == "failed" and child.info["error"] == "ValueError: bad fold"
    assert child.info["parent_run_id"] == ids["run"]
    # a running run whose heartbeat stopped a day ago shows as killed
    assert mlops.get_run(ids["stale"]).status == "killed"

    found = mlops.search_runs(experiment="legacy", filter="params.model = 'rf' and metrics.acc > 0.8")
    assert found["run_id"].tolist() == [ids["run"]]
    assert found.loc[0, "params.lr"] == 0.1 and found.loc[0, "metrics.acc"] == 0.9
    assert found.loc[0, "tags.team"] == "vision"
    everything = mlops.search_runs(experiment="legacy")
    assert set(everything["run_id"]) == {ids["run"], ids["child"], ids["stale"]}
    assert mlops.search_runs(filter="status = 'killed'")["run_id"].tolist() == [ids["stale"]]

    # the store is at the newest revision and takes new writes after the old ones
    store = get_store()
    with store.read() as conn:
        assert schema.current_revision(conn) == schema.HEAD
    assert store.last_change() == ids["last_change"]
    with mlops.start_run(name="after-upgrade", experiment="legacy") as new:
        mlops.log_metric("acc", 0.95)
    assert store.last_change() > ids["last_change"]
    assert mlops.get_run(new.id).metrics == {"acc": 0.95}
    assert len(mlops.search_runs(experiment="legacy")) == 4


def test_sqlite_store_from_the_first_schema_is_upgraded_on_open(project, mlops):
    db = project / ".mlops" / "mlops.db"
    ids = _build_first_schema_store(f"sqlite:///{db}", project / ".mlops" / "artifacts")
    _forget_stores()
    _check_nothing_lost(mlops, ids)


@pytest.mark.postgres
def test_postgres_store_from_the_first_schema_upgrades_only_when_asked(project, mlops,
                                                                        monkeypatch):
    require_postgres()
    uri = fresh_pg_database()
    try:
        ids = _build_first_schema_store(uri, project / ".mlops" / "artifacts")
        monkeypatch.setenv("MLOPS_STORE_URI", uri)
        _forget_stores()
        if schema.HEAD != FIRST:  # a shared store never upgrades on its own
            with pytest.raises(SchemaError, match="jupyter mlops store upgrade"):
                get_store()
            _forget_stores()
        admin = Store(uri, str(project / ".mlops" / "artifacts"), check=False)
        try:
            assert admin.upgrade() == (FIRST, schema.HEAD)
        finally:
            admin.dispose()
        _forget_stores()
        _check_nothing_lost(mlops, ids)
    finally:
        _forget_stores()
        drop_pg_database(uri)


@pytest.mark.postgres
def test_empty_postgres_store_is_refused_until_upgraded(project, monkeypatch):
    require_postgres()
    uri = fresh_pg_database()
    try:
        with pytest.raises(SchemaError, match="empty.*jupyter mlops store upgrade"):
            Store(uri, str(project / "art"))
        # another tool's Alembic history in the same database is left alone
        with engine.create(uri, 30).begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('their_rev_1')"))
        admin = Store(uri, str(project / "art"), check=False)
        assert admin.upgrade() == (None, schema.HEAD)
        assert admin.upgrade() == (schema.HEAD, schema.HEAD)  # idempotent
        with admin.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
                "their_rev_1"
        admin.dispose()
        store = Store(uri, str(project / "art"))
        assert store.revision == schema.HEAD and store.read_only_reason is None
        store.dispose()
    finally:
        drop_pg_database(uri)


_UPGRADE = r"""
import os, sys, time
from jupyter_mlops.store import Store
import alembic.command
store = Store(sys.argv[1], "unused", check=False)
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
print(*store.upgrade())
"""


@pytest.mark.postgres
def test_concurrent_upgrades_of_a_postgres_store_run_once(project):
    """`store upgrade` from several machines at once: the advisory lock lets one migrate."""
    require_postgres()
    uri = fresh_pg_database()
    go = project / "go"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", _UPGRADE, uri, str(go)], cwd=project,
                                  env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
        assert sorted(out.strip() for out, _ in outs) == sorted(
            [f"None {schema.HEAD}"] + [f"{schema.HEAD} {schema.HEAD}"] * 3)
    finally:
        drop_pg_database(uri)


def test_head_is_alembics_single_head_and_known_lists_every_revision():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(schema.alembic_config(None))
    assert scripts.get_heads() == [schema.HEAD]
    revisions = [r.revision for r in scripts.walk_revisions()]
    assert set(revisions) == set(schema.KNOWN)
    assert scripts.get_base() == FIRST  # the migration tests start from it


def _schema_differences(uri: str) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    eng = engine.create(uri, 30)
    try:
        schema.upgrade(eng, engine.sqlite_path(engine.normalize_uri(uri)))
        with eng.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "version_table": schema.VERSION_TABLE, "compare_type": True,
                "compare_server_default": True})
            return compare_metadata(ctx, tables.metadata)
    finally:
        eng.dispose()


def test_migrated_sqlite_schema_equals_the_tables_module(tmp_path):
    assert _schema_differences(f"sqlite:///{tmp_path / 'm.db'}") == []


@pytest.mark.postgres
def test_migrated_postgres_schema_equals_the_tables_module():
    require_postgres()
    uri = fresh_pg_database()
    try:
        assert _schema_differences(uri) == []
    finally:
        drop_pg_database(uri)


def test_version_table_is_mlops_alembic_version(backend, mlops):
    with mlops.start_run():
        pass
    store = get_store()
    with store.read() as conn:
        names = set(inspect(conn).get_table_names())
        assert schema.VERSION_TABLE == "mlops_alembic_version"
        assert "mlops_alembic_version" in names and "alembic_version" not in names
        assert names >= TABLES
        assert conn.execute(text("SELECT version_num FROM mlops_alembic_version")).scalars() \
            .all() == [schema.HEAD]


def test_newer_schema_refuses_writes_but_reads(backend, mlops):
    with mlops.start_run(name="old", params={"a": 1}) as run:
        mlops.log_metric("m", 2.0)
    with get_store().write() as conn:
        conn.execute(text("UPDATE mlops_alembic_version SET version_num = '9999_from_future'"))
    _forget_stores()

    store = get_store()
    assert store.read_only_reason and "pip install -U jupyter-mlops" in store.read_only_reason
    before = store.last_change()
    with pytest.raises(SchemaError, match="upgrade the package"):
        mlops.start_run(name="new")
    assert mlops.active_run() is None
    old = mlops.get_run(run.id)
    with pytest.raises(SchemaError, match="upgrade the package"):
        mlops.set_tags({"x": "y"}, run=old)
    with pytest.raises(SchemaError, match="upgrade the package"):
        store.upgrade()  # never "downgrades" what it does not know
    assert old.params == {"a": 1} and old.metrics == {"m": 2.0} and old.status == "finished"
    assert mlops.search_runs()["run_id"].tolist() == [run.id]
    assert store.last_change() == before


# --------------------------------------------------------------------------- durability

@pytest.mark.parametrize("where, level, pragma", [
    (None, None, 1), ("env", "normal", 1), ("env", "FULL", 2), ("pyproject", "full", 2)])
def test_sqlite_synchronous_setting_is_in_force_on_every_connection(project, monkeypatch,
                                                                    where, level, pragma):
    """`sqlite_synchronous` (env MLOPS_SQLITE_SYNCHRONOUS or [tool.jupyter-mlops]) sets
    `PRAGMA synchronous` (NORMAL = 1, FULL = 2) on each connection of the store, in WAL."""
    if where == "env":
        monkeypatch.setenv("MLOPS_SQLITE_SYNCHRONOUS", level)
    elif where == "pyproject":
        (project / "pyproject.toml").write_text(
            f'[tool.jupyter-mlops]\nsqlite-synchronous = "{level}"\n')
    store = get_store()
    with store.read() as reader, store.write() as writer:  # two connections at once
        assert reader.connection.dbapi_connection is not writer.connection.dbapi_connection
        for conn in (reader, writer):
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_bad_sqlite_synchronous_is_refused_before_the_store_opens(project, monkeypatch):
    monkeypatch.setenv("MLOPS_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(MLOpsUsageError, match="^sqlite_synchronous from MLOPS_SQLITE_SYNCHRONOUS "
                                              "must be one of normal, full, got 'off'$"):
        get_store()
    path = project / "direct.db"
    with pytest.raises(MLOpsUsageError, match="must be one of normal, full, got 'extra'"):
        Store(f"sqlite:///{path}", str(project / "art"), synchronous="extra")
    assert not path.exists() and not (project / ".mlops").exists()


# --------------------------------------------------------------------------- concurrency

def test_opening_a_new_store_waits_for_a_writer_of_its_file(tmp_path):
    """`PRAGMA journal_mode=WAL` fails at once, without SQLite's busy handler, while another
    connection holds the write lock of a file not yet in WAL (as when processes create a
    store at once: it failed 7 of 8 of them together in CI once); opening waits instead."""
    import sqlite3
    import threading

    path = tmp_path / "mlops.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, holder.execute, ["COMMIT"])
    release.start()
    try:
        store = Store(f"sqlite:///{path}", str(tmp_path / "art"))
    finally:
        release.join()
        holder.close()
    assert store.revision == schema.HEAD
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


_OPEN_AT_ONCE = r"""
import os, sys, time
go = sys.argv[1]
from jupyter_mlops.store import Store
upgrade = Store.upgrade
def traced(self):
    before, after = upgrade(self)
    print("upgraded-from", before, flush=True)
    return before, after
Store.upgrade = traced
import alembic.command, filelock, sqlalchemy  # import everything before the start line
import jupyter_mlops as m
from jupyter_mlops.tracking import fluent
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
with m.start_run():
    m.log_metric("x", 1)
print("ok", flush=True)
"""


@pytest.mark.slow
def test_many_processes_create_a_new_sqlite_store_at_once(project, mlops):
    go = project / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT_ONCE, str(go)], cwd=project,
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(8)]
    for p in procs:  # wait until every process has imported everything, then start them
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and out.splitlines()[-1] == "ok", (out, err)
    created = [line for out, _ in outs for line in out.splitlines()
               if line == "upgraded-from None"]
    assert len(created) == 1  # the schema was created by exactly one of them
    runs = mlops.search_runs()
    assert len(runs) == 8 and set(runs["status"]) == {"finished"}
    assert runs["metrics.x"].tolist() == [1.0] * 8
    with get_store().read() as conn:
        assert conn.execute(text("SELECT count(*) FROM mlops_alembic_version")).scalar() == 1


# --------------------------------------------------------------------------- change sequence


def test_every_write_advances_the_change_sequence(backend, mlops, tmp_path):
    store = get_store()
    seen = [store.last_change()]

    def advanced() -> bool:
        seen.append(store.last_change())
        return seen[-1] > seen[-2]

    run = mlops.start_run(name="seq")
    assert advanced()
    mlops.log_params({"a": 1})
    assert advanced()
    mlops.log_metric("m", 1.0)
    mlops.flush()
    assert advanced()
    mlops.set_tags({"t": "1"})
    assert advanced()
    mlops.log_artifact({"k": "v"}, name="d.json")
    assert advanced()
    (tmp_path / "f.txt").write_text("hello")
    mlops.log_artifact(tmp_path / "f.txt")
    assert advanced()
    mlops.end_run()
    assert advanced()
    from jupyter_mlops.tracking.manage import delete_run

    delete_run(run.id)
    assert advanced()

    from jupyter_mlops.store.tables import changes

    with store.read() as conn:
        rows = conn.execute(select(changes.c.seq, changes.c.kind, changes.c.key,
                                   changes.c.action, changes.c.at).order_by(changes.c.seq)).all()
    seqs = [r.seq for r in rows]
    assert seqs == sorted(set(seqs)) and seqs[-1] == seen[-1]
    assert [r.at for r in rows] == sorted(r.at for r in rows)  # one writer: in time order
    actions = [r.action for r in rows if r.kind == "run" and r.key == run.id]
    for action in ("started", "params", "logged", "tags", "artifacts", "finished", "archived"):
        assert action in actions
    assert actions.index("started") < actions.index("logged") < actions.index("finished")


# --------------------------------------------------------------------------- transactions


def _counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in sorted(TABLES)}


def test_bad_input_leaves_the_store_untouched(backend, mlops):
    store = get_store()
    with mlops.start_run(name="base") as run:
        mlops.log_params({"lr": 0.1, "model": "rf"})
    before, seq = _counts(store), store.last_change()

    # a run whose params hold one bad key: the run row, its experiment and its other params
    # are inserted in the same transaction, which rolls back as a whole
    with pytest.raises(MLOpsUsageError, match="param key"):
        mlops.start_run(name="half", experiment="never-made", params={"ok": 1, "": 2})
    assert mlops.active_run() is None
    assert _counts(store) == before and store.last_change() == seq

    with pytest.raises(MLOpsUsageError):
        mlops.start_run(name="bad-tags", tags={"fine": 1, "t" * 251: 2})
    assert mlops.active_run() is None
    assert _counts(store) == before and store.last_change() == seq
    assert mlops.search_runs()["run_id"].tolist() == [run.id]


def test_changing_a_param_is_refused_and_writes_nothing(backend, mlops):
    store = get_store()
    with mlops.start_run(name="r", params={"lr": 0.1}) as run:
        snapshot, seq = _counts(store), store.last_change()
        with pytest.raises(MLOpsUsageError, match="cannot change"):
            mlops.log_params({"brand_new": 1, "lr": 0.2})
        with pytest.raises(MLOpsUsageError, match="cannot change"):
            mlops.log_param("lr", "0.1")  # a string is not the number 0.1
        with pytest.raises(MLOpsUsageError):
            mlops.log_params({"a": 1, "": 2})
        with pytest.raises(MLOpsUsageError):
            mlops.set_tags({"t": "v", "y" * 251: "v"})
        with pytest.raises(MLOpsUsageError):
            mlops.log_metrics({"good": 1.0, "bad": "high"})
        with pytest.raises(MLOpsUsageError):
            mlops.log_metric("m", True)
        assert _counts(store) == snapshot and store.last_change() == seq
        from jupyter_mlops.tracking.writer import writer_for

        assert writer_for(store).pending() == 0  # nothing half-buffered either
        mlops.log_param("lr", 0.1)  # the same value again is fine
    got = mlops.get_run(run.id)
    assert got.params == {"lr": 0.1} and got.tags == {} and got.metrics == {}


# --------------------------------------------------------------------------- injection


def test_injection_attempts_are_data(backend, mlops):
    store = get_store()
    with mlops.start_run(name=EVIL, experiment=EVIL, params={EVIL: EVIL, "p": EVIL},
                         tags={"t": EVIL, EVIL: "k"}) as run:
        mlops.log_metric(EVIL, 1.5)
        mlops.log_artifact({"v": EVIL}, name="evil.json")
    with mlops.start_run(name="plain", experiment="other", params={"p": "x"}):
        pass

    with store.read() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
    got = mlops.get_run(run.id)
    assert got.name == EVIL and got.experiment == EVIL
    assert got.params == {EVIL: EVIL, "p": EVIL}
    assert got.tags == {"t": EVIL, EVIL: "k"} and got.metrics == {EVIL: 1.5}
    assert got.load_artifact("evil.json") == {"v": EVIL}

    quoted = "'" + EVIL.replace("'", "''") + "'"
    for flt in (f"name = {quoted}", f"params.p = {quoted}", f"params.`{EVIL}` = {quoted}",
                f"tags.t = {quoted}", "tags.t LIKE '%DROP TABLE%'", f"experiment = {quoted}",
                f"metrics.`{EVIL}` > 1"):
        assert mlops.search_runs(filter=flt)["run_id"].tolist() == [run.id], flt
    frame = mlops.search_runs(experiment=EVIL)
    assert frame["run_id"].tolist() == [run.id] and frame.loc[0, f"params.{EVIL}"] == EVIL

    for flt in ("status = 'finished'; DROP TABLE runs; --", f"name = {EVIL}",
                "name = 'x' or 1=1 --"):
        with pytest.raises(FilterSyntaxError):
            mlops.search_runs(filter=flt)
    with pytest.raises(MLOpsUsageError):
        mlops.search_runs(order_by=EVIL)
    with pytest.raises(MLOpsUsageError):
        mlops.search_runs(experiment=EVIL + "x")
    with store.read() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
    assert len(mlops.search_runs()) == 2


def test_unreachable_store_is_a_clear_store_error(project, monkeypatch):
    monkeypatch.setenv("MLOPS_STORE_URI", "postgresql://nobody:secret@127.0.0.1:9/none")
    _forget_stores()
    with pytest.raises(StoreError) as err:
        get_store()
    assert "secret" not in str(err.value) and "cannot open the store" in str(err.value)


def test_a_run_started_in_an_archived_experiment_is_not_hidden(backend, mlops):
    with mlops.start_run(experiment="e") as old:
        pass
    mlops.delete_experiment("e")
    assert mlops.search_runs().empty
    with mlops.start_run(experiment="e") as new:
        pass
    assert mlops.search_runs(experiment="e")["run_id"].tolist() == [new.id]
    assert mlops.list_experiments()["name"].tolist() == ["e"]
    assert set(mlops.search_runs(include_archived=True)["run_id"]) == {old.id, new.id}
