#!/usr/bin/env python
"""Tracking benchmark: jupyter-mlops beside MLflow, like for like, side by side in one run.

    bash benchmarks/setup_peer.sh            # once: builds MLflow's own venv outside the repo
    python benchmarks/bench_tracking.py [--quick] [--postgres]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH); MLflow runs in its venv's Python, in subprocesses. Every
measurement runs in a fresh process with a fresh store; figures are medians over repetitions.
1. import (bare and after `import IPython`, both tools) and first use in a fresh process (the
first log_metric into a new store, the first search_runs); 2. metric logging, the same points
on both sides, MLflow by each of its ways in, at each side's durability (read from the store's
connection) and ours also at MLflow's; 3. runs and search. Prints a table and writes
benchmarks/results/tracking-<date>.json and .txt. See benchmarks/README.md.

The same file is the worker the driver starts: `bench_tracking.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, peer_python, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import ratio as _ratio
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_OURS_DB = "mlops_bench"
PG_PEER_DB = "mlflow_bench"
HEAVY_MODULES = ("pandas", "sqlalchemy", "plotly", "numpy", "pyarrow", "alembic")
EXPERIMENT = "bench"
# ~1/7 of runs have p0 = 'v3' and about half of those m0 > 0.5: the filter selects ~7%
SEARCH_FILTER = "params.p0 = 'v3' and metrics.m0 > 0.5"
WAYS = {"sync": "log_metric (synchronous)", "batch": "log_batch, 1,000 a call",
        "async": "log_metric(synchronous=False)",
        "async_buffered": "log_metric(synchronous=False), buffered 1 s"}
# MLflow's async queue writes each call as its own transaction unless it is told to gather the
# calls of some seconds first (then up to 1,000 items a log_batch). Whole seconds only (its
# logging thread dies on "0.5" and the flush then never returns): 1, the nearest to ours's
# 0.5 s flush interval
BUFFERED = {"MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": "1"}

# points: logged by ours and by MLflow's log_batch and buffered async ways alike. MLflow's
# synchronous log_metric and its unbuffered async queue write a transaction per point (a few
# hundred a second, whatever the count): they get peer_sync_calls and peer_async_points, the
# latter peer_async_reps times.
FULL = {
    "import_reps": 7, "reps": 5, "points": 100_000, "peer_sync_calls": 1_000,
    "peer_async_points": 10_000, "peer_async_reps": 1, "runs": 10_000, "peer_runs": 10_000,
    "peer_budget_s": 420.0, "search_reps": 5, "first_use_runs": 1_000, "first_use_reps": 7,
}
QUICK = {
    "import_reps": 3, "reps": 2, "points": 5_000, "peer_sync_calls": 200,
    "peer_async_points": 500, "peer_async_reps": 1, "runs": 1_000, "peer_runs": 300,
    "peer_budget_s": 60.0, "search_reps": 5, "first_use_runs": 200, "first_use_reps": 2,
}


# -- the data both sides log -------------------------------------------------------------------
def run_values(i: int) -> tuple[dict, dict]:
    """Params (20, mixed types) and metrics (10) of run number `i`, the same on both sides."""
    rng = random.Random(i)
    params: dict = {"p0": f"v{i % 7}"}
    for j in range(1, 20):
        if j % 3 == 0:
            params[f"p{j}"] = rng.randrange(1000)
        elif j % 3 == 1:
            params[f"p{j}"] = round(rng.random(), 4)
        else:
            params[f"p{j}"] = f"s{rng.randrange(50)}"
    metrics = {f"m{j}": rng.random() for j in range(10)}
    return params, metrics


def expected_hits(n: int) -> int:
    """How many of runs 0..n-1 SEARCH_FILTER selects."""
    return sum(1 for i in range(n) if i % 7 == 3 and run_values(i)[1]["m0"] > 0.5)


# -- worker tasks (run in subprocesses; each imports what it measures) ----------------------------
def _durability(conn) -> dict:
    """The durability in force on a store's connection (SQLAlchemy, either venv), as SQLite or
    the PostgreSQL server reports it."""
    if conn.dialect.name == "sqlite":
        level = int(conn.exec_driver_sql("PRAGMA synchronous").scalar())
        return {"journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]}
    return {"synchronous_commit": conn.exec_driver_sql("SHOW synchronous_commit").scalar(),
            "fsync": conn.exec_driver_sql("SHOW fsync").scalar()}


def _ours_durability() -> dict:
    from jupyter_mlops.store import get_store

    with get_store().read() as conn:
        return _durability(conn)


def _peer_durability() -> dict:
    from mlflow.tracking._tracking_service.utils import _get_store

    with _get_store().engine.connect() as conn:
        return _durability(conn)


def _ours_store_count(sql: str) -> int:
    from jupyter_mlops.store import get_store

    with get_store().read() as conn:
        return int(conn.exec_driver_sql(sql).scalar())


def _heavy() -> list[str]:
    return [m for m in HEAVY_MODULES if m in sys.modules]


def task_metrics_ours(a: dict) -> dict:
    """`a["points"]` log_metric calls in one run; durable when end_run returns. Then the floor:
    the same rows written straight through the driver in one transaction, at the same
    synchronous level on SQLite."""
    n = a["points"]
    values = [i * 1e-5 for i in range(n)]
    import jupyter_mlops as mlops

    run = mlops.start_run(name="metrics", experiment=EXPERIMENT)
    log_metric = mlops.log_metric
    t0 = time.perf_counter()
    for i in range(n):
        log_metric("loss", values[i], step=i)
    t1 = time.perf_counter()
    mlops.end_run()
    t2 = time.perf_counter()
    stored = _ours_store_count(
        f"SELECT coalesce(sum(count), 0) FROM metric_chunks WHERE run_id = '{run.id}'")
    out = {"calls_s": t1 - t0, "durable_s": t2 - t0, "flush_after_calls_s": t2 - t1,
           "stored": stored, "points": n, "durability": _ours_durability()}
    now = time.time()
    rows = [(run.id, "loss", values[i], i, now + i * 1e-6) for i in range(n)]
    if a["backend"] == "sqlite":
        level = a.get("synchronous") or "normal"
        out["floor_s"] = _sqlite_floor(Path(a["dir"]) / "floor.db", rows, False, level)
        out["floor_schema_s"] = _sqlite_floor(Path(a["dir"]) / "floor-s.db", rows, True, level)
    else:
        out["floor_s"] = _pg_floor(a["uri"], rows, schema=False)
        out["floor_schema_s"] = _pg_floor(a["uri"], rows, schema=True)
    return out


def _sqlite_floor(path: Path, rows: list[tuple], schema: bool, synchronous: str) -> float:
    """Seconds of one executemany transaction into a WAL database at `synchronous`. `schema`:
    with an indexed, foreign-keyed table of a row per point (the (run_id, key, step) index and
    the foreign key to runs, checked: it turns PRAGMA foreign_keys on), as jupyter-mlops stored
    points before schema 0002."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    ref = ""
    if schema:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO runs (id) VALUES (?)", (rows[0][0],))
        ref = " REFERENCES runs (id) ON DELETE CASCADE"
    conn.execute(f"CREATE TABLE metrics (run_id VARCHAR(32) NOT NULL{ref}, "
                 "key VARCHAR(250) NOT NULL, value FLOAT, step BIGINT NOT NULL, "
                 "timestamp FLOAT NOT NULL)")
    if schema:
        conn.execute("CREATE INDEX ix_metrics_run_key_step ON metrics (run_id, key, step)")
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO metrics (run_id, key, value, step, timestamp) "
                     "VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    assert conn.execute("SELECT count(*) FROM metrics").fetchone()[0] == len(rows)
    conn.close()
    return elapsed


