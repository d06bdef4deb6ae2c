#!/usr/bin/env python
"""MLflow benchmark: MLflow's own client writing through the `mlops` plugin against the same
client writing to MLflow's SQLite store, side by side in one run, like for like.

    python benchmarks/bench_mlflow.py [--quick] [--quiet-lock /tmp/quiet.lock] [--profile]

Both sides are MLflow 3's `MlflowClient` in a fresh process of jupyter-mlops's Python (the
working tree first on PYTHONPATH), mlflow imported before anything is timed; ours is
`mlops:///<scratch project>`, the peer `sqlite:///<scratch>/mlflow.db`. Same durability: ours
runs with MLOPS_SQLITE_SYNCHRONOUS=full (WAL, every commit synced), MLflow at SQLite's default
(rollback journal, synchronous FULL); each worker reads both PRAGMAs from its store's own
connection. Every call commits. 1. log_metric, N calls into one run; 2. log_batch of 1,000
points; 3. 1,000 runs (create_run + set_terminated); 4. search_runs over 10,000 runs (each
with 10 params, 10 metrics, 3 tags, built once per benchmark run through each client's
log_batch): four queries, the first page of 1,000 and every page; 5. import_mlflow of an
MLflow SQLite store of 10,000 runs x 10 metrics x 100 steps, built once with bulk SQL in
MLflow's schema and cached in ~/.cache/jupyter-mlops. Goal: log_batch and search at least 5x
faster through the plugin. Prints a table and writes benchmarks/results/mlflow-<date>.json and
.txt. See benchmarks/README.md.

The same file is the worker the driver starts: `bench_mlflow.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, loads, med, quiet_flock, run_worker, save, table
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import ratio as _ratio
from _common import secs as _secs

GOAL = 5.0  # log_batch and search at least this many times faster through the plugin
SIDES = ("ours", "mlflow")
EXPERIMENT = "bench"
CACHE = Path.home() / ".cache" / "jupyter-mlops"
BASE_MS = 1_767_225_600_000  # 2026-01-01: start times of the search runs, one second apart
# (name, filter, order_by): a metric filter ordered by a metric, a param equality, a tag LIKE,
# and no filter ordered by start time
QUERIES = [
    ("metric", "metrics.m0 > 0.5", ["metrics.m1 DESC"]),
    ("param", "params.p0 = 'v3'", []),
    ("tag", "tags.team LIKE 'vision%'", []),
    ("all", "", ["attributes.start_time DESC"]),
]
PAGE = 1000

FULL = {"reps": 5, "metric_calls": 1_000, "batch_calls": 10, "runs": 1_000, "runs_reps": 3,
        "search_runs": 10_000, "search_reps": 5, "search_procs": 2,
        "source": {"runs": 10_000, "metrics": 10, "steps": 100}, "import_reps": 1}
QUICK = {"reps": 2, "metric_calls": 200, "batch_calls": 5, "runs": 200, "runs_reps": 1,
         "search_runs": 500, "search_reps": 5, "search_procs": 1,
         "source": {"runs": 200, "metrics": 10, "steps": 100}, "import_reps": 1}


# -- the data -------------------------------------------------------------------------------------
def search_run(i: int) -> tuple[dict, dict, dict]:
    """Params (10), metrics (10) and tags (3) of search run `i`, the same on both sides: p0 is
    one of 7 values, team starts with "vision" for a quarter of the runs."""
    rng = random.Random(i)
    params = {"p0": f"v{rng.randrange(7)}"}
    for j in range(1, 10):
        params[f"p{j}"] = (str(rng.randrange(1000)) if j % 3 == 0 else
                           str(round(rng.random(), 4)) if j % 3 == 1 else f"s{rng.randrange(50)}")
    metrics = {f"m{j}": rng.random() for j in range(10)}
    tags = {"team": rng.choice(("vision", "nlp", "tabular", "speech")) + f"-{rng.randrange(3)}",
            "owner": f"user{rng.randrange(20)}", "stage": rng.choice(("dev", "prod"))}
    return params, metrics, tags


def expected_matches(n: int) -> dict[str, int]:
    """How many of search runs 0..n-1 each query selects."""
    data = [search_run(i) for i in range(n)]
    return {"metric": sum(m["m0"] > 0.5 for _, m, _ in data),
            "param": sum(p["p0"] == "v3" for p, _, _ in data),
            "tag": sum(t["team"].startswith("vision") for _, _, t in data), "all": n}


# -- worker tasks (each in a fresh process; mlflow imported before anything is timed) -------------
def _client(a: dict):
    """The side's MlflowClient, how long making it and the experiment took (a new store: MLflow
    creates its tables, ours its project), and the experiment's id."""
    from mlflow import MlflowClient

    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=a["uri"])
    found = client.get_experiment_by_name(EXPERIMENT)
    exp = found.experiment_id if found else client.create_experiment(EXPERIMENT)
    return client, exp, time.perf_counter() - t0


