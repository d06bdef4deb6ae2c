#!/usr/bin/env python
"""Tracking benchmark: jupyter-mlops beside MLflow, side by side in one run.

    bash benchmarks/setup_peer.sh            # once: builds MLflow's own venv outside the repo
    python benchmarks/bench_tracking.py [--quick] [--postgres]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH); MLflow runs in its venv's Python, in subprocesses. Every
measurement runs in a fresh process with a fresh store; figures are medians over repetitions.
Prints a table and writes benchmarks/results/tracking-<date>.json. See benchmarks/README.md.

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

from _common import MARK, ROOT, peer_python
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

FULL = {
    "import_reps": 7, "reps": 5, "points": 100_000, "peer_sync_calls": 1_000,
    "peer_batch_rows": 20_000, "peer_async_calls": 1_000, "runs": 10_000, "peer_runs": 10_000,
    "peer_budget_s": 420.0, "search_reps": 5,
}
QUICK = {
    "import_reps": 3, "reps": 3, "points": 100_000, "peer_sync_calls": 200,
    "peer_batch_rows": 5_000, "peer_async_calls": 200, "runs": 1_000, "peer_runs": 300,
    "peer_budget_s": 60.0, "search_reps": 5,
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
def _ours_store_count(sql: str) -> int:
    from jupyter_mlops.store import get_store

    with get_store().read() as conn:
        return int(conn.exec_driver_sql(sql).scalar())


def task_metrics_ours(a: dict) -> dict:
    """`a["points"]` log_metric calls in one run; durable when end_run returns. Then the floor:
    the same rows written straight through the driver in one transaction."""
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
           "stored": stored, "points": n}
    now = time.time()
    rows = [(run.id, "loss", values[i], i, now + i * 1e-6) for i in range(n)]
    if a["backend"] == "sqlite":
        out["floor_s"] = _sqlite_floor(Path(a["dir"]) / "floor.db", rows, schema=False)
        out["floor_schema_s"] = _sqlite_floor(Path(a["dir"]) / "floor-s.db", rows, schema=True)
    else:
        out["floor_s"] = _pg_floor(a["uri"], rows, schema=False)
        out["floor_schema_s"] = _pg_floor(a["uri"], rows, schema=True)
    return out


def _sqlite_floor(path: Path, rows: list[tuple], schema: bool) -> float:
    """Rows/s of one executemany transaction. `schema`: with an indexed, foreign-keyed table of
    a row per point (the (run_id, key, step) index and the foreign key to runs, checked: it
    turns PRAGMA foreign_keys on), as jupyter-mlops stored points before schema 0002."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
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
    """Rows/s of one COPY transaction (psycopg 3's write_row, as jupyter-mlops's writer does);
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
    """MLflow: synchronous log_metric calls, log_batch of 1,000 points a call, and
    log_metric(synchronous=False) until flushed, all in one run."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(a["uri"])
    mlflow.set_experiment(EXPERIMENT)
    client = MlflowClient()
    out: dict = {}
    with mlflow.start_run(run_name="metrics") as run:
        run_id = run.info.run_id
        mlflow.log_metric("warmup", 0.0, step=0)
        n = a["sync_calls"]
        t0 = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", i * 1e-5, step=i)
        out["sync_s"] = time.perf_counter() - t0
        out["sync_calls"] = n

        n = a["batch_rows"]
        now = int(time.time() * 1000)
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            client.log_batch(run_id, metrics=[
                Metric("batched", i * 1e-5, now, i) for i in range(start, min(n, start + 1000))
            ])
        out["batch_s"] = time.perf_counter() - t0
        out["batch_rows"] = n

        n = a["async_calls"]
        t0 = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("async", i * 1e-5, step=i, synchronous=False)
        t1 = time.perf_counter()
        mlflow.flush_async_logging()
        out["async_calls_s"] = t1 - t0
        out["async_durable_s"] = time.perf_counter() - t0
        out["async_calls"] = n
    stored = {k: len(client.get_metric_history(run_id, k)) for k in ("loss", "batched", "async")}
    out["stored"] = stored
    return out


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
    import jupyter_mlops as mlops

    return _search(a, lambda: mlops.search_runs(experiment=EXPERIMENT, filter=SEARCH_FILTER))


