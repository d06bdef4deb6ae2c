#!/usr/bin/env python
"""Feature-store benchmark: jupyter-mlops beside Feast 0.67 and raw DuckDB / redis-py floors.

    bash benchmarks/setup_peer.sh feast       # once: builds Feast's own venv outside the repo
    python benchmarks/bench_features.py [--quick]

Run it with jupyter-mlops's Python (the repo root goes first on PYTHONPATH) and Redis at
127.0.0.1:6379 (dbs 13 and 12, flushed before and after). Feast runs in its venv (local provider,
file offline store, Redis online store). On a seeded view of 100,000 customers × 10 times × 5
features (ttl 30 d) and a 1,000,000-row entity frame, in fresh processes: 1. materialization
into Redis; 2. the training set (point-in-time join; DuckDB floor): wall, peak RSS, rows kept,
values; 3. online lookups of 1 and 1,000 keys, p50/p99, with redis-py floors. Writes
benchmarks/results/features-<date>.json and .txt; see benchmarks/README.md.

The same file is the worker the driver starts: `bench_features.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    Driver,
    check,
    code_digest,
    git_describe,
    med,
    peer_python,
    ratio,
    run_worker,
    save,
    versions,
)
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
SEED = 20261202
VIEW, TTL_DAYS, DAYS, AFTER_DAYS, PROJECT = "customer_stats", 30, 60, 3, "bench_features"
FEATURES = [f"f{i}" for i in range(5)]
REFS = [f"{VIEW}:{f}" for f in FEATURES]
DB_OURS, DB_FEAST = 13, 12
# reps of ours and the floor (Feast: feast_reps); lookups: size → timed lookups per round
FULL = {"entities": 100_000, "stamps": 10, "entity_rows": 1_000_000, "reps": 3,
        "feast_reps": 2, "lookups": {1: 500, 1000: 100}, "rounds": 2}
QUICK = {"entities": 10_000, "stamps": 10, "entity_rows": 100_000, "reps": 1,
         "feast_reps": 1, "lookups": {1: 100, 1000: 20}, "rounds": 1}
WARM = 20  # untimed lookups of each size before the timed ones


# -- in the workers -------------------------------------------------------------------------
def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _redis(db: int) -> Any:
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=db)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    return fn(), time.perf_counter() - t0


def task_make_data(a: dict) -> dict:
    """features.parquet (customers × stamps rows, in time order), entities.parquet, and
    keys.json: the customers whose latest row is well inside the ttl (the lookups' keys)."""
    import numpy as np
    import pandas as pd

    n, k, m, end = a["entities"], a["stamps"], a["entity_rows"], a["end"]
    rng, span, folder = np.random.default_rng(SEED), DAYS * 86400, Path(a["data"])
    offs = np.sort(rng.integers(0, span, size=(n, k)), axis=1)
    for j in range(1, k):  # distinct times per customer
        offs[:, j] = np.maximum(offs[:, j], offs[:, j - 1] + 1)
    stamps = end - span + offs

    def utc(values: Any, unit: str) -> Any:
        return pd.to_datetime(values, unit=unit, utc=True).astype("datetime64[us, UTC]")

    feats = pd.DataFrame({"customer_id": np.repeat(np.arange(n, dtype="int64"), k),
                          "event_timestamp": utc(stamps.ravel(), "s"),
                          **{f: rng.normal(i, 1 + i, n * k) for i, f in enumerate(FEATURES)}})
    feats.sort_values("event_timestamp", kind="stable").to_parquet(
        folder / "features.parquet", index=False)
    us = rng.integers(0, (span + AFTER_DAYS * 86400) * 10**6, m) + (end - span) * 10**6
    ents = pd.DataFrame({"customer_id": rng.integers(0, int(n * 1.1), m, dtype="int64"),
                         "event_timestamp": utc(us, "us")})
    ents.to_parquet(folder / "entities.parquet", index=False)
    keys = np.flatnonzero(stamps[:, -1] >= end - (TTL_DAYS - 2) * 86400).tolist()
    (folder / "keys.json").write_text(json.dumps(keys))
    return {"feature_rows": len(feats), "entity_rows": m, "lookup_keys": len(keys),
            "entity_duplicates": int(ents.duplicated().sum()),
            "entities_without_features": int((ents.customer_id >= n).sum())}


def customer_stats():
    import os

    import pandas as pd

    return pd.read_parquet(os.environ["BENCH_FEATURES_PARQUET"])


LIBS = ("pandas", "numpy", "pyarrow", "redis", "duckdb", "sqlalchemy", "dask")


def _loaded() -> list[str]:
    """Which of the heavy libraries this process has imported so far."""
    return [m for m in LIBS if m in sys.modules]


def task_define_ours(a: dict) -> dict:
    """A fresh project: `define_view` only (it runs the function once to check its rows); the
    cold materializations run in copies of it."""
    from jupyter_mlops.features.views import define_view

    return {"define_s": _timed(lambda: define_view(
        VIEW, ["customer_id"], "event_timestamp", customer_stats,
        ttl=datetime.timedelta(days=TTL_DAYS)))[1]}


def task_materialize_ours(a: dict) -> dict:
    """Cold: a fresh process in a copy of the project where the view was defined (nothing
    materialized yet), Redis db flushed by the driver. Untimed first, as Feast's import and
    FeatureStore(): `import jupyter_mlops`, the data libraries that `import feast` loads
    (pandas, numpy, pyarrow: ours imports them on first use) and the opened stores, metadata
    and online (FeatureStore() on a Redis online store opens its client, redis-py included),
    so both timed calls start with the same libraries loaded; then `materialize(view,
    online=True)` timed: it reads the view, writes its parquet and the online keys."""
    t0 = time.perf_counter()
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    import jupyter_mlops as mlops
    from jupyter_mlops.features.online import online_store
    from jupyter_mlops.store import get_store

    get_store()
    online_store()
    t1, before = time.perf_counter(), _loaded()
    online, wall = _timed(lambda: mlops.materialize(VIEW, online=True))
    return {"wall_s": wall, "setup_s": t1 - t0, "total_s": t1 - t0 + wall,
            "loaded_before": before, "peak_mb": _maxrss_mb(), "rows": online.rows,
            "keys_written": online.online, "redis_keys": _redis(DB_OURS).dbsize()}


def task_warm_ours(a: dict) -> dict:
    """Warm: a fresh project, the view defined, then `materialize(view)` and `materialize(view,
    online=True)` (into a flushed db) timed in the same process, the first one's parquet deleted
    in between so that the second writes it as well (the artifact store skips bytes it has);
    the parquet copied into the local cache last."""
    import jupyter_mlops as mlops
    from jupyter_mlops.features.offline import local_parquet
    from jupyter_mlops.features.views import define_view

    define_s = _timed(lambda: define_view(VIEW, ["customer_id"], "event_timestamp", customer_stats,
                                          ttl=datetime.timedelta(days=TTL_DAYS)))[1]
    offline, offline_s = _timed(lambda: mlops.materialize(VIEW))
    artifacts = mlops.get_store().artifacts
    artifacts.fs.rm(artifacts.path(offline.digest))  # the timed call writes its parquet again
    _redis(DB_OURS).flushdb()
    online, online_s = _timed(lambda: mlops.materialize(VIEW, online=True))
    out = {"define_s": define_s, "offline_s": offline_s, "online_s": online_s, "peak_mb": _maxrss_mb(),
           "rows": online.rows, "keys_written": online.online, "redis_keys": _redis(DB_OURS).dbsize()}
    return out | {"local_parquet_s": _timed(lambda: local_parquet(online.digest))[1]}


def _feast_store(repo: str) -> tuple[Any, dict]:
    """`import feast` and `FeatureStore(repo)`, timed apart (they stay out of every figure)."""
    t0 = time.perf_counter()
    import feast

    t1 = time.perf_counter()
    store = feast.FeatureStore(repo_path=repo)
    return store, {"import_s": t1 - t0, "store_s": time.perf_counter() - t1}


def task_prepare_feast(a: dict) -> dict:
    """The feature repo: feature_store.yaml, then the entity, source and view `apply`d."""
    repo = Path(a["repo"])
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        f"project: {PROJECT}\nprovider: local\nregistry: {repo / 'registry.db'}\n"
        f"online_store:\n  type: redis\n  connection_string: \"127.0.0.1:6379,db={DB_FEAST}\"\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    store, out = _feast_store(str(repo))
    from feast import Entity, FeatureView, Field, FileSource
    from feast.types import Float64, Int64

    customer = Entity(name="customer", join_keys=["customer_id"])
    source = FileSource(name="customer_source", timestamp_field="event_timestamp",
                        path=str(Path(a["data"]) / "features.parquet"))
    view = FeatureView(name=VIEW, entities=[customer], ttl=datetime.timedelta(days=TTL_DAYS),
                       schema=[Field(name="customer_id", dtype=Int64)]
                       + [Field(name=f, dtype=Float64) for f in FEATURES], source=source)
    return out | {"apply_s": _timed(lambda: store.apply([customer, source, view]))[1]}


def task_materialize_feast(a: dict) -> dict:
    """Feast, cold: a fresh process, Redis db flushed by the driver; `import feast` and
    `FeatureStore(repo)` untimed, then `materialize(start, end)` over the whole 60 days timed."""
    store, setup = _feast_store(a["repo"])
    start = datetime.datetime.fromtimestamp(a["end"] - (DAYS + 1) * 86400, datetime.UTC)
    before = _loaded()
    wall = _timed(lambda: store.materialize(start, datetime.datetime.now(datetime.UTC)))[1]
    return {"wall_s": wall, "setup_s": setup["import_s"] + setup["store_s"],
            "total_s": setup["import_s"] + setup["store_s"] + wall, "loaded_before": before,
            "redis_keys": _redis(DB_FEAST).dbsize(), "peak_mb": _maxrss_mb(), **setup}


def _cli(command: list[str], db: int) -> dict:
    """Wall time of a command line, the whole process (start-up and imports included), into a
    flushed Redis db."""
    import subprocess

    _redis(db).flushdb()
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:3]} exit {proc.returncode}: {proc.stderr[-2000:]}")
    return {"wall_s": wall, "redis_keys": _redis(db).dbsize()}