def _pg_floor(uri: str, rows: list[tuple], schema: bool) -> float:
    """Seconds of one COPY transaction (psycopg 3's write_row, as jupyter-mlops's writer does);
    `schema` as for SQLite."""
    import psycopg

    with psycopg.connect(uri) as conn:
        conn.execute("DROP TABLE IF EXISTS floor_metrics")
        conn.execute("DROP TABLE IF EXISTS floor_runs")
        ref = ""
        if schema:
            conn.execute("CREATE TABLE floor_runs (id varchar(32) PRIMARY KEY)")
            conn.execute("INSERT INTO floor_runs (id) VALUES (%s)", (rows[0][0],))
            ref = " REFERENCES floor_runs (id) ON DELETE CASCADE"
        conn.execute(f"CREATE TABLE floor_metrics (run_id varchar(32) NOT NULL{ref}, "
                     "key varchar(250) NOT NULL, value double precision, step bigint NOT NULL, "
                     "timestamp double precision NOT NULL)")
        if schema:
            conn.execute("CREATE INDEX ix_floor ON floor_metrics (run_id, key, step)")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
            "COPY floor_metrics (run_id, key, value, step, timestamp) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row(r)
        conn.commit()
        elapsed = time.perf_counter() - t0
        count = conn.execute("SELECT count(*) FROM floor_metrics").fetchone()[0]
        assert count == len(rows), count
        conn.execute("DROP TABLE floor_metrics")
        conn.execute("DROP TABLE IF EXISTS floor_runs")
        conn.commit()
    return elapsed