def task_search_peer(a: dict) -> dict:
    import mlflow

    mlflow.set_tracking_uri(a["uri"])
    return _search(a, lambda: mlflow.search_runs(experiment_names=[EXPERIMENT],
                                                 filter_string=SEARCH_FILTER))


def _search(a: dict, search) -> dict:
    """The first search of a fresh process (cold: imports, store open), then a["reps"] more."""
    t0 = time.perf_counter()
    frame = search()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(a["reps"]):
        t0 = time.perf_counter()
        frame = search()
        times.append(time.perf_counter() - t0)
    return {"cold_s": cold, "times": times, "rows": len(frame), "columns": len(frame.columns)}


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
    out = {"python": platform.python_version()}
    if a["side"] == "peer":
        import mlflow
        import sqlalchemy

        out.update(mlflow=mlflow.__version__, sqlalchemy=sqlalchemy.__version__)
    else:
        import sqlalchemy

        import jupyter_mlops

        out.update(jupyter_mlops=jupyter_mlops.__version__, sqlalchemy=sqlalchemy.__version__,
                   path=str(Path(jupyter_mlops.__file__).parent))
    return out


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}




# -- the driver ----------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.ours_py = args.python or sys.executable
        self.peer_py = args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
        self.results: dict = {}
        self.errors: list[str] = []

    # environments: ours gets the working tree first on its path; MLflow gets nothing of ours
    def env_ours(self, folder: Path | None = None, store_uri: str | None = None) -> dict:
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
        return env

    def env_peer(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "PYTHONPATH"}
        # no network but pip: MLflow 3 would otherwise send usage telemetry
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        return env

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def worker(self, side: str, task: str, args: dict, env: dict, cwd: Path,
               timeout: float = 1800) -> dict:
        python = self.ours_py if side == "ours" else self.peer_py
        proc = subprocess.run(
            [python, str(Path(__file__).resolve()), "--worker", task, json.dumps(args)],
            env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
        if proc.returncode != 0 or not lines:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"{side} {task} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(lines[-1][len(MARK):])

    def attempt(self, what: str, fn, *fn_args):
        """Run one measurement; a failure is recorded and reported, not fatal."""
        try:
            return fn(*fn_args)
        except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON
            msg = f"{what}: {exc}"
            print(f"  !! {msg}", file=sys.stderr)
            self.errors.append(msg)
            return None

    def pg_db(self, db: str, upgrade: bool) -> str:
        self.worker("ours", "pg_reset", {"db": db}, self.env_ours(), self.work)
        uri = f"postgresql://postgres@127.0.0.1:5432/{db}"
        if upgrade:
            self.worker("ours", "pg_upgrade", {"uri": uri}, self.env_ours(), self.work)
        return uri

    def log(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t_start:6.0f}s] {text}", file=sys.stderr, flush=True)

    # 1. imports ---------------------------------------------------------------------------------
    def bench_imports(self) -> None:
        self.log("import times")
        (self.work / "ipython").mkdir(exist_ok=True)
        probe = (
            "import sys, json\n"
            f"mods = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
            "print(json.dumps({'step': t2 - t1, 'mods': mods, 'err': err}))\n"
        )
        codes = {
            "ipython": "import time\nimport IPython\nt1 = t2 = time.perf_counter(); err = None\n",
            "import": "import time\nimport IPython\nt1 = time.perf_counter(); err = None\n"
                      "import jupyter_mlops\nt2 = time.perf_counter()\n",
            "shell": "import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
                     "ip = InteractiveShell.instance()\nt1 = t2 = time.perf_counter(); err = None\n",
            "load_ext": "import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
                        "ip = InteractiveShell.instance()\nt1 = time.perf_counter(); err = None\n"
                        "try:\n    ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
                        "    assert 'jupyter_mlops' in ip.extension_manager.loaded\n"
                        "except BaseException as e:\n    err = f'{type(e).__name__}: {e}'\n"
                        "t2 = time.perf_counter()\n",
            "bare": "import time\nt1 = t2 = time.perf_counter(); err = None\n",
            "mlflow": "import time\nt1 = time.perf_counter(); err = None\nimport mlflow\n"
                      "t2 = time.perf_counter()\n",
        }
        sides = {"ipython": "ours", "import": "ours", "shell": "ours", "load_ext": "ours"}
        if self.peer_py:
            sides.update(bare="peer", mlflow="peer")
        samples: dict[str, dict[str, list]] = {k: {"wall": [], "step": []} for k in sides}
        last: dict[str, dict] = {}
        for rep in range(self.sizes["import_reps"] + 1):  # the first round warms caches
            for key, side in sides.items():
                python = self.ours_py if side == "ours" else self.peer_py
                env = self.env_ours() if side == "ours" else self.env_peer()
                t0 = time.perf_counter()
                proc = subprocess.run([python, "-c", codes[key] + probe], env=env, cwd=self.work,
                                      capture_output=True, text=True, timeout=300)
                wall = time.perf_counter() - t0
                if proc.returncode != 0:
                    raise RuntimeError(f"{key}: {proc.stderr.strip().splitlines()[-1:]}")
                last[key] = json.loads(proc.stdout.strip().splitlines()[-1])
                if rep:
                    samples[key]["wall"].append(wall)
                    samples[key]["step"].append(last[key]["step"])
        med = {k: {m: statistics.median(v) for m, v in s.items()} for k, s in samples.items()}
        out = {
            "reps": self.sizes["import_reps"],
            "samples": samples,
            "import_jupyter_mlops": {
                "in_process_s": med["import"]["step"],
                "wall_over_import_ipython_s": med["import"]["wall"] - med["ipython"]["wall"],
                "heavy_modules_loaded": last["import"]["mods"],
            },
            "load_ext": {
                "in_process_s": med["load_ext"]["step"],
                "wall_over_shell_s": med["load_ext"]["wall"] - med["shell"]["wall"],
                "wall_over_import_ipython_s": med["load_ext"]["wall"] - med["ipython"]["wall"],
                "heavy_modules_loaded": last["load_ext"]["mods"],
                "error": last["load_ext"]["err"],
            },
            "baseline_wall_s": {"import_ipython": med["ipython"]["wall"],
                                "ipython_shell": med["shell"]["wall"]},
        }
        if self.peer_py:
            out["import_mlflow"] = {
                "in_process_s": med["mlflow"]["step"],
                "wall_over_bare_python_s": med["mlflow"]["wall"] - med["bare"]["wall"],
                "heavy_modules_loaded": last["mlflow"]["mods"],
            }
        self.results["imports"] = out

    # 2. metric logging ------------------------------------------------------------------------------
    def bench_metrics(self, backend: str) -> None:
        self.log(f"[{backend}] log_metric: {self.sizes['reps']} repetitions")
        s = self.sizes
        ours, peer = [], []
        for rep in range(s["reps"]):
            folder = self.fresh(f"{backend}-metrics-{rep}")
            uri = self.pg_db(PG_OURS_DB, upgrade=True) if backend == "postgresql" else None
            r = self.attempt(f"{backend} jupyter-mlops log_metric", self.worker, "ours",
                             "metrics_ours", {"points": s["points"], "backend": backend,
                                              "dir": str(folder), "uri": uri},
                             self.env_ours(folder, uri), folder)
            if r:
                ours.append(r)
            if self.peer_py:
                peer_uri = self.peer_uri(backend, folder)
                r = self.attempt(f"{backend} MLflow log_metric", self.worker, "peer",
                                 "metrics_peer", {"uri": peer_uri,
                                                  "sync_calls": s["peer_sync_calls"],
                                                  "batch_rows": s["peer_batch_rows"],
                                                  "async_calls": s["peer_async_calls"]},
                                 self.env_peer(), folder)
                if r:
                    peer.append(r)
        sec = self.results.setdefault(backend, {})
        sec["metrics_ours"] = ours
        sec["metrics_peer"] = peer

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
def summarize(res: dict) -> dict:
    """Medians and ratios: what the table prints, kept in the JSON too."""
    out: dict = {}
    imp = res.get("imports")
    if imp:
        out["import_ms"] = {
            "jupyter_mlops_in_process": imp["import_jupyter_mlops"]["in_process_s"] * 1e3,
            "jupyter_mlops_wall_over_ipython":
                imp["import_jupyter_mlops"]["wall_over_import_ipython_s"] * 1e3,
            "load_ext_in_process": imp["load_ext"]["in_process_s"] * 1e3,
            "load_ext_wall_over_shell": imp["load_ext"]["wall_over_shell_s"] * 1e3,
            "load_ext_error": imp["load_ext"]["error"],
            "heavy_after_import": imp["import_jupyter_mlops"]["heavy_modules_loaded"],
            "heavy_after_load_ext": imp["load_ext"]["heavy_modules_loaded"],
        }
        if "import_mlflow" in imp:
            out["import_ms"].update(
                mlflow_in_process=imp["import_mlflow"]["in_process_s"] * 1e3,
                mlflow_wall_over_python=imp["import_mlflow"]["wall_over_bare_python_s"] * 1e3,
                heavy_after_import_mlflow=imp["import_mlflow"]["heavy_modules_loaded"],
            )
    for backend in ("sqlite", "postgresql"):
        sec = res.get(backend)
        if not sec:
            continue
        s: dict = {}
        ours = sec.get("metrics_ours") or []
        if ours:
            n = ours[0]["points"]
            s["ours_calls_per_s"] = _med([n / r["calls_s"] for r in ours])
            s["ours_durable_per_s"] = _med([n / r["durable_s"] for r in ours])
            s["ours_flush_after_calls_s"] = _med([r["flush_after_calls_s"] for r in ours])
            s["floor_per_s"] = _med([n / r["floor_s"] for r in ours])
            s["floor_schema_per_s"] = _med([n / r["floor_schema_s"] for r in ours])
            s["ours_durable_over_floor"] = s["ours_durable_per_s"] / s["floor_per_s"]
            s["ours_points_stored_ok"] = all(r["stored"] == r["points"] for r in ours)
            s["metric_reps"] = len(ours)
        peer = sec.get("metrics_peer") or []
        if peer:
            sync = [r["sync_calls"] / r["sync_s"] for r in peer]
            s["peer_sync_per_s"] = _med(sync)
            s["peer_sync_range"] = [min(sync), max(sync)]
            s["peer_batch_per_s"] = _med([r["batch_rows"] / r["batch_s"] for r in peer])
            s["peer_async_calls_per_s"] = _med([r["async_calls"] / r["async_calls_s"]
                                                for r in peer])
            s["peer_async_durable_per_s"] = _med([r["async_calls"] / r["async_durable_s"]
                                                  for r in peer])
            s["peer_points_stored_ok"] = all(
                r["stored"] == {"loss": r["sync_calls"], "batched": r["batch_rows"],
                                "async": r["async_calls"]} for r in peer)
            s["peer_sync_calls"] = peer[0]["sync_calls"]
            s["peer_batch_rows"] = peer[0]["batch_rows"]
            s["peer_async_calls"] = peer[0]["async_calls"]
            s["peer_metric_reps"] = len(peer)
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
                s[f"{side}_search_rows"] = search["rows"]
                if runs:
                    s[f"{side}_search_expected_rows"] = expected_hits(runs["runs"])
        out[backend] = s
    return out


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}/s"
def render(res: dict) -> str:
    summ = res["summary"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, ours: str = "", peer: str = "", ratio: str = "", note: str = "") -> None:
        rows.append((what, ours, peer, ratio, note))

    imp = summ.get("import_ms")
    if imp:
        add(f"1. IMPORT (median of {res['imports']['reps']} fresh processes)")
        heavy = ", ".join(imp["heavy_after_import"]) or "none"
        add("  import, in process (ours after import IPython)",
            f"{imp['jupyter_mlops_in_process']:.1f} ms",
            f"{imp['mlflow_in_process']:.0f} ms" if "mlflow_in_process" in imp else "—",
            _ratio(imp.get("mlflow_in_process"), imp["jupyter_mlops_in_process"]),
            f"heavy modules loaded: {heavy}")
        add("  import, process wall time on top of baseline",
            f"{imp['jupyter_mlops_wall_over_ipython']:.1f} ms",
            f"{imp['mlflow_wall_over_python']:.0f} ms" if "mlflow_wall_over_python" in imp
            else "—",
            "", "ours vs `import IPython`; MLflow vs bare python")
        if imp["load_ext_error"]:
            add("  %load_ext jupyter_mlops", "FAILED", "", "", imp["load_ext_error"][:70])
        else:
            heavy = ", ".join(imp["heavy_after_load_ext"]) or "none"
            add("  %load_ext jupyter_mlops, in process", f"{imp['load_ext_in_process']:.1f} ms",
                "", "", f"heavy modules loaded: {heavy}")
            add("  %load_ext, wall on top of InteractiveShell()",
                f"{imp['load_ext_wall_over_shell']:.1f} ms")
    for backend in ("sqlite", "postgresql"):
        s = summ.get(backend)
        if not s:
            continue
        add("")
        add(f"{backend.upper()}")
        if "ours_calls_per_s" in s:
            n = res["meta"]["sizes"]["points"]
            add(f"2. log_metric: {n:,} calls in one run (median of {s['metric_reps']})")
            peer_calls = s.get("peer_sync_calls")
            add("  log_metric calls/s", _rate(s["ours_calls_per_s"]),
                _rate(s.get("peer_sync_per_s")), _ratio(s["ours_calls_per_s"],
                                                        s.get("peer_sync_per_s")),
                "target ≥300,000/s " + _check(s["ours_calls_per_s"] >= 300_000)
                + (f"; MLflow: {peer_calls:,} synchronous calls, "
                   f"{s['peer_sync_range'][0]:,.0f}–{s['peer_sync_range'][1]:,.0f}/s"
                   if peer_calls else ""))
            add("  durable rows/s (first call → end_run returned)",
                _rate(s["ours_durable_per_s"]), _rate(s.get("peer_sync_per_s")),
                _ratio(s["ours_durable_per_s"], s.get("peer_sync_per_s")),
                f"flush after the last call: {_secs(s['ours_flush_after_calls_s'])}"
                + ("" if s["ours_points_stored_ok"] else "; ROW COUNT MISMATCH"))
            floor_what = "sqlite3 executemany" if backend == "sqlite" else "psycopg COPY"
            add(f"  raw floor: {floor_what}, one transaction", _rate(s["floor_per_s"]), "", "",
                f"ours durable / floor = {s['ours_durable_over_floor']:.2f} (target ≥0.50 "
                + _check(s["ours_durable_over_floor"] >= 0.5) + ")")
            add("  raw floor, row per point + index and FK", _rate(s["floor_schema_per_s"]), "", "",
                f"ours durable / this floor = "
                f"{s['ours_durable_per_s'] / s['floor_schema_per_s']:.2f}")
        if "peer_batch_per_s" in s:
            add("  MLflow log_batch (1,000 points a call) rows/s", "",
                _rate(s["peer_batch_per_s"]),
                _ratio(s.get("ours_durable_per_s"), s["peer_batch_per_s"]),
                f"{s['peer_batch_rows']:,} rows; ratio: our durable rate vs this")
            add("  MLflow log_metric(synchronous=False) calls/s", "",
                _rate(s["peer_async_calls_per_s"]),
                _ratio(s.get("ours_calls_per_s"), s["peer_async_calls_per_s"]),
                f"{s['peer_async_calls']:,} calls")
            add("  MLflow async: durable (after flush_async_logging) rows/s", "",
                _rate(s["peer_async_durable_per_s"]),
                _ratio(s.get("ours_durable_per_s"), s["peer_async_durable_per_s"]),
                "" if s["peer_points_stored_ok"] else "ROW COUNT MISMATCH")
        if "ours_runs_per_s" in s or "peer_runs_per_s" in s:
            n_ours, n_peer = s.get("ours_runs"), s.get("peer_runs")
            add("3. runs: start_run, 20 params, 10 metrics, end_run")
            add("  runs/s (whole fill)", _rate(s.get("ours_runs_per_s")),
                _rate(s.get("peer_runs_per_s")),
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
            add("  search_runs, first in a fresh process", _secs(s.get("ours_search_cold_s")),
                _secs(s.get("peer_search_cold_s")),
                _ratio(s.get("peer_search_cold_s"), s.get("ours_search_cold_s")) if same else "")
            if n_peer and n_ours and n_peer < n_ours and s.get("peer_search_s"):
                scaled = s["peer_search_s"] * n_ours / n_peer
                add(f"  MLflow search scaled to {n_ours:,} runs (linear, estimate)", "",
                    _secs(scaled), _ratio(scaled, s.get("ours_search_s")),
                    f"MLflow searched {n_peer:,} runs only")
    lines = _table(_HEADER, rows)
    meta = res["meta"]
    head = (f"tracking benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{meta['ours'].get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) vs MLflow "
            f"{meta.get('peer', {}).get('mlflow', '— (skipped)')}; "
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
    results = Bench(args).run()
    print(render(results))
    out = Path(args.out) if args.out else HERE / "results" / (
        f"tracking-{datetime.date.today().isoformat()}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