def task_cli_ours(a: dict) -> dict:
    """`jupyter mlops features materialize customer_stats --online` (its module, python -m
    jupyter_mlops.cli), in a project where the view is defined: a scheduled job's run, which
    the project allows to run the view's stored source (the benchmark's own)."""
    return _cli([sys.executable, "-m", "jupyter_mlops.cli", "features", "materialize", VIEW,
                 "--online"], DB_OURS)


def task_cli_feast(a: dict) -> dict:
    """`feast -c REPO materialize START END` over the whole 60 days."""
    start = datetime.datetime.fromtimestamp(a["end"] - (DAYS + 1) * 86400, datetime.UTC)
    stop = datetime.datetime.now(datetime.UTC)
    return _cli([str(Path(sys.executable).parent / "feast"), "-c", a["repo"], "materialize",
                 start.strftime("%Y-%m-%dT%H:%M:%S"), stop.strftime("%Y-%m-%dT%H:%M:%S")],
                DB_FEAST)


def _training(join: Callable[[Any], Any], a: dict, **extra) -> dict:
    """Load the entity frame, then time `join(entity_df)`; the peak RSS right after it."""
    import pandas as pd

    ents, load_s = _timed(lambda: pd.read_parquet(Path(a["data"]) / "entities.parquet"))
    peak_load = _maxrss_mb()
    result, wall = _timed(lambda: join(ents))
    out = {"wall_s": wall, "peak_mb": _maxrss_mb(), "peak_before_mb": peak_load, "load_s": load_s,
           "rows": len(result), "columns": [str(c) for c in result.columns], **extra}
    if a.get("save"):
        result.to_parquet(a["save"], index=False)
    return out