def task_metrics_peer(a: dict) -> dict:
    """MLflow, one way in per fresh process, `a["points"]` points of key "loss" in one run:
    `sync` (log_metric, each call its own transaction), `batch` (MlflowClient.log_batch with
    1,000 Metrics a call, its maximum), `async` (log_metric(synchronous=False), then
    flush_async_logging) or `async_buffered` (the same, the driver setting
    MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS). Timed as ours: the calls, and first call → end_run
    returned (durable); the rows counted afterwards."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(a["uri"])
    mlflow.set_experiment(EXPERIMENT)
    client = MlflowClient()
    n, way = a["points"], a["way"]
    values = [i * 1e-5 for i in range(n)]
    run_id = mlflow.start_run(run_name=f"metrics-{way}").info.run_id
    log_metric = mlflow.log_metric
    t0 = time.perf_counter()
    if way == "sync":
        for i in range(n):
            log_metric("loss", values[i], step=i)
    elif way == "batch":
        for start in range(0, n, 1000):
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric("loss", values[i], now, i)
                                              for i in range(start, min(n, start + 1000))])
    else:
        for i in range(n):
            log_metric("loss", values[i], step=i, synchronous=False)
    t1 = time.perf_counter()
    if way.startswith("async"):
        mlflow.flush_async_logging()
    t2 = time.perf_counter()
    mlflow.end_run()
    t3 = time.perf_counter()
    return {"way": way, "points": n, "calls_s": t1 - t0, "flush_s": t2 - t1, "durable_s": t3 - t0,
            "flush_after_calls_s": t3 - t1,
            "stored": len(client.get_metric_history(run_id, "loss")),
            "durability": _peer_durability(),
            "buffering_s": os.environ.get("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS")}


def task_runs_ours(a: dict) -> dict:
    import jupyter_mlops as mlops

    return _make_runs(a, mlops.start_run, mlops.log_params, mlops.log_metrics, mlops.end_run,
                      lambda i: {"name": f"run-{i}", "experiment": EXPERIMENT})


def task_runs_peer(a: dict) -> dict:
    import mlflow

    mlflow.set_tracking_uri(a["uri"])
    mlflow.set_experiment(EXPERIMENT)
    return _make_runs(a, mlflow.start_run, mlflow.log_params, mlflow.log_metrics, mlflow.end_run,
                      lambda i: {"run_name": f"run-{i}"})


def _make_runs(a: dict, start, log_params, log_metrics, end, start_kwargs) -> dict:
    """Create up to a["runs"] runs (start, 20 params, 10 metrics, end), stopping early when
    a["budget_s"] is spent. Times every chunk of 1,000 runs."""
    n, budget = a["runs"], a.get("budget_s")
    data = [run_values(i) for i in range(n)]
    chunks: list[float] = []
    t0 = chunk_t = time.perf_counter()
    done = 0
    for i in range(n):
        params, metrics = data[i]
        start(**start_kwargs(i))
        log_params(params)
        log_metrics(metrics)
        end()
        done += 1
        now = time.perf_counter()
        if done % 1000 == 0:
            chunks.append(now - chunk_t)
            chunk_t = now
        if budget is not None and now - t0 > budget:
            break
    return {"runs": done, "seconds": time.perf_counter() - t0, "chunk_seconds": chunks}


def task_search_ours(a: dict) -> dict:
    t0 = time.perf_counter()
    import jupyter_mlops as mlops

    import_s = time.perf_counter() - t0
    return _search(a, lambda: mlops.search_runs(experiment=EXPERIMENT, filter=SEARCH_FILTER),
                   import_s)


def task_search_peer(a: dict) -> dict:
    t0 = time.perf_counter()
    import mlflow

    import_s = time.perf_counter() - t0
    mlflow.set_tracking_uri(a["uri"])
    return _search(a, lambda: mlflow.search_runs(experiment_names=[EXPERIMENT],
                                                 filter_string=SEARCH_FILTER), import_s)


def _search(a: dict, search, import_s: float) -> dict:
    """The first search of a fresh process, its tool imported untimed before it (`import_s`,
    reported apart), then a["reps"] more."""
    t0 = time.perf_counter()
    frame = search()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(a["reps"]):
        t0 = time.perf_counter()
        frame = search()
        times.append(time.perf_counter() - t0)
    return {"import_s": import_s, "cold_s": cold, "times": times, "rows": len(frame),
            "columns": len(frame.columns)}


# first use in a fresh process that has imported IPython (as a kernel has): the import, then
# the statement a notebook user runs first, timed apart; the store comes from the environment
# on both sides (ours: the project folder; MLflow: MLFLOW_TRACKING_URI)
def _first_use(import_tool, statement) -> dict:
    import IPython  # noqa: F401

    t0 = time.perf_counter()
    tool = import_tool()
    t1 = time.perf_counter()
    heavy = _heavy()
    result = statement(tool)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "statement_s": t2 - t1, "total_s": t2 - t0,
            "heavy_after_import": heavy, "result": result}


def _import_ours():
    import jupyter_mlops

    return jupyter_mlops


def _import_mlflow():
    import mlflow

    return mlflow


def _first_log(tool) -> str:
    """start_run, one log_metric, end_run (durable when it returns), into a new store."""
    run = tool.start_run()
    tool.log_metric("loss", 0.5, step=0)
    tool.end_run()
    return run.info.run_id if tool.__name__ == "mlflow" else run.id


def task_first_log_ours(a: dict) -> dict:
    out = _first_use(_import_ours, _first_log)
    out["stored"] = _ours_store_count("SELECT coalesce(sum(count), 0) FROM metric_chunks "
                                      f"WHERE run_id = '{out.pop('result')}'")
    return out | {"durability": _ours_durability()}


def task_first_log_peer(a: dict) -> dict:
    out = _first_use(_import_mlflow, _first_log)
    from mlflow import MlflowClient

    out["stored"] = len(MlflowClient().get_metric_history(out.pop("result"), "loss"))
    return out | {"durability": _peer_durability()}


def _first_search(tool) -> int:
    if tool.__name__ == "jupyter_mlops":
        return len(tool.search_runs(experiment=EXPERIMENT, filter=SEARCH_FILTER))
    return len(tool.search_runs(experiment_names=[EXPERIMENT], filter_string=SEARCH_FILTER))


def task_first_search_ours(a: dict) -> dict:
    out = _first_use(_import_ours, _first_search)
    return out | {"rows": out.pop("result")}


def task_first_search_peer(a: dict) -> dict:
    out = _first_use(_import_mlflow, _first_search)
    return out | {"rows": out.pop("result")}


def task_pg_reset(a: dict) -> dict:
    """Drop (and create) a scratch database (through psycopg, which jupyter-mlops depends on)."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{a["db"]}" WITH (FORCE)')
        if a.get("create", True):
            conn.execute(f'CREATE DATABASE "{a["db"]}"')
    return {}


def task_pg_upgrade(a: dict) -> dict:
    """Initialise a shared (PostgreSQL) store: they never upgrade on their own."""
    from jupyter_mlops.store import schema
    from jupyter_mlops.store.engine import create

    engine = create(a["uri"], 30)
    try:
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    return {"before": before, "after": after}


def task_versions(a: dict) -> dict:
    import sqlalchemy

    out = {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__}
    try:
        import IPython

        out["ipython"] = IPython.__version__
    except ImportError:
        out["ipython"] = None
    if a["side"] == "peer":
        import mlflow

        out.update(mlflow=mlflow.__version__)
    else:
        import jupyter_mlops

        out.update(jupyter_mlops=jupyter_mlops.__version__,
                   path=str(Path(jupyter_mlops.__file__).parent))
    return out


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver ----------------------------------------------------------------------------------
# import probes: each a whole process, `python -c` (the baselines and the import after each)
_PROBE = ("import sys, json\n"
          f"mods = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
          "print(json.dumps({'step': t2 - t1, 'mods': mods, 'err': err}))\n")
_CODES = {
    "bare": "import time\nt1 = t2 = time.perf_counter(); err = None\n",
    "ipython": "import time\nimport IPython\nt1 = t2 = time.perf_counter(); err = None\n",
    "import_bare": "import time\nt1 = time.perf_counter(); err = None\nimport {mod}\n"
                   "t2 = time.perf_counter()\n",
    "import_ipython": "import time\nimport IPython\nt1 = time.perf_counter(); err = None\n"
                      "import {mod}\nt2 = time.perf_counter()\n",
    "shell": "import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
             "ip = InteractiveShell.instance()\nt1 = t2 = time.perf_counter(); err = None\n",
    "load_ext": "import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
                "ip = InteractiveShell.instance()\nt1 = time.perf_counter(); err = None\n"
                "try:\n    ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
                "    assert 'jupyter_mlops' in ip.extension_manager.loaded\n"
                "except BaseException as e:\n    err = f'{type(e).__name__}: {e}'\n"
                "t2 = time.perf_counter()\n",
}