def _durability(client) -> dict:
    """journal_mode and synchronous as the side's own store connection reports them."""
    store = client._tracking_client.store
    engine = store.store.engine if hasattr(store, "store") else store.engine
    with engine.connect() as conn:
        level = int(conn.exec_driver_sql("PRAGMA synchronous").scalar())
        return {"store": type(store).__name__,
                "journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]}


def task_log_metric(a: dict) -> dict:
    """a["calls"] log_metric calls into one run, each timed; the first apart (cold)."""
    client, exp, open_s = _client(a)
    t0 = time.perf_counter()
    run_id = client.create_run(exp, run_name="metrics").info.run_id
    first_run_s = time.perf_counter() - t0
    stamp = int(time.time() * 1000)
    log_metric, clock = client.log_metric, time.perf_counter
    t0 = clock()
    log_metric(run_id, "loss", 1.0, timestamp=stamp, step=0)
    cold = clock() - t0
    times = []
    for i in range(1, a["calls"] + 1):
        t0 = clock()
        log_metric(run_id, "loss", i * 1e-3, timestamp=stamp + i, step=i)
        times.append(clock() - t0)
    stored = len(client.get_metric_history(run_id, "loss"))
    return {"open_s": open_s, "first_run_s": first_run_s, "cold_s": cold, "times": times,
            "stored": stored, "expected": a["calls"] + 1, "durability": _durability(client)}


def _batch(call: int, stamp: int) -> list:
    """1,000 points for log_batch call `call`: 10 metrics x 100 steps, new steps each call."""
    from mlflow.entities import Metric

    return [Metric(f"m{k}", (call * 100 + s) * 1e-3, stamp + call * 100 + s, call * 100 + s)
            for k in range(10) for s in range(100)]


def task_log_batch(a: dict) -> dict:
    """a["calls"] log_batch calls of 1,000 points into one run; the first apart (cold)."""
    client, exp, open_s = _client(a)
    run_id = client.create_run(exp, run_name="batch").info.run_id
    stamp = int(time.time() * 1000)
    batches = [_batch(c, stamp) for c in range(a["calls"] + 1)]
    times = []
    for metrics in batches:
        t0 = time.perf_counter()
        client.log_batch(run_id, metrics=metrics)
        times.append(time.perf_counter() - t0)
    stored = sum(len(client.get_metric_history(run_id, f"m{k}")) for k in range(10))
    return {"open_s": open_s, "cold_s": times[0], "times": times[1:], "points": 1000,
            "stored": stored, "expected": 1000 * len(batches), "durability": _durability(client)}


def task_runs(a: dict) -> dict:
    """a["runs"] runs, each create_run then set_terminated; the first apart (cold)."""
    client, exp, open_s = _client(a)
    t0 = time.perf_counter()
    client.set_terminated(client.create_run(exp, run_name="first").info.run_id)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(a["runs"]):
        client.set_terminated(client.create_run(exp, run_name=f"run-{i}").info.run_id)
    seconds = time.perf_counter() - t0
    return {"open_s": open_s, "cold_s": cold, "runs": a["runs"], "seconds": seconds,
            "durability": _durability(client)}


def task_build(a: dict) -> dict:
    """The search store: a["runs"] runs, each create_run (start time fixed, one second apart),
    one log_batch of its params, metrics and tags, and set_terminated."""
    from mlflow.entities import Metric, Param, RunTag

    client, exp, open_s = _client(a)
    n = a["runs"]
    data = [search_run(i) for i in range(n)]
    t0 = time.perf_counter()
    for i, (p, m, t) in enumerate(data):
        start = BASE_MS + i * 1000
        run_id = client.create_run(exp, start_time=start, run_name=f"run-{i:05d}").info.run_id
        client.log_batch(run_id, metrics=[Metric(k, v, start, 0) for k, v in m.items()],
                         params=[Param(k, v) for k, v in p.items()],
                         tags=[RunTag(k, v) for k, v in t.items()])
        client.set_terminated(run_id, end_time=start + 500)
        if (i + 1) % 1000 == 0:
            print(f"  {a['side']}: {i + 1:,} runs, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    return {"runs": n, "seconds": time.perf_counter() - t0, "open_s": open_s,
            "durability": _durability(client)}


def _names_digest(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def task_search(a: dict) -> dict:
    """Each query: its first page of 1,000 (the first call of the process apart, cold), then
    a["reps"] times each of the first page and of every page (MLflow's page tokens)."""
    client, exp, _ = _client(a)

    def page(filter_string, order_by, token=None):
        return client.search_runs([exp], filter_string, max_results=PAGE, order_by=order_by,
                                  page_token=token)

    def every(filter_string, order_by):
        found, token = [], None
        while True:
            got = page(filter_string, order_by, token)
            found += got
            token = got.token
            if not token:
                return found

    out = {"durability": _durability(client)}
    for name, filter_string, order_by in QUERIES:
        t0 = time.perf_counter()
        first = page(filter_string, order_by)
        cold = time.perf_counter() - t0
        firsts, alls = [], []
        for _ in range(a["reps"]):
            t0 = time.perf_counter()
            first = page(filter_string, order_by)
            firsts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = every(filter_string, order_by)
            alls.append(time.perf_counter() - t0)
        out[name] = {"cold_s": cold, "first_page": firsts, "all_pages": alls,
                     "first_rows": len(first), "matches": len(found),
                     "pages": -(-len(found) // PAGE),
                     "first_digest": _names_digest([r.info.run_name for r in first]),
                     "all_digest": _names_digest([r.info.run_name for r in found]),
                     "first_params_ok": all(len(r.data.params) == 10 and len(r.data.metrics) == 10
                                            for r in first)}
    return out


def task_source(a: dict) -> dict:
    """An MLflow SQLite store of a["runs"] runs x a["metrics"] metrics x a["steps"] steps at
    a["path"]: MLflow's SqlAlchemyStore makes the schema, then bulk INSERTs fill experiments,
    runs, tags, params, metrics and latest_metrics with the rows MLflow's client would write."""
    import sqlite3

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = Path(a["path"])
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    store = SqlAlchemyStore(f"sqlite:///{tmp}", str(path.parent / "bench-mlflow-artifacts"))
    store.engine.dispose()
    t0 = time.perf_counter()
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    exp_id, now = 1, BASE_MS
    conn.execute("INSERT INTO experiments (experiment_id, name, artifact_location, "
                 "lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
                 (exp_id, EXPERIMENT, f"{path.parent}/bench-mlflow-artifacts/1", "active", now,
                  now))
    rng = random.Random(0)
    for i in range(a["runs"]):
        run_id = f"{rng.getrandbits(128):032x}"
        start = now + i * 60_000
        conn.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', 'train.py', '', 'bench', "
            "'FINISHED', ?, ?, '', 'active', ?, ?)",
            (run_id, f"run-{i:05d}", start, start + 50_000,
             f"{path.parent}/bench-mlflow-artifacts/1/{run_id}/artifacts", exp_id))
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", [
            ("mlflow.runName", f"run-{i:05d}", run_id), ("mlflow.user", "bench", run_id),
            ("mlflow.source.name", "train.py", run_id), ("mlflow.source.type", "LOCAL", run_id),
            ("team", rng.choice(("vision", "nlp")), run_id)])
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                         [(f"p{j}", str(rng.randrange(1000)), run_id) for j in range(10)])
        points = [(f"m{k}", rng.random(), start + s * 100, run_id, s, 0)
                  for k in range(a["metrics"]) for s in range(a["steps"])]
        conn.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                         "VALUES (?, ?, ?, ?, ?, ?)", points)
        last = a["steps"] - 1
        conn.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                         "run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
                         [(k, v, ts, s, r) for k, v, ts, r, s, _ in points if s == last])
    conn.execute("COMMIT")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("runs", "metrics", "params", "tags", "latest_metrics")}
    conn.close()
    os.replace(tmp, path)
    return {"seconds": time.perf_counter() - t0, "counts": counts, "bytes": path.stat().st_size}