def task_train_ours(a: dict) -> dict:
    """`get_historical_features(entity_df, ["customer_stats:f0", …])`, the view materialized.
    Untimed first, as the others' are: our modules and the open store (as Feast's import and
    FeatureStore()), and DuckDB's import (as the floor's); each reported beside the figure."""
    t0 = time.perf_counter()
    import jupyter_mlops as mlops
    import jupyter_mlops.features.offline  # noqa: F401  (SQLAlchemy, pyarrow: loaded on first use)
    from jupyter_mlops.store import get_store

    t1 = time.perf_counter()
    get_store()
    t2 = time.perf_counter()
    import duckdb  # noqa: F401

    return _training(lambda e: mlops.get_historical_features(e, REFS, timestamp="event_timestamp"),
                     a, import_s=t1 - t0, store_s=t2 - t1, duckdb_import_s=time.perf_counter() - t2)


def task_train_feast(a: dict) -> dict:
    """Feast: `get_historical_features(entity_df, features=[…]).to_df()` (file offline store)."""
    store, setup = _feast_store(a["repo"])
    return _training(lambda e: store.get_historical_features(entity_df=e, features=REFS).to_df(),
                     a, **setup)


def task_train_floor(a: dict) -> dict:
    """DuckDB: ASOF LEFT JOIN of the entity frame over the raw parquet, the ttl as a CASE, in
    the entity frame's order (as ours keeps it), `.df()`."""
    import duckdb
    import numpy as np

    path, con, ttl_us = str(Path(a["data"]) / "features.parquet"), duckdb.connect(), TTL_DAYS * 86400e6
    cols = ", ".join(f"CASE WHEN f.event_timestamp >= e.event_timestamp - to_microseconds("
                     f"{ttl_us:.0f}) THEN f.{c} END AS {c}" for c in FEATURES)
    query = (f"SELECT e.customer_id, e.event_timestamp, {cols} FROM ents e ASOF LEFT JOIN "
             f"read_parquet('{path}') f ON e.customer_id = f.customer_id AND "
             "e.event_timestamp >= f.event_timestamp ORDER BY e.__row")
    return _training(lambda ents: con.register("ents", ents.assign(__row=np.arange(len(ents))))
                     .execute(query).df(), a)