class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.ours_py = args.python or sys.executable
        self.peer_py = args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
        self.results: dict = {}
        self.errors: list[str] = []

    # environments: ours gets the working tree first on its path; MLflow gets nothing of ours
    def env_ours(self, folder: Path | None = None, store_uri: str | None = None,
                 synchronous: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        env["IPYTHONDIR"] = str(self.work / "ipython")
        if folder is not None:
            env["MLOPS_PROJECT_ROOT"] = str(folder)
            env["MLOPS_ARTIFACT_URI"] = str(folder / "artifacts")
        if store_uri is not None:
            env["MLOPS_STORE_URI"] = store_uri
        if synchronous is not None:
            env["MLOPS_SQLITE_SYNCHRONOUS"] = synchronous
        return env

    def env_peer(self, tracking_uri: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "PYTHONPATH"}
        # no network but pip: MLflow 3 would otherwise send usage telemetry
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
                   IPYTHONDIR=str(self.work / "ipython"))
        if tracking_uri is not None:
            env["MLFLOW_TRACKING_URI"] = tracking_uri
        return env

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def worker(self, side: str, task: str, args: dict, env: dict, cwd: Path,
               timeout: float = 3600) -> dict:
        python = self.ours_py if side == "ours" else self.peer_py
        return run_worker(python, Path(__file__).resolve(), task, args, env=env, cwd=cwd,
                          timeout=timeout, label=f"{side} ")

    def pg_db(self, db: str, upgrade: bool) -> str:
        self.worker("ours", "pg_reset", {"db": db}, self.env_ours(), self.work)
        uri = f"postgresql://postgres@127.0.0.1:5432/{db}"
        if upgrade:
            self.worker("ours", "pg_upgrade", {"uri": uri}, self.env_ours(), self.work)
        return uri

    def sides(self) -> list[str]:
        return ["ours", "peer"] if self.peer_py else ["ours"]

    # 1. imports and first use ------------------------------------------------------------------
    def bench_imports(self) -> None:
        """`import X` in a bare process and in one that imported IPython first, both tools;
        each process's wall beside that of the same baseline; %load_ext (ours)."""
        self.log("import times")
        (self.work / "ipython").mkdir(exist_ok=True)
        probes = [("ours", k) for k in ("bare", "ipython", "import_bare", "import_ipython",
                                        "shell", "load_ext")]
        if self.peer_py:
            probes += [("peer", k) for k in ("bare", "ipython", "import_bare", "import_ipython")]
        samples: dict = {f"{s}:{k}": {"wall": [], "step": []} for s, k in probes}
        last: dict = {}
        for rep in range(self.sizes["import_reps"] + 1):  # the first round warms caches
            for side, key in probes:
                python = self.ours_py if side == "ours" else self.peer_py
                env = self.env_ours() if side == "ours" else self.env_peer()
                code = _CODES[key].replace("{mod}", "jupyter_mlops" if side == "ours" else "mlflow")
                t0 = time.perf_counter()
                proc = subprocess.run([python, "-c", code + _PROBE], env=env, cwd=self.work,
                                      capture_output=True, text=True, timeout=300)
                wall = time.perf_counter() - t0
                if proc.returncode != 0:
                    raise RuntimeError(f"{side} {key}: {proc.stderr.strip().splitlines()[-1:]}")
                last[f"{side}:{key}"] = json.loads(proc.stdout.strip().splitlines()[-1])
                if rep:
                    samples[f"{side}:{key}"]["wall"].append(wall)
                    samples[f"{side}:{key}"]["step"].append(last[f"{side}:{key}"]["step"])
        med = {k: {m: statistics.median(v) for m, v in s.items()} for k, s in samples.items()}
        out: dict = {"reps": self.sizes["import_reps"], "samples": samples}
        for side in self.sides():
            out[side] = {
                state: {"in_process_s": med[f"{side}:import_{state}"]["step"],
                        "wall_over_baseline_s": med[f"{side}:import_{state}"]["wall"]
                        - med[f"{side}:{state}"]["wall"],
                        "baseline_wall_s": med[f"{side}:{state}"]["wall"],
                        "heavy_modules_loaded": last[f"{side}:import_{state}"]["mods"]}
                for state in ("bare", "ipython")}
        out["load_ext"] = {"in_process_s": med["ours:load_ext"]["step"],
                           "wall_over_shell_s": med["ours:load_ext"]["wall"]
                           - med["ours:shell"]["wall"],
                           "heavy_modules_loaded": last["ours:load_ext"]["mods"],
                           "error": last["ours:load_ext"]["err"]}
        self.results["imports"] = out

    def bench_first_use(self) -> None:
        """Fresh processes (IPython imported first): the first start_run + log_metric + end_run
        into a new SQLite store, and the first search_runs on a store of first_use_runs runs
        (made once, untimed, the same runs on both sides); the sides alternate."""
        s, out = self.sizes, {"runs": self.sizes["first_use_runs"]}
        n = s["first_use_runs"]
        self.log(f"first use: making the searched stores ({n:,} runs each)")
        stores: dict = {}
        folder = self.fresh("first-search-ours")
        self.worker("ours", "runs_ours", {"runs": n}, self.env_ours(folder), folder)
        stores["ours"] = (folder, self.env_ours(folder))
        if self.peer_py:
            folder = self.fresh("first-search-peer")
            uri = f"sqlite:///{folder / 'mlflow.db'}"
            self.worker("peer", "runs_peer", {"runs": n, "uri": uri}, self.env_peer(), folder)
            stores["peer"] = (folder, self.env_peer(uri))
        out["log"] = {side: [] for side in self.sides()}
        out["search"] = {side: [] for side in self.sides()}
        for rep in range(s["first_use_reps"]):
            self.log(f"first use {rep + 1}/{s['first_use_reps']}")
            for side in self.sides():
                folder = self.fresh(f"first-log-{side}-{rep}")
                env = (self.env_ours(folder) if side == "ours"
                       else self.env_peer(f"sqlite:///{folder / 'mlflow.db'}"))
                r = self.attempt(f"{side} first log_metric", self.worker, side,
                                 f"first_log_{side}", {}, env, folder)
                if r:
                    out["log"][side].append(r)
                folder, env = stores[side]
                r = self.attempt(f"{side} first search_runs", self.worker, side,
                                 f"first_search_{side}", {}, env, folder)
                if r:
                    out["search"][side].append(r)
        self.results["first_use"] = out

    # 2. metric logging ------------------------------------------------------------------------------
    def bench_metrics(self, backend: str) -> None:
        s = self.sizes
        self.log(f"[{backend}] metric logging: {s['reps']} repetitions")
        sec = self.results.setdefault(backend, {})
        ours, ours_full = sec.setdefault("metrics_ours", []), sec.setdefault("metrics_ours_full", [])
        peer = sec.setdefault("metrics_peer", [])
        # ours at its default; on SQLite also at MLflow's durability (PostgreSQL syncs every
        # commit whatever the setting)
        levels = [(None, ours)] + ([("full", ours_full)] if backend == "sqlite" else [])
        for rep in range(s["reps"]):
            for level, into in levels:
                folder = self.fresh(f"{backend}-metrics-{level or 'default'}-{rep}")
                uri = self.pg_db(PG_OURS_DB, upgrade=True) if backend == "postgresql" else None
                r = self.attempt(f"{backend} jupyter-mlops log_metric {level or ''}", self.worker,
                                 "ours", "metrics_ours",
                                 {"points": s["points"], "backend": backend, "dir": str(folder),
                                  "uri": uri, "synchronous": level},
                                 self.env_ours(folder, uri, level), folder)
                if r:
                    into.append(r | {"synchronous_setting": level or "normal"})
            if not self.peer_py:
                continue
            ways = ["sync", "batch", "async_buffered"] + (["async"] if rep < s["peer_async_reps"]
                                                          else [])
            for way in ways:
                folder = self.fresh(f"{backend}-metrics-peer-{way}-{rep}")
                n = {"sync": s["peer_sync_calls"], "async": s["peer_async_points"]}.get(
                    way, s["points"])
                r = self.attempt(f"{backend} MLflow {WAYS[way]}", self.worker, "peer",
                                 "metrics_peer", {"uri": self.peer_uri(backend, folder),
                                                  "way": way, "points": n},
                                 self.env_peer() | (BUFFERED if way == "async_buffered" else {}),
                                 folder, 1200)
                if r:
                    peer.append(r)

    def peer_uri(self, backend: str, folder: Path) -> str:
        if backend == "sqlite":
            return f"sqlite:///{folder / 'mlflow.db'}"
        self.worker("ours", "pg_reset", {"db": PG_PEER_DB}, self.env_ours(), self.work)
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; MLflow's driver is psycopg2
        return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{PG_PEER_DB}"

    # 3. runs and search -----------------------------------------------------------------------------
    def bench_runs(self, backend: str) -> None:
        s = self.sizes
        sec = self.results.setdefault(backend, {})
        folder = self.fresh(f"{backend}-runs-ours")
        uri = self.pg_db(PG_OURS_DB, upgrade=True) if backend == "postgresql" else None
        env = self.env_ours(folder, uri)
        self.log(f"[{backend}] jupyter-mlops: creating {s['runs']:,} runs")
        sec["runs_ours"] = self.attempt(f"{backend} jupyter-mlops runs", self.worker, "ours",
                                        "runs_ours", {"runs": s["runs"]}, env, folder)
        if sec["runs_ours"]:
            self.log(f"[{backend}] jupyter-mlops: search_runs")
            sec["search_ours"] = self.attempt(f"{backend} jupyter-mlops search", self.worker,
                                              "ours", "search_ours", {"reps": s["search_reps"]},
                                              env, folder)
        if not self.peer_py:
            return
        folder = self.fresh(f"{backend}-runs-peer")
        peer_uri = self.peer_uri(backend, folder)
        self.log(f"[{backend}] MLflow: creating up to {s['peer_runs']:,} runs "
                 f"(budget {s['peer_budget_s']:.0f} s)")
        sec["runs_peer"] = self.attempt(
            f"{backend} MLflow runs", self.worker, "peer", "runs_peer",
            {"runs": s["peer_runs"], "budget_s": s["peer_budget_s"], "uri": peer_uri},
            self.env_peer(), folder,
        )
        if sec["runs_peer"]:
            self.log(f"[{backend}] MLflow: search_runs")
            sec["search_peer"] = self.attempt(f"{backend} MLflow search", self.worker, "peer",
                                              "search_peer",
                                              {"reps": s["search_reps"], "uri": peer_uri},
                                              self.env_peer(), folder)

    # -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.t_start = time.perf_counter()
        backends = ["sqlite"] + (["postgresql"] if self.args.postgres else [])
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full",
            "sizes": self.sizes, "backends": backends, "filter": SEARCH_FILTER,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine()},
            "git": _git_describe(),
            "code_digest": _code_digest(),
            "ours": self.worker("ours", "versions", {"side": "ours"}, self.env_ours(), self.work),
        }
        if self.peer_py:
            meta["peer"] = self.worker("peer", "versions", {"side": "peer"}, self.env_peer(),
                                       self.work)
        self.results["meta"] = meta
        try:
            self.attempt("imports", self.bench_imports)
            self.attempt("first use", self.bench_first_use)
            for backend in backends:
                self.bench_metrics(backend)
                self.bench_runs(backend)
        finally:
            if self.args.postgres:
                for db in (PG_OURS_DB, PG_PEER_DB):
                    self.attempt("drop scratch db", self.worker, "ours", "pg_reset",
                                 {"db": db, "create": False}, self.env_ours(), self.work)
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: the figures mix "
                               "two versions of the code; run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