def task_import(a: dict) -> dict:
    """import_mlflow of the source into a fresh project; what it copied; the metric points now
    in the store; the durability of the store written."""
    import mlflow  # noqa: F401 - imported before the clock, as on every side

    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store

    t0 = time.perf_counter()
    summary = mlops.import_mlflow(a["source"])
    seconds = time.perf_counter() - t0
    store = get_store()
    with store.read() as conn:
        points = conn.exec_driver_sql("SELECT coalesce(sum(count), 0) FROM metric_chunks").scalar()
        n_runs = conn.exec_driver_sql("SELECT count(*) FROM runs").scalar()
        level = int(conn.exec_driver_sql("PRAGMA synchronous").scalar())
        durability = {"journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                      "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]}
    to_dict = getattr(summary, "to_dict", None)
    return {"seconds": seconds, "summary": to_dict() if to_dict else str(summary),
            "points": int(points), "runs": int(n_runs), "durability": durability}


def task_profile(a: dict) -> dict:
    """cProfile of one operation through the plugin (after a warm-up call): the top functions
    by own time, and those of jupyter_mlops/mlflow/ by cumulative time."""
    import cProfile
    import pstats

    from mlflow.entities import Metric  # noqa: F401 - warm the import

    client, exp, _ = _client(a)
    op = a["op"]
    if op == "log_batch":
        run_id = client.create_run(exp).info.run_id
        stamp = int(time.time() * 1000)
        batches = [_batch(c, stamp) for c in range(a["calls"] + 1)]
        client.log_batch(run_id, metrics=batches[0])

        def work():
            for metrics in batches[1:]:
                client.log_batch(run_id, metrics=metrics)
    elif op == "runs":
        client.set_terminated(client.create_run(exp).info.run_id)

        def work():
            for _ in range(a["calls"]):
                client.set_terminated(client.create_run(exp).info.run_id)
    elif op == "log_metric":
        run_id = client.create_run(exp).info.run_id
        client.log_metric(run_id, "loss", 0.0, step=0)

        def work():
            for i in range(1, a["calls"] + 1):
                client.log_metric(run_id, "loss", i * 1e-3, step=i)
    else:
        _, filter_string, order_by = next(q for q in QUERIES if q[0] == op)
        client.search_runs([exp], filter_string, max_results=PAGE, order_by=order_by)

        def work():
            for _ in range(a["calls"]):
                client.search_runs([exp], filter_string, max_results=PAGE, order_by=order_by)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(work)
    seconds = time.perf_counter() - t0
    stats = pstats.Stats(prof)

    def top(key: str, keep, n: int) -> list[dict]:
        rows = []
        for (file, line, fn), (_cc, calls, tt, ct, _) in stats.stats.items():
            if keep(file):
                rows.append({"where": f"{_short(file)}:{line}:{fn}", "calls": calls,
                             "tottime": round(tt, 4), "cumtime": round(ct, 4)})
        return sorted(rows, key=lambda r: -r[key])[:n]

    return {"op": op, "calls": a["calls"], "seconds": seconds,
            "by_tottime": top("tottime", lambda f: True, 15),
            "plugin_by_cumtime": top("cumtime", lambda f: "jupyter_mlops/mlflow/" in f, 12),
            "ours_by_cumtime": top("cumtime", lambda f: "jupyter_mlops/" in f, 20)}