def _latencies(cases: dict[str, Callable[[list[int]], Any]], a: dict) -> tuple[dict, list[int]]:
    """Each case on the same seeded random batches of existing keys, in rotating order, the first
    WARM untimed: ms per call by size and case, and 1,000 more keys to check values on."""
    import numpy as np

    keys = np.array(json.loads((Path(a["data"]) / "keys.json").read_text()))
    rng, out, names = np.random.default_rng([SEED, a["round"]]), {}, list(cases)
    for size, reps in a["lookups"].items():
        out[size] = samples = {n: [] for n in names}
        for i in range(WARM + reps):
            batch = rng.choice(keys, int(size), replace=False).tolist()
            for name in names[i % len(names):] + names[:i % len(names)]:
                t0 = time.perf_counter_ns()
                cases[name](batch)
                if i >= WARM:
                    samples[name].append(round((time.perf_counter_ns() - t0) / 1e6, 4))
    return out, rng.choice(keys, 1000, replace=False).tolist()


def task_lookup_ours(a: dict) -> dict:
    """`online_lookup` (dict of lists), `get_online_features` (DataFrame) and the floor: GET /
    MGET of the keys jupyter-mlops wrote (`mlops:fv:<view>:[id]`), each JSON value decoded."""
    import jupyter_mlops as mlops
    from jupyter_mlops.features.online import online_lookup

    client, rows_of = _redis(DB_OURS), lambda ids: [{"customer_id": i} for i in ids]

    def floor(ids: list[int]) -> dict:
        names = [f"mlops:fv:{VIEW}:[{i}]" for i in ids]
        raw = [client.get(names[0])] if len(names) == 1 else client.mget(names)
        rows = [json.loads(v)[1] if v is not None else {} for v in raw]
        return {f: [r.get(f) for r in rows] for f in FEATURES}

    ms, ids = _latencies({"online_lookup": lambda ids: online_lookup(REFS, rows_of(ids)), "floor": floor,
                          "get_online_features": lambda ids: mlops.get_online_features(REFS, rows_of(ids))},
                         a)
    got = online_lookup(REFS, rows_of(ids))
    return {"ms": ms, "agree_with_floor": got == floor(ids), "f0": got["f0"],
            "missing": sum(v is None for v in got["f0"])}


def task_lookup_feast(a: dict) -> dict:
    """Feast `get_online_features(…).to_dict()` and `.to_df()` (a DataFrame, as ours's
    get_online_features gives), and the floor: HMGET (pipelined, as Feast does)
    of each feature's murmur3 field and `_ts:<view>` in Feast's hashes, protobufs decoded."""
    from feast.infra.online_stores.helpers import _mmh3, _redis_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value
    from google.protobuf.timestamp_pb2 import Timestamp

    (store, setup), client = _feast_store(a["repo"]), _redis(DB_FEAST)
    fields = [_mmh3(f"{VIEW}:{f}") for f in FEATURES] + [f"_ts:{VIEW}".encode()]

    def floor(ids: list[int]) -> dict:
        keys = [_redis_key(PROJECT, EntityKey(join_keys=["customer_id"],
                                              entity_values=[Value(int64_val=i)]), 3) for i in ids]
        if len(keys) == 1:
            raw = [client.hmget(keys[0], fields)]
        else:
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hmget(key, fields)
                raw = pipe.execute()
        out: dict = {f: [] for f in [*FEATURES, "ts"]}
        for row in raw:
            out["ts"].append(Timestamp.FromString(row[-1]).seconds if row[-1] else None)
            for f, v in zip(FEATURES, row, strict=False):
                out[f].append(Value.FromString(v).double_val if v else None)
        return out

    def feast(ids: list[int]) -> dict:
        return store.get_online_features(features=REFS, entity_rows=[{"customer_id": i}
                                                                     for i in ids]).to_dict()

    def feast_frame(ids: list[int]) -> Any:
        return store.get_online_features(features=REFS, entity_rows=[{"customer_id": i}
                                                                     for i in ids]).to_df()

    ms, ids = _latencies({"feast": feast, "feast_frame": feast_frame, "floor_feast": floor}, a)
    got = feast(ids)["f0"]
    return {"ms": ms, **setup, "f0": got, "agree_with_floor": got == floor(ids)["f0"],
            "missing": sum(v is None for v in got)}


def task_compare(a: dict) -> dict:
    """Each saved training set against the floor's, matched on (customer_id, event_timestamp):
    rows present, and rows whose five features all equal the floor's (nulls equal nulls)."""
    import pandas as pd

    def load(path: str) -> pd.DataFrame:
        df = pd.read_parquet(path, columns=["customer_id", "event_timestamp", *FEATURES])
        return df.assign(event_timestamp=df["event_timestamp"].astype("datetime64[us, UTC]"))

    floor = load(a["floor"])
    out, null = {"floor_rows": len(floor)}, floor[FEATURES].isna().all(axis=1).to_numpy()
    for name, path in a["others"].items():
        df = load(path)
        both = floor.merge(df, on=["customer_id", "event_timestamp"], how="left", suffixes=("", "_x"),
                           indicator=True)
        present = (both["_merge"] == "both").to_numpy()
        same = present.copy()
        for f in FEATURES:
            same &= ((both[f] == both[f + "_x"]) | (both[f].isna() & both[f + "_x"].isna())).to_numpy()
        out[name] = {"rows": len(df), "missing": int((~present).sum()), "equal": int(same.sum()),
                     "extra": int(len(df) - present.sum()), "equal_share": float(same.sum() / len(floor)),
                     "equal_share_of_present": float(same.sum() / max(present.sum(), 1)),
                     "missing_with_null_floor": int((~present & null).sum())}
    return out