# -- summary and table ----------------------------------------------------------------------------
def _rates(runs: list[dict]) -> dict:
    """Medians of a list of metric-logging results (one way in, one side)."""
    if not runs:
        return {}
    n = runs[0]["points"]
    return {"points": n, "reps": len(runs), "durability": runs[0].get("durability"),
            "calls_per_s": _med([r["points"] / r["calls_s"] for r in runs]),
            "durable_per_s": _med([r["points"] / r["durable_s"] for r in runs]),
            "flush_after_calls_s": _med([r["flush_after_calls_s"] for r in runs]),
            "range_durable_per_s": [min(r["points"] / r["durable_s"] for r in runs),
                                    max(r["points"] / r["durable_s"] for r in runs)],
            "stored_ok": all(r["stored"] == r["points"] for r in runs)}


def _first_use_summary(runs: list[dict]) -> dict:
    if not runs:
        return {}
    out = {k: _med([r[k] for r in runs]) for k in ("import_s", "statement_s", "total_s")}
    out.update(reps=len(runs), heavy_after_import=runs[-1]["heavy_after_import"])
    if "stored" in runs[0]:
        out["stored_ok"] = all(r["stored"] == 1 for r in runs)
        out["durability"] = runs[0].get("durability")
    if "rows" in runs[0]:
        out["rows"] = runs[0]["rows"]
    return out