def _short(file: str) -> str:
    for mark in ("site-packages/", "/jupyter_mlops/", "lib/python3"):
        if mark in file:
            head, _, tail = file.partition(mark)
            return (mark.strip("/") + "/" if mark == "/jupyter_mlops/" else "") + tail
    return file


def task_versions(a: dict) -> dict:
    import sqlite3

    import mlflow
    import sqlalchemy

    import jupyter_mlops

    return {"python": platform.python_version(), "mlflow": mlflow.__version__,
            "sqlalchemy": sqlalchemy.__version__, "sqlite": sqlite3.sqlite_version,
            "jupyter_mlops": jupyter_mlops.__version__,
            "import_mlflow": hasattr(jupyter_mlops, "import_mlflow")}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver -----------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.python = args.python or sys.executable
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-mlflow-"))
        self.errors: list[str] = []
        self.results: dict = {side: {"log_metric": [], "log_batch": [], "runs": [],
                                     "search": []} for side in SIDES}
        self.results["import"] = []
        self.serial = 0

    def uri(self, side: str, folder: Path) -> str:
        (folder / "project").mkdir(parents=True, exist_ok=True)
        return f"mlops://{folder / 'project'}" if side == "ours" else \
            f"sqlite:///{folder / 'mlflow.db'}"

    def env(self, project: Path | None = None) -> dict:
        """The working tree first on the path, MLOPS_* settings cleared but for the durability
        (and, for an import, the project written); bytecode written, as Python does by default
        (else the tree's modules would be compiled again in every cold process); MLflow's
        usage telemetry off (no network here), the import's progress bar off."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_SQLITE_SYNCHRONOUS"] = "full"
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", TQDM_DISABLE="1")
        env["PYTHONWARNINGS"] = "ignore"
        if project is not None:
            env["MLOPS_PROJECT_ROOT"] = str(project)
        return env

    def worker(self, task: str, args: dict, project: Path | None = None) -> dict:
        return run_worker(self.python, Path(__file__).resolve(), task, args,
                          env=self.env(project), cwd=self.work, timeout=7200,
                          label=f"{args.get('side', '')} ")

    def fresh(self, side: str) -> str:
        self.serial += 1
        return self.uri(side, self.work / f"{side}-{self.serial}")

    @staticmethod
    def order(rep: int) -> tuple[str, ...]:
        return SIDES if rep % 2 == 0 else SIDES[::-1]

    def each(self, what: str, reps: int, task: str, args: dict) -> None:
        for rep in range(reps):
            for side in self.order(rep):
                self.log(f"{what} {rep + 1}/{reps}: {side}")
                r = self.attempt(f"{side} {what}", self.worker, task,
                                 {**args, "side": side, "uri": self.fresh(side)})
                if r:
                    self.results[side][what].append(r)

    def bench_search(self) -> None:
        s = self.sizes
        uris = {side: self.uri(side, self.work / f"search-{side}") for side in SIDES}
        builds = {}
        for side in SIDES:
            self.log(f"search store: {s['search_runs']:,} runs through {side}")
            builds[side] = self.attempt(f"{side} build", self.worker, "build",
                                        {"side": side, "uri": uris[side],
                                         "runs": s["search_runs"]})
        self.results["build"] = builds
        for proc in range(s["search_procs"]):
            for side in self.order(proc):
                if not builds[side]:
                    continue
                self.log(f"search {proc + 1}/{s['search_procs']}: {side}")
                r = self.attempt(f"{side} search", self.worker, "search",
                                 {"side": side, "uri": uris[side], "reps": s["search_reps"]})
                if r:
                    self.results[side]["search"].append(r)
        self.search_uris = uris

    def source(self) -> Path:
        """The cached MLflow SQLite source of the import, built if absent."""
        spec = self.sizes["source"]
        key = hashlib.sha256(json.dumps({**spec, "generator": 1}, sort_keys=True).encode())
        path = CACHE / f"bench-mlflow-source-{key.hexdigest()[:12]}.db"
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            self.log(f"building the import source {path.name} ({spec})")
            self.results["source_build"] = self.worker("source", {**spec, "path": str(path)})
        return path

    def bench_import(self, source: Path) -> None:
        if not self.results["meta"]["versions"]["import_mlflow"]:
            self.errors.append("import: jupyter_mlops.import_mlflow is not in this tree yet "
                               "(pending the importer branch)")
            return
        for rep in range(self.sizes["import_reps"]):
            self.log(f"import {rep + 1}/{self.sizes['import_reps']}: {source.name}")
            project = self.work / f"import-{rep}"
            project.mkdir()
            r = self.attempt("import", self.worker, "import",
                             {"source": f"sqlite:///{source}"}, project)
            if r:
                self.results["import"].append(r)

    def profile(self) -> None:
        """cProfile of the plugin side of each operation, in fresh workers, after the figures."""
        s = self.sizes
        out = {}
        for op, calls in (("log_metric", 200), ("log_batch", 5), ("runs", 100)):
            out[op] = self.attempt(f"profile {op}", self.worker, "profile",
                                   {"side": "ours", "uri": self.fresh("ours"), "op": op,
                                    "calls": calls})
        uri = getattr(self, "search_uris", {}).get("ours")
        if uri:
            for name, _, _ in QUERIES:
                out[f"search {name}"] = self.attempt(
                    f"profile search {name}", self.worker, "profile",
                    {"side": "ours", "uri": uri, "op": name, "calls": s["search_reps"]})
        self.results["profile"] = out

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        s = self.sizes
        meta = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "mode": "quick" if self.args.quick else "full", "sizes": s,
                "queries": QUERIES, "page": PAGE,
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                "git": _git_describe(), "code_digest": _code_digest(),
                "versions": self.worker("versions", {}), "quiet_lock": self.args.quiet_lock}
        self.results["meta"] = meta
        self.results["expected"] = expected_matches(s["search_runs"])
        only = self.args.only
        try:
            source = self.source() if only in (None, "import") else None
            with quiet_flock(self.args.quiet_lock, self.log):
                meta["load_before"] = list(os.getloadavg())
                if only in (None, "write"):
                    self.each("log_metric", s["reps"], "log_metric", {"calls": s["metric_calls"]})
                    self.each("log_batch", s["reps"], "log_batch", {"calls": s["batch_calls"]})
                    self.each("runs", s["runs_reps"], "runs", {"runs": s["runs"]})
                if only in (None, "search"):
                    self.bench_search()
                if only in (None, "import"):
                    self.bench_import(source)
                meta["load_after"] = list(os.getloadavg())
            if self.args.profile:
                self.profile()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


# -- summary and table ----------------------------------------------------------------------------
def summarize(res: dict) -> dict:
    out: dict = {}
    for side in SIDES:
        sec = res[side]
        lm, lb, rn, se = sec["log_metric"], sec["log_batch"], sec["runs"], sec["search"]
        facts = [r["durability"] for r in lm + lb + rn + se]
        per_call = med([med(r["times"]) for r in lm])
        batch = med([med(r["times"]) for r in lb])
        row = {
            "log_metric_s": per_call, "log_metric_per_s": 1 / per_call if per_call else None,
            "log_metric_cold_s": med([r["cold_s"] for r in lm]),
            "log_metric_ok": all(r["stored"] == r["expected"] for r in lm),
            "log_batch_s": batch, "points_per_s": 1000 / batch if batch else None,
            "log_batch_cold_s": med([r["cold_s"] for r in lb]),
            "log_batch_ok": all(r["stored"] == r["expected"] for r in lb),
            "runs_per_s": med([r["runs"] / r["seconds"] for r in rn]),
            "first_run_s": med([r["cold_s"] for r in rn]),
            "open_s": med([r["open_s"] for r in lm + lb + rn]),
            "durability": sorted({json.dumps(f, sort_keys=True) for f in facts}),
            "search": {}}
        for name, _, _ in QUERIES:
            got = [r[name] for r in se if name in r]
            row["search"][name] = {
                "first_page_s": med([x for g in got for x in g["first_page"]]),
                "all_pages_s": med([x for g in got for x in g["all_pages"]]),
                "cold_s": med([g["cold_s"] for g in got]),
                "matches": got[0]["matches"] if got else None,
                "pages": got[0]["pages"] if got else None,
                "first_digest": got[0]["first_digest"] if got else None,
                "all_digest": got[0]["all_digest"] if got else None,
                "complete": all(g["first_params_ok"] for g in got)}
        build = (res.get("build") or {}).get(side)
        row["build_runs_per_s"] = build["runs"] / build["seconds"] if build else None
        row["build_s"] = build["seconds"] if build else None
        out[side] = row
    imp = res.get("import") or []
    out["import"] = {"seconds": med([r["seconds"] for r in imp]),
                     "runs_per_s": med([r["runs"] / r["seconds"] for r in imp]),
                     "points_per_s": med([r["points"] / r["seconds"] for r in imp]),
                     "runs": imp[0]["runs"] if imp else None,
                     "points": imp[0]["points"] if imp else None, "reps": len(imp)}
    return out


def render(res: dict) -> str:
    summ, meta = res["summary"], res["meta"]
    s, ours, peer = meta["sizes"], summ["ours"], summ["mlflow"]
    expected = res.get("expected", {})

    def rate(x: float | None, unit: str = "/s") -> str:
        return "—" if x is None else f"{x:,.0f}{unit}"

    def faster_t(a, b):  # times: peer / ours
        return _ratio(b, a)

    wrote = any(res[side][k] for side in SIDES for k in ("log_metric", "log_batch", "runs"))
    searched = any(res[side]["search"] for side in SIDES) or res.get("build")
    rows = [] if not wrote else [
        (f"log_metric, per call (median of {s['reps']}×{s['metric_calls']:,})",
         _secs(ours["log_metric_s"]), _secs(peer["log_metric_s"]),
         faster_t(ours["log_metric_s"], peer["log_metric_s"]),
         f"{rate(ours['log_metric_per_s'])} vs {rate(peer['log_metric_per_s'])} calls"
         + ("" if ours["log_metric_ok"] and peer["log_metric_ok"] else "  ✗ POINTS MISSING")),
        ("  first log_metric of the run (cold)", _secs(ours["log_metric_cold_s"]),
         _secs(peer["log_metric_cold_s"]), "", ""),
        (f"log_batch of 1,000 points (median of {s['reps']}×{s['batch_calls']})",
         _secs(ours["log_batch_s"]), _secs(peer["log_batch_s"]),
         faster_t(ours["log_batch_s"], peer["log_batch_s"]),
         f"{rate(ours['points_per_s'])} vs {rate(peer['points_per_s'])} points; goal ≥5× "
         + _check((peer["log_batch_s"] or 0) >= GOAL * (ours["log_batch_s"] or 1e9))
         + ("" if ours["log_batch_ok"] and peer["log_batch_ok"] else "  ✗ POINTS MISSING")),
        ("  first log_batch (cold)", _secs(ours["log_batch_cold_s"]),
         _secs(peer["log_batch_cold_s"]), "", ""),
        (f"runs/s, {s['runs']:,} × create_run + set_terminated (median of {s['runs_reps']})",
         rate(ours["runs_per_s"]), rate(peer["runs_per_s"]),
         _ratio(ours["runs_per_s"], peer["runs_per_s"]), ""),
        ("  first run of a process (cold)", _secs(ours["first_run_s"]),
         _secs(peer["first_run_s"]), "", ""),
        ("  a new store: client + create_experiment", _secs(ours["open_s"]),
         _secs(peer["open_s"]), "", "MLflow creates its tables, ours its project")]
    if searched:
        rows.append((
            f"search store build, {s['search_runs']:,} runs (create_run, log_batch, terminate)",
            rate(ours["build_runs_per_s"], " runs/s"), rate(peer["build_runs_per_s"], " runs/s"),
            _ratio(ours["build_runs_per_s"], peer["build_runs_per_s"]),
            f"{_secs(ours['build_s'])} vs {_secs(peer['build_s'])}, once"))
    for name, filter_string, order_by in QUERIES if searched else []:
        o, p = ours["search"][name], peer["search"][name]
        same_first = o["first_digest"] == p["first_digest"] and o["first_digest"]
        same_all = o["all_digest"] == p["all_digest"] and o["all_digest"]
        count_ok = o["matches"] == p["matches"] == expected.get(name)
        label = f"{filter_string or 'no filter'}" + (f" by {', '.join(order_by)}" if order_by
                                                      else "")
        rows.append((f"search: {label}, first page of {PAGE:,}", _secs(o["first_page_s"]),
                     _secs(p["first_page_s"]), faster_t(o["first_page_s"], p["first_page_s"]),
                     "goal ≥5× " + _check((p["first_page_s"] or 0) >= GOAL *
                                          (o["first_page_s"] or 1e9))
                     + ("; same runs, same order" if same_first else "; ✗ ORDER DIFFERS")
                     + ("" if o["complete"] else "; ✗ RUNS INCOMPLETE")))
        rows.append((f"  every page ({o['matches'] or 0:,} matches, {o['pages'] or 0} pages)",
                     _secs(o["all_pages_s"]), _secs(p["all_pages_s"]),
                     faster_t(o["all_pages_s"], p["all_pages_s"]),
                     "goal ≥5× " + _check((p["all_pages_s"] or 0) >= GOAL *
                                          (o["all_pages_s"] or 1e9))
                     + ("; same" if same_all else "; ✗ DIFFERS")
                     + ("" if count_ok else f"; ✗ COUNT (expected {expected.get(name)})")))
        rows.append(("  first search of a process (cold)", _secs(o["cold_s"]),
                     _secs(p["cold_s"]), "", ""))
    imp = summ["import"]
    src = s["source"]
    if imp["reps"]:
        rows.append((f"import_mlflow: {src['runs']:,} runs × {src['metrics']} metrics × "
                     f"{src['steps']} steps", rate(imp["runs_per_s"], " runs/s"), "", "",
                     f"{_secs(imp['seconds'])} total, {rate(imp['points_per_s'])} points; "
                     f"{imp['runs']:,} runs, {imp['points']:,} points in the store"
                     + ("" if imp["runs"] == src["runs"] and
                        imp["points"] == src["runs"] * src["metrics"] * src["steps"]
                        else "  ✗ INCOMPLETE")))
    v = meta["versions"]
    dur = {side: "; ".join(summ[side]["durability"]) for side in SIDES}
    dur["ours"] = dur["ours"] or "; ".join(sorted({json.dumps(r["durability"], sort_keys=True)
                                                   for r in res.get("import") or []}))
    head = [f"MLflow benchmark, {meta['mode']} mode, {meta['date']}: MLflow {v['mlflow']}'s "
            f"client into jupyter-mlops {v['jupyter_mlops']} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) through mlops:///… against "
            f"sqlite:///…, SQLite {v['sqlite']}, Python {v['python']}, "
            f"{meta['machine']['cpus']} CPUs; a fresh process per measurement",
            f"durability ours: {dur['ours']}",
            f"durability mlflow: {dur['mlflow']}",
            f"quiet lock {'held' if meta.get('quiet_lock') else 'not taken'}; load before "
            f"{loads(meta.get('load_before', []))}, after {loads(meta.get('load_after', []))}"]
    lines = table(("figure", "ours (mlops:)", "mlflow (sqlite:)", "ours faster", "notes"), rows)
    tail = [f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    if res.get("source_build"):
        b = res["source_build"]
        tail.append(f"import source built in {b['seconds']:.0f} s "
                    f"({b['bytes'] / 1e6:,.0f} MB, {b['counts']['metrics']:,} metric rows)")
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    tail += render_profile(res.get("profile"))
    return "\n".join([*head, "", *lines, "", *tail])


def render_profile(prof: dict | None) -> list[str]:
    if not prof:
        return []
    out = ["", "profiles (ours; cProfile, so slower than the figures above):"]
    for op, p in prof.items():
        if not p:
            continue
        out.append(f"  {op}: {p['calls']} calls in {p['seconds'] * 1e3:,.0f} ms; "
                   "own time, the top 6:")
        out += [f"    {r['tottime'] * 1e3:8.1f} ms  {r['calls']:>8,}  {r['where']}"
                for r in p["by_tottime"][:6]]
        out.append("   jupyter_mlops/mlflow/, cumulative, the top 4:")
        out += [f"    {r['cumtime'] * 1e3:8.1f} ms  {r['calls']:>8,}  {r['where']}"
                for r in p["plugin_by_cumtime"][:4]]
    return out


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        from _common import worker_main

        worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--python", help="jupyter-mlops's Python, with MLflow (default: this one)")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/mlflow-<date>.json)")
    ap.add_argument("--only", choices=("write", "search", "import"),
                    help="one part: log_metric, log_batch and runs; search_runs; import")
    ap.add_argument("--profile", action="store_true",
                    help="after the figures, cProfile each operation through the plugin")
    ap.add_argument("--quiet-lock", metavar="PATH",
                    help="hold an flock on this file while measuring (e.g. /tmp/quiet.lock)")
    ap.add_argument("--render", metavar="JSON", help="print the table of a results file, no run")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the lock and scratch cleaned up
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    save(Bench(args).run(), render, "mlflow", args.quick, args.out)


if __name__ == "__main__":
    main()