def task_versions(a: dict) -> dict:
    return {"redis_server": _redis(0).info("server").get("redis_version"),
            **versions(["feast", "dask", "pandas", "numpy", "pyarrow", "duckdb", "redis",
                        "protobuf"], ours=a["side"] == "ours")}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver -------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args, self.plan = args, dict(QUICK if args.quick else FULL)
        if args.feast_reps is not None:
            self.plan["feast_reps"] = args.feast_reps
        self.python, self.peer_py = sys.executable, args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-features-"))
        self.data, self.repo = self.work / "data", self.work / "feast_repo"
        self.errors: list[str] = []

    def project(self, base: Path | None = None) -> Path:
        """A fresh project folder: a copy of `base`'s .mlops, or an empty one."""
        path = Path(tempfile.mkdtemp(prefix="project-", dir=self.work))
        (path / ".mlops").mkdir()
        if base:
            shutil.copytree(base / ".mlops", path / ".mlops", dirs_exist_ok=True)
        return path

    def worker(self, side: str, task: str, args: dict, cwd: Path | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_") and k != "PYTHONPATH"}
        cwd = cwd or self.work
        if side == "feast":
            env.update(FEAST_USAGE="False", DO_NOT_TRACK="1")  # no usage telemetry
        else:
            env.update(PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get(
                "PYTHONPATH", "")) if p), MLOPS_PROJECT_ROOT=str(cwd),
                MLOPS_ONLINE_STORE=f"redis://127.0.0.1:6379/{DB_OURS}",
                MLOPS_RUN_FEATURE_SOURCES="all",  # the project runs its own view's stored source
                BENCH_FEATURES_PARQUET=str(self.data / "features.parquet"))
        self.log(f"{side} {task}")
        load1, t0 = os.getloadavg()[0], time.perf_counter()
        out = run_worker(self.peer_py if side == "feast" else self.python, __file__, task,
                         {"data": str(self.data), "repo": str(self.repo), **args}, env=env,
                         cwd=cwd, timeout=3600, label=f"{side} ")
        return out | {"process_wall_s": time.perf_counter() - t0, "load1_before": load1}

    def measure(self, into: list, what: str, side: str, task: str, args: dict,
                cwd: Path | None = None) -> None:
        if task.startswith("materialize_"):  # from here: the worker imports nothing for it
            self.attempt("flushing Redis", self.flush)
        if r := self.attempt(what, self.worker, side, task, args, cwd):
            into.append(r)

    def flush(self) -> None:
        for db in (DB_OURS, DB_FEAST):
            _redis(db).flushdb()

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        p, res, feast = self.plan, {}, bool(self.peer_py)
        end = int(time.time()) // 60 * 60 - 3600  # the data ends an hour ago: online, in ttl
        res["meta"] = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full", "plan": p, "data_end": end,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "note": "2 noisy cores, shared with other test runs"},
            "git": git_describe(), "code_digest": code_digest(), "seed": SEED,
            "redis_dbs": {"ours": DB_OURS, "feast": DB_FEAST},
            "ours": self.worker("ours", "versions", {"side": "ours"}),
            "peer": self.worker("feast", "versions", {"side": "feast"}) if feast else None}
        mat = res["materialize"] = {"ours": [], "feast": []}  # cold: fresh processes
        warm = res["materialize_warm"] = {"ours": []}
        cli = res["materialize_cli"] = {"ours": [], "feast": []}
        train = res["training"] = {"ours": [], "feast": [], "floor": []}
        look = res["lookups"] = {"ours": [], "feast": []}
        saved = {t: str(self.work / f"train-{t}.parquet") for t in train}
        self.flush()
        try:
            self.data.mkdir()
            res["data"] = self.worker("ours", "make_data", {k: p[k] for k in (
                "entities", "stamps", "entity_rows")} | {"end": end})
            if feast:
                res["prepare_feast"] = self.attempt("Feast setup", self.worker, "feast",
                                                    "prepare_feast", {})
            defined = self.project()  # the view defined, nothing materialized: the cold runs' copies
            res["define"] = self.worker("ours", "define_ours", {}, defined)
            base = self.project()  # the first warm materialization's project: copied for the rest

            def each(task: str, tools: dict, rep: int, ours_cwd: Path) -> None:
                """One repetition of `task` for each tool, in order (Feast's: feast_reps)."""
                for t in tools:
                    if t != "feast" or (feast and (task == "lookup" or rep < p["feast_reps"])):
                        self.measure(tools[t], f"{task} {t} {rep + 1}", "feast" if t == "feast" else "ours",
                                     f"{task}_{t}", {"end": end, "round": rep, "lookups": p["lookups"],
                                     "save": saved[t] if rep == 0 and task == "train" else None},
                                     ours_cwd if t == "ours" else None)

            for rep in range(p["reps"]):
                each("materialize", mat, rep, self.project(defined))
            for rep in range(p["reps"]):
                each("warm", warm, rep, base if rep == 0 else self.project())
            for rep in range(p["reps"]):
                each("cli", cli, rep, self.project(base))
            for rep in range(p["reps"]):
                each("train", train, rep, self.project(base))
            if Path(saved["floor"]).exists():
                res["agreement"] = self.attempt("comparing training sets", self.worker, "ours", "compare", {
                    "floor": saved["floor"], "others": {t: saved[t] for t in ("ours", "feast")
                                                         if Path(saved[t]).exists()}})
            for rnd in range(p["rounds"]):
                each("lookup", look, rnd, self.project(base))
        finally:
            self.attempt("flushing Redis", self.flush)
            if self.args.keep:
                print(f"kept {self.work}", file=sys.stderr)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        if code_digest() != res["meta"]["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: run it again")
        res["errors"], res["elapsed_s"] = self.errors, time.perf_counter() - self.t_start
        return res | {"summary": summarize(res)}