def summarize(res: dict) -> dict:
    """Medians and ratios: what the table prints, kept in the JSON too."""
    out: dict = {}
    imp = res.get("imports")
    if imp and "ours" in imp:  # (results files before 2026-12-06 measured imports otherwise)
        out["import"] = {side: imp[side] for side in ("ours", "peer") if side in imp}
        out["import"]["load_ext"] = imp["load_ext"]
    fu = res.get("first_use")
    if fu:
        out["first_use"] = {"runs": fu["runs"], "expected_rows": expected_hits(fu["runs"]),
                            **{what: {side: _first_use_summary(runs)
                                      for side, runs in fu[what].items()}
                               for what in ("log", "search")}}
    for backend in ("sqlite", "postgresql"):
        sec = res.get(backend)
        if not sec:
            continue
        s: dict = {"ours": _rates(sec.get("metrics_ours") or []),
                   "ours_full": _rates(sec.get("metrics_ours_full") or []),
                   "peer": {way: _rates([r for r in sec.get("metrics_peer") or []
                                         if r.get("way") == way]) for way in WAYS}}
        ours = sec.get("metrics_ours") or []
        if ours:
            n = ours[0]["points"]
            s["floor_per_s"] = _med([n / r["floor_s"] for r in ours])
            s["floor_schema_per_s"] = _med([n / r["floor_schema_s"] for r in ours])
        full = sec.get("metrics_ours_full") or []
        if full:
            n = full[0]["points"]
            s["floor_full_per_s"] = _med([n / r["floor_s"] for r in full])
        # the like-for-like pair: ours at MLflow's durability (SQLite: sqlite_synchronous=full;
        # PostgreSQL: every commit synced on both sides) against MLflow's fastest way in
        same = s["ours_full"] if backend == "sqlite" else s["ours"]
        peer = {w: r for w, r in s["peer"].items() if r}
        if peer and same:
            best_call = max(peer, key=lambda w: peer[w]["calls_per_s"])
            best_durable = max(peer, key=lambda w: peer[w]["durable_per_s"])
            s["like_for_like"] = {
                "ours_setting": "full" if backend == "sqlite" else "default",
                "calls_ratio": same["calls_per_s"] / peer[best_call]["calls_per_s"],
                "peer_fastest_call": best_call,
                "durable_ratio": same["durable_per_s"] / peer[best_durable]["durable_per_s"],
                "peer_fastest_durable": best_durable}
        for side in ("ours", "peer"):
            runs, search = sec.get(f"runs_{side}"), sec.get(f"search_{side}")
            if runs:
                s[f"{side}_runs"] = runs["runs"]
                s[f"{side}_runs_per_s"] = runs["runs"] / runs["seconds"]
                ch = runs["chunk_seconds"]
                if ch:
                    s[f"{side}_runs_per_s_first_1000"] = 1000 / ch[0]
                    s[f"{side}_runs_per_s_last_1000"] = 1000 / ch[-1]
            if search:
                s[f"{side}_search_s"] = _med(search["times"])
                s[f"{side}_search_cold_s"] = search["cold_s"]
                s[f"{side}_search_import_s"] = search.get("import_s")
                s[f"{side}_search_rows"] = search["rows"]
                if runs:
                    s[f"{side}_search_expected_rows"] = expected_hits(runs["runs"])
        out[backend] = s
    return out


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}/s"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1e3:,.1f} ms"


def _durable_text(d: dict | None) -> str:
    """What a durability reading means, in words."""
    if not d:
        return "?"
    if "journal_mode" in d:
        text = f"{d['journal_mode']} journal, synchronous={d['synchronous']}"
        if d["synchronous"] in ("FULL", "EXTRA"):
            return text + ": a commit survives a power loss"
        if d["journal_mode"] == "wal" and d["synchronous"] == "NORMAL":
            return text + ": a commit survives a process crash, may be lost on power loss"
        return text
    synced = d.get("synchronous_commit") == "on" and d.get("fsync") == "on"
    return (f"synchronous_commit={d.get('synchronous_commit')}, fsync={d.get('fsync')}"
            + (": every commit synced" if synced else ""))


def _import_rows(res: dict, add) -> None:
    summ = res["summary"]
    imp = summ.get("import")
    if imp:
        add(f"1. IMPORT (median of {res['imports']['reps']} fresh processes)")
        o, p = imp["ours"], imp.get("peer") or {}
        for state, label in (("ipython", "after `import IPython` (as in a kernel)"),
                             ("bare", "in a bare python")):
            po = (p.get(state) or {})
            add(f"  import, in process, {label}", f"{o[state]['in_process_s'] * 1e3:.1f} ms",
                _ms(po.get("in_process_s")), _ratio(po.get("in_process_s"),
                                                    o[state]["in_process_s"]),
                "heavy modules loaded: ours " + (", ".join(o[state]["heavy_modules_loaded"])
                                                 or "none")
                + (f"; MLflow {', '.join(po['heavy_modules_loaded']) or 'none'}" if po else ""))
            add(f"  process wall over the same process without it, {label}",
                f"{o[state]['wall_over_baseline_s'] * 1e3:.1f} ms",
                _ms(po.get("wall_over_baseline_s")), "",
                "noisy at the millisecond level: the in-process figure is the one to read")
        le = imp["load_ext"]
        if le["error"]:
            add("  %load_ext jupyter_mlops", "FAILED", "", "", le["error"][:70])
        else:
            add("  %load_ext jupyter_mlops, in process", f"{le['in_process_s'] * 1e3:.1f} ms",
                "", "", "heavy modules loaded: " + (", ".join(le["heavy_modules_loaded"])
                                                    or "none"))
            add("  %load_ext, wall on top of InteractiveShell()",
                f"{le['wall_over_shell_s'] * 1e3:.1f} ms")
    fu = summ.get("first_use")
    if not fu:
        return
    reps = max([len(v) for v in res["first_use"]["log"].values()] or [0])
    add(f"   FIRST USE in a fresh process that imported IPython (median of {reps})")
    for what, label, note in (
            ("log", "first start_run + log_metric + end_run, new store",
             "the store is made on first use on both sides; durable when end_run returns"),
            ("search", f"first search_runs, store of {fu['runs']:,} runs",
             f"{SEARCH_FILTER}")):
        o, p = fu[what].get("ours") or {}, fu[what].get("peer") or {}
        extra = ""
        if what == "log":
            ok = o.get("stored_ok", False) and p.get("stored_ok", True)
            extra = "" if ok else "; ROW COUNT MISMATCH"
        else:
            exp = fu["expected_rows"]
            extra = f"; rows: ours {o.get('rows')}, MLflow {p.get('rows', '—')} (expected {exp})"
        add(f"  {label}: import + statement (what a user waits for)", _secs(o.get("total_s")),
            _secs(p.get("total_s")), _ratio(p.get("total_s"), o.get("total_s")), note + extra)
        add("    the statement alone, the tool imported untimed before it",
            _secs(o.get("statement_s")), _secs(p.get("statement_s")),
            _ratio(p.get("statement_s"), o.get("statement_s")),
            f"import: ours {_secs(o.get('import_s'))}, MLflow {_secs(p.get('import_s'))}; heavy "
            f"modules after the import: ours {', '.join(o.get('heavy_after_import') or []) or 'none'}")


def _metric_rows(res: dict, backend: str, s: dict, add) -> None:
    o, full, peer = s["ours"], s["ours_full"], s["peer"]
    if not o:
        return
    n = o["points"]
    add(f"2. METRIC LOGGING: {n:,} points into one run, a fresh process and store each "
        f"(median of {o['reps']})")
    add("   durability read from each side's store connection:")
    add(f"     ours (default setting): {_durable_text(o['durability'])}")
    if full:
        add(f"     ours, sqlite_synchronous=full: {_durable_text(full['durability'])}")
    some_peer = next((r for r in peer.values() if r), None)
    if some_peer:
        add(f"     MLflow: {_durable_text(some_peer['durability'])}")
    same = full if backend == "sqlite" else o
    same_label = "ours at sqlite_synchronous=full" if backend == "sqlite" else "ours"

    def ok(*rs: dict) -> str:
        return "" if all(r.get("stored_ok") for r in rs) else "; ROW COUNT MISMATCH"

    def count(r: dict) -> str:
        return f"MLflow {r['points']:,} points, ×{r['reps']}"

    # call rates: ours's call against MLflow's calls that return before the point is stored,
    # and log_batch (per point: durable when it returns)
    target = "target ≥300,000/s " + _check(o["calls_per_s"] >= 300_000)
    for way in ("async_buffered", "async", "batch"):
        r = peer.get(way) or {}
        if r:
            add(f"  call rate: ours log_metric | MLflow {WAYS[way]}", _rate(o["calls_per_s"]),
                _rate(r["calls_per_s"]), _ratio(o["calls_per_s"], r["calls_per_s"]),
                (f"{target}; " if target else "") + count(r) + ("; log_batch rows/s, durable when it returns"
                                            if way == "batch" else
                                            "; both calls return before the point is stored"))
            target = ""
    if target:
        add("  call rate: ours log_metric", _rate(o["calls_per_s"]), "", "", target)
    # durable rates at the same durability, first call → end_run returned, rows counted after
    if same:
        for way in ("batch", "async_buffered", "async"):
            r = peer.get(way) or {}
            if r:
                add(f"  durable rows/s, same durability: {same_label} | MLflow {WAYS[way]}",
                    _rate(same["durable_per_s"]), _rate(r["durable_per_s"]),
                    _ratio(same["durable_per_s"], r["durable_per_s"]),
                    count(r) + (" (a transaction each: the rate does not depend on the count)"
                                 if way == "async" else "") + "; flush after the last call: ours "
                    + f"{_secs(same['flush_after_calls_s'])}, MLflow "
                    f"{_secs(r['flush_after_calls_s'])}" + ok(same, r))
        if not any(peer.values()):
            add(f"  durable rows/s: {same_label}", _rate(same["durable_per_s"]), "", "",
                f"flush after the last call {_secs(same['flush_after_calls_s'])}" + ok(same))
    sy = peer.get("sync") or {}
    if sy:
        add("  MLflow log_metric (synchronous): calls/s = durable rows/s", "",
            _rate(sy["durable_per_s"]), _ratio(same["durable_per_s"] if same else None,
                                               sy["durable_per_s"]),
            f"{sy['points']:,} calls (a transaction each: the rate does not depend on the "
            f"count), ×{sy['reps']}, {sy['range_durable_per_s'][0]:,.0f}–"
            f"{sy['range_durable_per_s'][1]:,.0f}/s; ratio: {same_label} durable" + ok(sy))
    if backend == "sqlite":
        b = peer.get("batch") or {}
        add("  durable rows/s, ours at its default (NORMAL) | MLflow log_batch",
            _rate(o["durable_per_s"]), _rate(b.get("durable_per_s")),
            _ratio(o["durable_per_s"], b.get("durable_per_s")),
            "NOT the same durability (ours: a process crash, MLflow: also a power loss); ours "
            f"flush after the last call {_secs(o['flush_after_calls_s'])}" + ok(o))
    ll = s.get("like_for_like")
    if ll:
        add(f"  like for like: {same_label} vs MLflow's fastest way in", "", "", "",
            f"calls {ll['calls_ratio']:,.0f}× MLflow's fastest ({WAYS[ll['peer_fastest_call']]}); "
            f"durable {ll['durable_ratio']:,.1f}× MLflow's fastest "
            f"({WAYS[ll['peer_fastest_durable']]})")
    floor_what = "sqlite3 executemany" if backend == "sqlite" else "psycopg COPY"
    over = o["durable_per_s"] / s["floor_per_s"]
    add(f"  raw floor: {floor_what}, one transaction", _rate(s["floor_per_s"]), "", "",
        f"ours (default) durable / floor = {over:.2f} (target ≥0.50 {_check(over >= 0.5)})")
    add("  raw floor, row per point + index and FK", _rate(s["floor_schema_per_s"]), "", "",
        f"ours durable / this floor = {o['durable_per_s'] / s['floor_schema_per_s']:.2f}")
    if full and s.get("floor_full_per_s"):
        add("  raw floor at synchronous=FULL, one transaction", _rate(s["floor_full_per_s"]), "",
            "", f"ours at full, durable / this floor = "
            f"{full['durable_per_s'] / s['floor_full_per_s']:.2f}")