# -- summary and table ------------------------------------------------------------------------
def _pct(xs: list[float], q: float) -> float | None:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] / 1e3 if xs else None  # ms → s


def _materializations(res: dict, meds: Callable) -> dict:
    """Cold (both tools) and warm (ours) materializations. Results before 2026-12-06 held ours's
    warm runs beside Feast's (always cold) under "materialize"."""
    cold, warm = res["materialize"], res.get("materialize_warm")
    if warm is None:
        cold, warm = {"feast": cold.get("feast", [])}, {"ours": cold.get("ours", [])}
    out = {"materialize": {t: meds(runs, ("wall_s", "setup_s", "total_s", "peak_mb"), "redis_keys")
                           | {"loaded_before": runs[-1].get("loaded_before")}
                           for t, runs in cold.items() if runs},
           "materialize_warm": {t: meds(runs, ("offline_s", "online_s", "peak_mb"), "redis_keys")
                                for t, runs in warm.items() if runs}}
    return out


def summarize(res: dict) -> dict:
    """Medians (and the pooled lookup percentiles): what the table prints, kept in the JSON."""
    def meds(runs: list[dict], keys: tuple[str, ...], last: str) -> dict:
        return {"n": len(runs), last: runs[-1][last], **{k: med([r.get(k) for r in runs]) for k in keys}}

    s: dict = {"training": {t: meds(runs, ("wall_s", "peak_mb", "peak_before_mb", "import_s", "store_s",
                                           "duckdb_import_s"),
                                    "rows")
                            for t, runs in res["training"].items() if runs},
               **_materializations(res, meds),
               "materialize_cli": {t: meds(runs, ("wall_s",), "redis_keys")
                                   for t, runs in res.get("materialize_cli", {}).items() if runs}}
    pooled: dict = {}
    for r in res["lookups"]["ours"] + res["lookups"]["feast"]:
        for size, cases in r["ms"].items():
            for name, xs in cases.items():
                pooled.setdefault(size, {}).setdefault(name, []).extend(xs)
    s["lookups"] = {size: {n: {"p50_s": _pct(xs, 0.5), "p99_s": _pct(xs, 0.99), "n": len(xs)}
                           for n, xs in cases.items()} for size, cases in pooled.items()}
    o, f = res["lookups"]["ours"], res["lookups"]["feast"]
    s["lookup_checks"] = {
        "ours_agree_with_floor": bool(o) and all(r["agree_with_floor"] for r in o),
        "feast_agree_with_floor": bool(f) and all(r["agree_with_floor"] for r in f),
        "ours_missing": sum(r["missing"] for r in o), "feast_missing": sum(r["missing"] for r in f),
        "ours_equal_feast": bool(o and f) and all(a["f0"] == b["f0"] for a, b in zip(o, f, strict=False))}
    return s


def _mb(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} MB" if x < 1024 else f"{x / 1024:,.2f} GB"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1e3:.3f} ms" if x < 0.01 else f"{x * 1e3:,.1f} ms"