def _runs_rows(res: dict, s: dict, add) -> None:
    if "ours_runs_per_s" not in s and "peer_runs_per_s" not in s:
        return
    n_ours, n_peer = s.get("ours_runs"), s.get("peer_runs")
    add("3. RUNS: start_run, 20 params, 10 metrics, end_run")
    add("  runs/s (whole fill)", _rate(s.get("ours_runs_per_s")), _rate(s.get("peer_runs_per_s")),
        _ratio(s.get("ours_runs_per_s"), s.get("peer_runs_per_s")),
        f"runs created: ours {n_ours or 0:,}, MLflow {n_peer or 0:,}")
    add("  runs/s, first / last 1,000",
        _pair(s.get("ours_runs_per_s_first_1000"), s.get("ours_runs_per_s_last_1000")),
        _pair(s.get("peer_runs_per_s_first_1000"), s.get("peer_runs_per_s_last_1000")))
    rows_note = []
    for side, label in (("ours", "ours"), ("peer", "MLflow")):
        if f"{side}_search_rows" in s:
            got, exp = s[f"{side}_search_rows"], s[f"{side}_search_expected_rows"]
            rows_note.append(f"{label} {got:,}" + ("" if got == exp else f" (≠{exp:,}!)"))
    reps = res["meta"]["sizes"]["search_reps"]
    same = n_ours == n_peer  # else the ratio is on the scaled estimate below
    add(f"  search_runs, median of {reps} (warm)", _secs(s.get("ours_search_s")),
        _secs(s.get("peer_search_s")),
        _ratio(s.get("peer_search_s"), s.get("ours_search_s")) if same else "",
        "target <0.3 s " + _check((s.get("ours_search_s") or 9) < 0.3)
        + "; rows: " + ", ".join(rows_note))
    add("  search_runs, first in the process (import untimed)", _secs(s.get("ours_search_cold_s")),
        _secs(s.get("peer_search_cold_s")),
        _ratio(s.get("peer_search_cold_s"), s.get("ours_search_cold_s")) if same else "",
        f"import before it: ours {_secs(s.get('ours_search_import_s'))}, MLflow "
        f"{_secs(s.get('peer_search_import_s'))}")
    if n_peer and n_ours and n_peer < n_ours and s.get("peer_search_s"):
        scaled = s["peer_search_s"] * n_ours / n_peer
        add(f"  MLflow search scaled to {n_ours:,} runs (linear, estimate)", "",
            _secs(scaled), _ratio(scaled, s.get("ours_search_s")),
            f"MLflow searched {n_peer:,} runs only")


def render(res: dict) -> str:
    summ = res["summary"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, ours: str = "", peer: str = "", ratio: str = "", note: str = "") -> None:
        rows.append((what, ours, peer, ratio, note))

    _import_rows(res, add)
    for backend in ("sqlite", "postgresql"):
        s = summ.get(backend)
        if not s:
            continue
        add("")
        add(f"{backend.upper()}")
        _metric_rows(res, backend, s, add)
        _runs_rows(res, s, add)
    lines = _table(_HEADER, rows)
    meta = res["meta"]
    head = (f"tracking benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{meta['ours'].get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) vs MLflow "
            f"{meta.get('peer', {}).get('mlflow', '— (skipped)')}; IPython "
            f"{meta['ours'].get('ipython')} / {meta.get('peer', {}).get('ipython', '—')}; "
            f"{meta['machine']['cpus']} CPUs; ratio = how many times jupyter-mlops is ahead")
    tail = [f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    return "\n".join([head, "", *lines, "", *tail])


_HEADER = ("figure", "jupyter-mlops", "MLflow", "ratio", "notes")


def _pair(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a:,.0f} / {b:,.0f}"


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--postgres", action="store_true",
                    help="also measure on PostgreSQL at 127.0.0.1:5432 (user postgres)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python", help="MLflow's Python (default: from setup_peer.sh)")
    ap.add_argument("--skip-mlflow", action="store_true", help="measure jupyter-mlops only")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/tracking-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of a results file, no run")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    if args.skip_mlflow:
        args.peer_python = None
    elif not args.peer_python:
        args.peer_python = peer_python("mlflow")
    save(Bench(args).run(), render, "tracking", args.quick, args.out)


if __name__ == "__main__":
    main()