def _rows(res: dict) -> list[tuple[str, ...]]:
    """(figure, median, Feast / this, this / floor, notes) for the table."""
    s, ag, rows = res["summary"], res.get("agreement") or {}, []
    t, mo, mf = s["training"], s["materialize"].get("ours"), s["materialize"].get("feast")
    mw = s["materialize_warm"].get("ours")

    def loaded(x: dict) -> str:
        if x.get("loaded_before") is None:
            return "not recorded"
        return ", ".join(x["loaded_before"]) or "none of " + ", ".join(LIBS)

    if mo:
        r = mf["wall_s"] / mo["wall_s"] if mf else 0
        rows.append(("materialize, cold: ours materialize(view, online=True)", _secs(mo["wall_s"]),
                     ratio(mf and mf["wall_s"], mo["wall_s"]), "",
                     f"goal ≥10× Feast {check(r >= 10)}; fresh process, the view never materialized; "
                     f"untimed before: import pandas, numpy, pyarrow, jupyter_mlops + open the "
                     f"metadata and online stores "
                     f"{_secs(mo['setup_s'])} "
                     f"(loaded: {loaded(mo)}); ×{mo['n']}; {mo['redis_keys']:,} keys; peak "
                     f"{_mb(mo['peak_mb'])}"))
    if mf:
        rows.append(("materialize, cold: Feast materialize(start, end)", _secs(mf["wall_s"]), "", "",
                     f"fresh process; untimed before: import feast + FeatureStore() "
                     f"{_secs(mf['setup_s'])} (loaded: {loaded(mf)}); ×{mf['n']}; "
                     f"{mf['redis_keys']:,} keys; peak RSS {_mb(mf['peak_mb'])}"))
    if mo and mf:
        rows.append(("materialize, cold, with import and store set-up: ours", _secs(mo["total_s"]),
                     ratio(mf["total_s"], mo["total_s"]), "",
                     f"Feast {_secs(mf['total_s'])}: the import, the store object and the call, "
                     "in process (interpreter start-up not included; see the CLI rows)"))
    if mw:
        rows.append(("materialize, warm: ours, after define_view + materialize(view)",
                     _secs(mw["online_s"]), "", "", f"same process: modules and store warm, its "
                     f"parquet deleted before (it writes it again); not like for like with Feast's "
                     f"cold call; ×{mw['n']}; offline only {_secs(mw['offline_s'])}"))
    co, cf = (s.get("materialize_cli") or {}).get("ours"), (s.get("materialize_cli") or {}).get("feast")
    if co:
        r = cf["wall_s"] / co["wall_s"] if cf else 0
        rows.append(("materialize, CLI: ours features materialize --online", _secs(co["wall_s"]),
                     ratio(cf and cf["wall_s"], co["wall_s"]), "", f"goal ≥10× Feast {check(r >= 10)}; "
                     f"whole process: start-up and imports included; ×{co['n']}; {co['redis_keys']:,} keys"))
    if cf:
        rows.append(("materialize, CLI: Feast feast materialize START END", _secs(cf["wall_s"]), "", "",
                     f"whole process; ×{cf['n']}; {cf['redis_keys']:,} keys"))
    e_rows = (res.get("data") or {}).get("entity_rows")
    wf, wl = (t.get("feast") or {}).get("wall_s"), (t.get("floor") or {}).get("wall_s")
    for key, name in (("ours", "ours get_historical_features"),
                      ("feast", "Feast get_historical_features().to_df()"),
                      ("floor", "floor: DuckDB ASOF LEFT JOIN, ordered")):
        if not (x := t.get(key)):
            rows.append((f"training: {name}", "—", "", "", "not measured (see the errors)"))
            continue
        note = (f"×{x['n']}; peak RSS {_mb(x['peak_mb'])} ({_mb(x['peak_before_mb'])} before the "
                f"join); {x['rows']:,} rows of {e_rows:,}")
        if a := ag.get(key):
            note += (f"; {a['equal_share']:.2%} of the floor's rows equal; {a['missing']:,} missing "
                     f"({a['missing_with_null_floor']:,} of them all-null in the floor)")
        if key == "ours":
            r1, r2 = (wf or 0) / x["wall_s"], x["wall_s"] / wl if wl else 99
            note = (f"goals: ≥10× Feast {check(r1 >= 10)}, ≤1.5× floor {check(r2 <= 1.5)}, every "
                    f"row kept {check(x['rows'] == e_rows)}; " + note)
        if key == "feast":
            note += f"; import + FeatureStore() {_secs(x['import_s'] + x['store_s'])}, untimed"
        if key == "ours" and x.get("store_s") is not None:
            note += (f"; import + open store {_secs(x['import_s'] + x['store_s'])}"
                     f", untimed as Feast's; import duckdb {_secs(x['duckdb_import_s'])}, untimed as "
                     "the floor's")
        rows.append((f"training: {name}", _secs(x["wall_s"]), ratio(wf, x["wall_s"]) if key != "feast"
                     else "", ratio(x["wall_s"], wl) if key != "floor" else "", note))
    for size, cases in s["lookups"].items():
        q = {n: (c["p50_s"], c["p99_s"]) for n, c in cases.items()}
        # (case, label, its floor, the Feast case with the same output: a DataFrame or a dict)
        for n, label, base, peer in (
                ("get_online_features", "ours get_online_features (frame)", "floor", "feast_frame"),
                ("feast_frame", "Feast get_online_features().to_df()", "floor_feast", None),
                ("online_lookup", "ours online_lookup (dict of lists)", "floor", "feast"),
                ("feast", "Feast get_online_features().to_dict()", "floor_feast", None),
                ("floor", "floor: GET/MGET + JSON, ours' keys", None, None),
                ("floor_feast", "floor: HMGET + protobuf, Feast's", None, None)):
            if n not in q:
                continue
            (p50, p99), (b50, b99), goal = q[n], q.get(base, (None, None)), 2.0 if size == "1" else 1.5
            note = f"n={cases[n]['n']}" + (f"; p99 / floor {ratio(p99, b99)}" if base else "")
            if n == "online_lookup" and b50:
                note = f"goal ≤{goal:g}× floor {check(p50 / b50 <= goal)}; " + note
            if peer in q:
                note = (f"like for like with Feast's {'to_df()' if peer == 'feast_frame' else 'to_dict()'}"
                        f" (the same output): goal ≥1× Feast {check(q[peer][0] / p50 >= 1)}; " + note)
            if n == "get_online_features" and "online_lookup" in q:
                note += f"; the DataFrame adds {_ms(p50 - q['online_lookup'][0])} (p50)"
            rows.append((f"online {int(size):,} key{'s' if size != '1' else ''}: {label}",
                         f"{_ms(p50)} / {_ms(p99)}", ratio(q[peer][0], p50) if peer in q else "",
                         ratio(p50, b50) if base else "", note))
    return rows


def render(res: dict) -> str:
    meta, s = res["meta"], res["summary"]
    ov, pv, d = meta["ours"], meta.get("peer") or {}, res.get("data") or {}
    c = s.get("lookup_checks", {})
    mo = ((res.get("materialize_warm") or res["materialize"]).get("ours") or [{}])[0]
    lines = [f"features benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
             f"{ov.get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
             f"{', dirty' if meta['git']['dirty'] else ''}, code {meta['code_digest']}) vs Feast "
             f"{pv.get('feast', '— (skipped)')}; {meta['machine']['cpus']} CPUs, shared (noisy)",
             f"  ours and floors: pandas {ov.get('pandas')}, duckdb {ov.get('duckdb')}, redis-py "
             f"{ov.get('redis')}, pyarrow {ov.get('pyarrow')}; Feast's venv: pandas {pv.get('pandas')}, "
             f"dask {pv.get('dask')}, redis-py {pv.get('redis')}; Redis server {ov.get('redis_server')}",
             f"  data: {d.get('feature_rows', 0):,} feature rows ({meta['plan']['entities']:,} customers "
             f"× {meta['plan']['stamps']} times over {DAYS} days, 5 float64, ttl {TTL_DAYS} d); entity "
             f"frame {d.get('entity_rows', 0):,} rows ({d.get('entities_without_features', 0):,} of "
             "customers without features); each figure from fresh processes; ×N = runs", ""]
    lines += _table(("figure", "median or p50 / p99", "Feast / this", "this / floor", "goals and notes"),
                    _rows(res))
    lines += ["", f"online values: ours = its floor {check(c.get('ours_agree_with_floor'))}, Feast = "
              f"its floor {check(c.get('feast_agree_with_floor'))}, ours = Feast (f0 of 1,000 keys) "
              f"{check(c.get('ours_equal_feast'))}; missing values: ours {c.get('ours_missing')}, Feast "
              f"{c.get('feast_missing')}",
              "peak RSS = ru_maxrss of the worker process: interpreter, imports and loading the "
              "entity frame included; lookups: ratios on p50",
              f"untimed: ours define_view {_secs((res.get('define') or mo).get('define_s'))}, "
              f"parquet into the local cache "
              f"{_secs(mo.get('local_parquet_s'))}; Feast apply "
              f"{_secs((res.get('prepare_feast') or {}).get('apply_s'))}",
              f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    return "\n".join(lines + [f"ERROR {e.splitlines()[0]}" for e in res.get("errors", []) if e])


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        return _worker_main(TASKS, sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k feature and entity rows, one "
                    "repetition, fewer lookups: a smoke test")
    ap.add_argument("--feast-reps", type=int, help="runs of Feast's training set and materialize")
    ap.add_argument("--peer-python", help="Feast's Python (default: setup_peer.sh feast)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/features-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        res = json.loads(Path(args.render).read_text())
        return print(render(res | {"summary": summarize(res)}))
    if not args.peer_python:
        args.peer_python = peer_python("feast")
    save(Bench(args).run(), render, "features", args.quick, args.out)


if __name__ == "__main__":
    main()
