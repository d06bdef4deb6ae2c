#!/usr/bin/env python
"""Serving benchmark: `jupyter-mlops serve` beside `mlflow models serve`, side by side in one run.

    bash benchmarks/setup_peer.sh mlflow-serving    # once: builds MLflow's own venv outside the repo
    python benchmarks/bench_serving.py [--quick] [--models rf,logreg]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH). The same fitted scikit-learn Pipeline is registered in a
scratch jupyter-mlops store and logged with `mlflow.sklearn.log_model` from MLflow's venv; both
servers then run at once, one process each, and this process (the client, separate from both)
sends them the same `dataframe_split` JSON bodies over one keep-alive connection, alternating
the servers in rounds. Prints a table and writes benchmarks/results/serving-<date>.json and
.txt. See benchmarks/README.md.

The same file is the worker the driver starts: `bench_serving.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import socket
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
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent

FULL = {"rounds": 5, "warmup": 200, "single": 2_000, "batch_warmup": 5, "batch_requests": 50,
        "batch_rows": 1_000, "floor_single": 2_000, "floor_batch": 20}
QUICK = {"rounds": 3, "warmup": 50, "single": 300, "batch_warmup": 2, "batch_requests": 10,
         "batch_rows": 1_000, "floor_single": 300, "floor_batch": 5}

# the data: 20 float features, 3 classes; the first TRAIN_ROWS rows train, the rest are the
# pool the requests are drawn from (so the model never saw them)
DATA = {"n_samples": 6_000, "n_features": 20, "n_informative": 8, "n_redundant": 4,
        "n_classes": 3, "random_state": 0}
TRAIN_ROWS = 4_000
DECIMALS = 6  # the values as a client would send them: 6 decimals in the JSON
MODELS = {
    "rf": "StandardScaler + RandomForestClassifier(n_estimators=100, random_state=0)",
    "logreg": "StandardScaler + LogisticRegression(max_iter=1000)",
}
SAMPLE_RATE = 0.1  # ours: --sample-rate, the share of scored rows kept for monitoring
HEADERS = {"Content-Type": "application/json"}
SIDES = ("ours", "peer")
LABEL = {"ours": "jupyter-mlops", "peer": "MLflow"}


# -- worker tasks (run in subprocesses) ------------------------------------------------------------
def _frame():
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(**DATA)
    cols = [f"f{i:02d}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=cols).round(DECIMALS), pd.Series(y, name="target")


def _estimator(kind: str):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "rf":
        return make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=100,
                                                                      random_state=0))
    if kind == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    raise ValueError(f"unknown model {kind!r}: one of {', '.join(MODELS)}")


def _versions(*names: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def task_prepare(a: dict) -> dict:
    """Ours: fit each model on the same data, save it (joblib) for MLflow's side, register it
    in the scratch store (MLOPS_PROJECT_ROOT) as bench-<model>@production, time model.predict
    alone (the floor), and write the request pool with the predictions expected for it."""
    import joblib

    import jupyter_mlops as mlops

    X, y = _frame()
    train = X.iloc[:TRAIN_ROWS]
    pool = X.iloc[TRAIN_ROWS:].reset_index(drop=True)
    out: dict = {"models": {}}
    requests = {"columns": list(X.columns), "rows": pool.to_numpy().tolist(), "expected": {}}
    with mlops.start_run("bench"):
        mlops.version_dataset(train.assign(target=y.iloc[:TRAIN_ROWS]), "bench-data",
                              role="train")
        for kind in a["models"]:
            t0 = time.perf_counter()
            model = _estimator(kind).fit(train, y.iloc[:TRAIN_ROWS])
            fit_s = time.perf_counter() - t0
            path = Path(a["dir"]) / f"{kind}.joblib"
            joblib.dump(model, path)
            version = mlops.register_model(model, f"bench-{kind}", alias="production")
            expected = model.predict(pool).tolist()
            requests["expected"][kind] = expected
            out["models"][kind] = {
                "fit_s": fit_s, "joblib": str(path), "ref": version.ref,
                "flavor": version.flavor, "accuracy": float(
                    (model.predict(pool) == y.iloc[TRAIN_ROWS:].to_numpy()).mean()),
                "floor": _floor(model, pool, a["floor_single"], a["floor_batch"],
                                a["batch_rows"]),
            }
    Path(a["requests"]).write_text(json.dumps(requests))
    out["versions"] = _versions("jupyter-mlops", "scikit-learn", "fastapi", "starlette",
                                "uvicorn", "uvloop", "httptools", "pandas", "numpy", "skops")
    import jupyter_mlops

    out["versions"]["jupyter_mlops_path"] = str(Path(jupyter_mlops.__file__).parent)
    return out


def _floor(model, pool, n_single: int, n_batch: int, batch_rows: int) -> dict:
    """model.predict alone, in this process: one-row frames (sliced beforehand) and batches."""
    singles = [pool.iloc[[i % len(pool)]] for i in range(n_single)]
    for frame in singles[:50]:
        model.predict(frame)
    times = []
    for frame in singles:
        t0 = time.perf_counter()
        model.predict(frame)
        times.append(time.perf_counter() - t0)
    batches = [pool.iloc[i * batch_rows % len(pool):][:batch_rows] for i in range(2)]
    model.predict(batches[0])
    btimes = []
    for i in range(n_batch):
        t0 = time.perf_counter()
        model.predict(batches[i % 2])
        btimes.append(time.perf_counter() - t0)
    return {"single_ms": [t * 1e3 for t in times], "batch_s": btimes, "batch_rows": batch_rows}


def task_log_peer(a: dict) -> dict:
    """MLflow: log each saved model with mlflow.sklearn.log_model (signature inferred from the
    request pool's first rows), into the scratch tracking store MLFLOW_TRACKING_URI names."""
    import joblib
    import mlflow
    import pandas as pd
    import sklearn
    import skops.io
    from mlflow.models import infer_signature

    requests = json.loads(Path(a["requests"]).read_text())
    example = pd.DataFrame(requests["rows"][:100], columns=requests["columns"])
    mlflow.set_experiment("bench-serving")
    out: dict = {"models": {}}
    for kind in a["models"]:
        model = joblib.load(a["joblib"][kind])
        signature = infer_signature(example, model.predict(example))
        # MLflow saves with skops and refuses types it does not trust unless told: this model
        # was fitted by the benchmark, so every type it holds is trusted (a forest's Tree)
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        with mlflow.start_run(run_name=f"bench-{kind}"):
            info = mlflow.sklearn.log_model(
                model, name="model", signature=signature, skops_trusted_types=trusted,
                # given, so that MLflow need not load the model in a subprocess to infer them
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
        flavor = (info.flavors or {}).get("sklearn", {})
        out["models"][kind] = {"uri": info.model_uri, "skops_trusted_types": trusted,
                               "serialization_format": flavor.get("serialization_format")}
    out["versions"] = _versions("mlflow", "scikit-learn", "fastapi", "starlette", "uvicorn",
                                "uvloop", "httptools", "pandas", "numpy", "skops")
    return out


def task_monitoring(a: dict) -> dict:
    """Ours, after its servers stopped: the rows each one kept in its monitoring sample."""
    from jupyter_mlops.serving.samples import monitoring_data

    return {kind: len(monitoring_data(f"bench-{kind}")) for kind in a["models"]}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the client ----------------------------------------------------------------------------------
class Connection(http.client.HTTPConnection):
    """One keep-alive connection that counts how often it (re)connects."""

    connects = 0

    def connect(self) -> None:
        self.connects += 1
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def post(conn: Connection, body: bytes) -> bytes:
    conn.request("POST", "/invocations", body, HEADERS)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {data[:300]!r}")
    return data


def pct(xs: list[float], p: int) -> float:
    """The p-th percentile (linear interpolation between closest ranks)."""
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of every live process in session `sid` (a server started
    with start_new_session: the server and, for MLflow, its CLI parent)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[3]) == sid:  # field 6: session id
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / tick


def session_pids(sid: int) -> list[dict]:
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            if int(stat[stat.rindex(")") + 2:].split()[3]) != sid:
                continue
            cmd = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            exe = os.readlink(Path(entry.path, "exe"))
        except (OSError, ValueError):
            continue
        out.append({"pid": int(entry.name), "exe": exe, "cmdline": cmd,
                    "threads": int(Path(entry.path, "status").read_text().split("Threads:")[1]
                                   .split()[0])})
    return out


# -- the driver ----------------------------------------------------------------------------------
class Server:
    def __init__(self, side: str, argv: list[str], env: dict, cwd: Path, log: Path):
        self.side, self.argv, self.port = side, argv, int(argv[argv.index("--port") + 1])
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.startup_s = self._wait_healthy(t0)
        except Exception:
            self.stop()  # never leave one running that did not come up
            raise
        self.processes = session_pids(self.proc.pid)

    def _wait_healthy(self, t0: float, timeout: float = 180) -> float:
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{LABEL[self.side]} server exited ({self.proc.returncode}):\n"
                                   + self.tail())
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - t0
                conn.close()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{LABEL[self.side]} server not healthy after {timeout:.0f} s:\n"
                           + self.tail())

    def cpu(self) -> float:
        return session_cpu(self.proc.pid)

    def tail(self, n: int = 15) -> str:
        if not self.log.closed:
            self.log.flush()
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> int | None:
        """SIGINT, as Ctrl-C (uvicorn shuts down gracefully: ours stores its last monitoring
        sample); SIGKILL to the whole session if it has not exited after 30 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = dict(QUICK if args.quick else FULL)
        self.models = [m.strip() for m in args.models.split(",") if m.strip()]
        bad = [m for m in self.models if m not in MODELS]
        if bad:
            raise SystemExit(f"unknown model {bad[0]!r}: one of {', '.join(MODELS)}")
        self.ours_py = args.python or sys.executable
        self.peer_py = args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-serving-"))
        self.results: dict = {}
        self.errors: list[str] = []
        self.servers: list[Server] = []

    # environments: ours gets the working tree first on its path; MLflow gets nothing of ours
    def env_ours(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.work / "ours")
        return env

    def env_peer(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "PYTHONPATH"}
        # `mlflow models serve` starts `uvicorn` through bash: its venv's bin goes first on PATH,
        # or another environment's uvicorn could serve MLflow's app
        env["PATH"] = os.pathsep.join([str(Path(self.peer_py).parent), env.get("PATH", "")])
        # no network but pip: MLflow 3 would otherwise send usage telemetry
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
                   MLFLOW_TRACKING_URI=f"sqlite:///{self.work / 'peer' / 'mlflow.db'}")
        return env

    def worker(self, side: str, task: str, args: dict, timeout: float = 900) -> dict:
        python = self.ours_py if side == "ours" else self.peer_py
        env = self.env_ours() if side == "ours" else self.env_peer()
        return run_worker(python, __file__, task, args, env=env, cwd=self.work / side,
                          timeout=timeout, label=f"{side} ")

    # servers ------------------------------------------------------------------------------------
    def start(self, side: str, kind: str) -> Server:
        port = str(free_port())
        if side == "ours":
            argv = [self.ours_py, "-m", "jupyter_mlops.cli", "serve", f"bench-{kind}@production",
                    "--host", "127.0.0.1", "--port", port, "--sample-rate", str(SAMPLE_RATE)]
            env = self.env_ours()
        else:
            mlflow = str(Path(self.peer_py).parent / "mlflow")
            argv = [mlflow, "models", "serve", "-m", self.peer_models[kind]["uri"],
                    "--env-manager", "local", "--host", "127.0.0.1", "--port", port,
                    "--workers", "1"]
            env = self.env_peer()
        server = Server(side, argv, env, self.work / side, self.work / f"{side}-{kind}.log")
        self.servers.append(server)
        return server

    # measurements -------------------------------------------------------------------------------
    def single(self, server: Server, bodies: list[bytes], expected: list) -> dict:
        """Warm-up, then sequential one-row requests on one keep-alive connection."""
        s = self.sizes
        conn = Connection("127.0.0.1", server.port, timeout=60)
        for i in range(s["warmup"]):
            post(conn, bodies[i % len(bodies)])
        replies: list[bytes] = []
        times: list[float] = []
        cpu0 = server.cpu()
        t_all = time.perf_counter()
        for i in range(s["single"]):
            body = bodies[i % len(bodies)]
            t0 = time.perf_counter_ns()
            data = post(conn, body)
            times.append((time.perf_counter_ns() - t0) / 1e6)
            replies.append(data)
        wall = time.perf_counter() - t_all
        cpu = server.cpu() - cpu0
        conn.close()
        wrong = sum(json.loads(r)["predictions"] != [expected[i % len(bodies)]]
                    for i, r in enumerate(replies))
        return {"ms": [round(t, 4) for t in times], "wall_s": wall, "server_cpu_s": cpu,
                "connections": conn.connects, "wrong_predictions": wrong}

    def batch(self, server: Server, bodies: list[bytes], expected: list[list]) -> dict:
        s = self.sizes
        conn = Connection("127.0.0.1", server.port, timeout=120)
        for i in range(s["batch_warmup"]):
            post(conn, bodies[i % len(bodies)])
        replies, times = [], []
        cpu0 = server.cpu()
        t_all = time.perf_counter()
        for i in range(s["batch_requests"]):
            t0 = time.perf_counter()
            replies.append(post(conn, bodies[i % len(bodies)]))
            times.append(time.perf_counter() - t0)
        wall = time.perf_counter() - t_all
        cpu = server.cpu() - cpu0
        conn.close()
        wrong = sum(json.loads(r)["predictions"] != expected[i % len(bodies)]
                    for i, r in enumerate(replies))
        return {"s": times, "wall_s": wall, "server_cpu_s": cpu, "rows": s["batch_rows"],
                "connections": conn.connects, "wrong_requests": wrong,
                "body_bytes": len(bodies[0])}

    def sanity(self, servers: dict[str, Server], columns: list[str], rows: list[list],
               expected: list) -> dict:
        """The first 5 rows of the pool in one request to each server, against model.predict."""
        body = json.dumps({"dataframe_split": {"columns": columns, "data": rows[:5]}}).encode()
        out = {"expected": expected[:5]}
        for side, server in servers.items():
            conn = Connection("127.0.0.1", server.port, timeout=60)
            out[side] = json.loads(post(conn, body))["predictions"]
            conn.close()
        out["match"] = all(out[side] == out["expected"] for side in servers)
        line = "  ".join(f"{LABEL[s]} {out[s]}" for s in servers)
        self.log(f"  sanity, 5 rows: expected {out['expected']}  {line}  "
                 f"{'same' if out['match'] else 'DIFFERENT'}")
        return out

    def bench_model(self, kind: str, requests: dict) -> None:
        s = self.sizes
        sec: dict = {"description": MODELS[kind], "rounds": []}
        self.results["models"][kind] = sec
        columns, rows, expected = requests["columns"], requests["rows"], requests["expected"][kind]
        singles = [json.dumps({"dataframe_split": {"columns": columns, "data": [r]}}).encode()
                   for r in rows]
        n = s["batch_rows"]
        starts = [(i * n) % len(rows) for i in range(2)]
        batches = [json.dumps({"dataframe_split": {"columns": columns,
                                                   "data": rows[b:b + n]}}).encode()
                   for b in starts]
        batch_expected = [expected[b:b + n] for b in starts]
        sides = SIDES if self.peer_py else ("ours",)
        servers: dict[str, Server] = {}
        for side in sides:
            self.log(f"[{kind}] starting the {LABEL[side]} server")
            servers[side] = self.start(side, kind)
            sec[f"server_{side}"] = {"argv": servers[side].argv,
                                     "startup_s": servers[side].startup_s,
                                     "processes": servers[side].processes}
            self.log(f"[{kind}]   healthy after {servers[side].startup_s:.1f} s; processes: "
                     + ", ".join(f"{p['pid']} {' '.join(p['cmdline'].split()[:2])}"
                                 for p in servers[side].processes))
        try:
            sec["sanity"] = self.sanity(servers, columns, rows, expected)
            for r in range(s["rounds"]):
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                rnd: dict = {"order": order}
                for side in order:
                    self.log(f"[{kind}] round {r + 1}/{s['rounds']}: {LABEL[side]}, "
                             f"{s['single']:,} single-row requests")
                    rnd.setdefault(side, {})["single"] = self.single(servers[side], singles,
                                                                     expected)
                for side in order:
                    self.log(f"[{kind}] round {r + 1}/{s['rounds']}: {LABEL[side]}, "
                             f"{s['batch_requests']} × {n:,}-row requests")
                    rnd[side]["batch"] = self.batch(servers[side], batches, batch_expected)
                sec["rounds"].append(rnd)
                summ = {side: f"p50 {pct(rnd[side]['single']['ms'], 50):.2f} ms, "
                              f"{n * len(rnd[side]['batch']['s']) / sum(rnd[side]['batch']['s']):,.0f}"
                              " rows/s" for side in sides}
                self.log(f"[{kind}]   " + "; ".join(f"{LABEL[k]}: {v}" for k, v in summ.items()))
        finally:
            for side, server in servers.items():
                sec[f"server_{side}"]["exit"] = server.stop()
                sec[f"server_{side}"]["log_tail"] = server.tail(8)

    # -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.t_start = time.perf_counter()
        for side in SIDES:
            (self.work / side).mkdir()
        s = self.sizes
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full", "sizes": s, "models": self.models,
            "data": {**DATA, "train_rows": TRAIN_ROWS, "decimals": DECIMALS,
                     "pool_rows": DATA["n_samples"] - TRAIN_ROWS},
            "sample_rate_ours": SAMPLE_RATE,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine(),
                        "note": "2 noisy cores shared by the client and both servers"},
            "git": _git_describe(),
            "code_digest": _code_digest(),
        }
        self.results["meta"] = meta
        self.results["models"] = {}
        requests_path = self.work / "requests.json"
        try:
            self.log(f"fitting {', '.join(self.models)}; registering in jupyter-mlops's store")
            prep = self.worker("ours", "prepare", {
                "models": self.models, "dir": str(self.work), "requests": str(requests_path),
                "floor_single": s["floor_single"], "floor_batch": s["floor_batch"],
                "batch_rows": s["batch_rows"]})
            meta["ours"] = prep["versions"]
            self.results["prepare"] = prep["models"]
            if self.peer_py:
                self.log("logging them with mlflow.sklearn.log_model")
                peer = self.worker("peer", "log_peer", {
                    "models": self.models, "requests": str(requests_path),
                    "joblib": {k: prep["models"][k]["joblib"] for k in self.models}})
                meta["peer"] = peer["versions"]
                self.peer_models = peer["models"]
                self.results["peer_models"] = peer["models"]
            requests = json.loads(requests_path.read_text())
            for kind in self.models:
                self.attempt(f"{kind}", self.bench_model, kind, requests)
            mon = self.attempt("monitoring sample", self.worker, "ours", "monitoring",
                               {"models": self.models})
            self.results["monitoring_rows"] = mon
        finally:
            for server in self.servers:  # after a failure: none left running
                if server.proc.poll() is None:
                    server.stop()
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
    """Medians over rounds and ratios: what the table prints, kept in the JSON too."""
    out: dict = {}
    for kind, sec in res.get("models", {}).items():
        rounds = sec.get("rounds") or []
        s: dict = {"rounds": len(rounds)}
        for side in SIDES:
            singles = [r[side]["single"] for r in rounds if side in r]
            batches = [r[side]["batch"] for r in rounds if side in r and "batch" in r[side]]
            if singles:
                s[side] = {
                    "p50_ms": _med([pct(x["ms"], 50) for x in singles]),
                    "p99_ms": _med([pct(x["ms"], 99) for x in singles]),
                    "mean_ms": _med([statistics.fmean(x["ms"]) for x in singles]),
                    "max_ms": max(max(x["ms"]) for x in singles),
                    "cpu_ms_per_request": _med([x["server_cpu_s"] * 1e3 / len(x["ms"])
                                                for x in singles]),
                    "requests_per_round": len(singles[0]["ms"]),
                    "connections": sum(x["connections"] for x in singles),
                    "wrong": sum(x["wrong_predictions"] for x in singles),
                    "p50_by_round": [pct(x["ms"], 50) for x in singles],
                    "p99_by_round": [pct(x["ms"], 99) for x in singles],
                }
            if batches:
                rates = [b["rows"] * len(b["s"]) / sum(b["s"]) for b in batches]
                s[side].update({
                    "rows_per_s": _med(rates), "rows_per_s_by_round": rates,
                    "batch_p50_ms": _med([pct(b["s"], 50) * 1e3 for b in batches]),
                    "batch_cpu_ms_per_request": _med([b["server_cpu_s"] * 1e3 / len(b["s"])
                                                      for b in batches]),
                    "batch_requests_per_round": len(batches[0]["s"]),
                    "batch_rows": batches[0]["rows"], "batch_body_bytes": batches[0]["body_bytes"],
                    "batch_connections": sum(b["connections"] for b in batches),
                    "batch_wrong": sum(b["wrong_requests"] for b in batches),
                })
            srv = sec.get(f"server_{side}")
            if srv and side in s:
                s[side]["startup_s"] = srv["startup_s"]
                s[side]["processes"] = len(srv["processes"])
        floor = (res.get("prepare") or {}).get(kind, {}).get("floor")
        if floor:
            s["floor"] = {"p50_ms": pct(floor["single_ms"], 50),
                          "p99_ms": pct(floor["single_ms"], 99),
                          "rows_per_s": floor["batch_rows"] * len(floor["batch_s"])
                          / sum(floor["batch_s"]),
                          "batch_ms": statistics.median(floor["batch_s"]) * 1e3}
        if "sanity" in sec:
            s["sanity_match"] = sec["sanity"]["match"]
        out[kind] = s
    return out


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f} ms"


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}/s"


def render(res: dict) -> str:
    summ = res["summary"]
    meta = res["meta"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, ours: str = "", peer: str = "", ratio: str = "", note: str = "") -> None:
        rows.append((what, ours, peer, ratio, note))

    for i, (kind, s) in enumerate(summ.items()):
        o, p, f = s.get("ours") or {}, s.get("peer") or {}, s.get("floor") or {}
        if i:
            add("")
        add(f"{kind.upper()}", note=MODELS.get(kind, kind))
        if not o:
            add("  (no measurement: see the errors below)")
            continue
        add(f"1. single row (median of {s['rounds']} rounds)", note=(
            f"{o['requests_per_round']:,} sequential requests a round, one keep-alive connection"))
        add("  latency p50", _ms(o["p50_ms"]), _ms(p.get("p50_ms")),
            _ratio(p.get("p50_ms"), o["p50_ms"]),
            f"model.predict alone, in process: p50 {_ms(f.get('p50_ms'))}")
        add("  latency p99", _ms(o["p99_ms"]), _ms(p.get("p99_ms")),
            _ratio(p.get("p99_ms"), o["p99_ms"]),
            f"model.predict alone: p99 {_ms(f.get('p99_ms'))}; worst request: ours "
            f"{_ms(o['max_ms'])}" + (f", MLflow {_ms(p['max_ms'])}" if p else ""))
        add("  latency mean", _ms(o["mean_ms"]), _ms(p.get("mean_ms")),
            _ratio(p.get("mean_ms"), o["mean_ms"]))
        add("  server CPU per request", _ms(o["cpu_ms_per_request"]),
            _ms(p.get("cpu_ms_per_request")),
            _ratio(p.get("cpu_ms_per_request"), o["cpu_ms_per_request"]),
            "user+system time of the server's processes (/proc)")
        if "rows_per_s" in o:
            add(f"2. {o['batch_rows']:,}-row batches (median of {s['rounds']} rounds)", note=(
                f"{o['batch_requests_per_round']} requests a round of "
                f"{o['batch_body_bytes'] / 1024:,.0f} KiB JSON, one keep-alive connection"))
            add("  throughput rows/s", _rate(o["rows_per_s"]), _rate(p.get("rows_per_s")),
                _ratio(o["rows_per_s"], p.get("rows_per_s")),
                f"model.predict alone: {_rate(f.get('rows_per_s'))}")
            add("  request latency p50", _ms(o["batch_p50_ms"]), _ms(p.get("batch_p50_ms")),
                _ratio(p.get("batch_p50_ms"), o["batch_p50_ms"]),
                f"model.predict alone: {_ms(f.get('batch_ms'))}")
            add("  server CPU per request", _ms(o["batch_cpu_ms_per_request"]),
                _ms(p.get("batch_cpu_ms_per_request")),
                _ratio(p.get("batch_cpu_ms_per_request"), o["batch_cpu_ms_per_request"]))
        add("3. checks")
        add("  startup: spawn → /health 200 (once)", f"{o['startup_s']:,.2f} s",
            f"{p['startup_s']:,.2f} s" if p else "—", _ratio(p.get("startup_s"), o["startup_s"]),
            f"processes: ours {o['processes']}" + (f", MLflow {p['processes']} (CLI + uvicorn)"
                                                   if p else ""))
        wrong = o["wrong"] + o.get("batch_wrong", 0) + p.get("wrong", 0) + p.get("batch_wrong", 0)
        add("  predictions equal model.predict", "", "", "",
            _check(s.get("sanity_match", False) and wrong == 0)
            + f" (5-row sanity request: {'same' if s.get('sanity_match') else 'DIFFERENT'}; "
              f"every reply checked: {wrong} wrong)")
        conns = [o["connections"], o.get("batch_connections")]
        if p:
            conns += [p["connections"], p.get("batch_connections")]
        add("  connections opened per measurement", "", "", "",
            _check(all(c == len(res["models"][kind]["rounds"]) for c in conns if c is not None))
            + " one each (keep-alive held)")
    mon = res.get("monitoring_rows")
    if mon:
        add("")
        add("monitoring sample stored by ours", note=(
            ", ".join(f"{k} {v:,} rows" for k, v in mon.items())
            + f" (--sample-rate {meta['sample_rate_ours']}: about that share of the rows scored)"))
    lines = _table(_HEADER, rows)
    ours, peer = meta.get("ours", {}), meta.get("peer", {})
    head = (f"serving benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{ours.get('jupyter-mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) vs MLflow "
            f"{peer.get('mlflow', '— (skipped)')}; {meta['machine']['cpus']} CPUs; "
            f"one server process each; ratio = how many times jupyter-mlops is ahead")
    stack = [f"  {LABEL[side]}: " + ", ".join(
        f"{k} {v}" for k, v in vers.items()
        if k in ("scikit-learn", "fastapi", "starlette", "uvicorn", "uvloop", "httptools",
                 "pandas", "numpy", "mlflow")) for side, vers in (("ours", ours), ("peer", peer))
        if vers]
    tail = [f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    return "\n".join([head, *stack, "", *lines, "", *tail])


_HEADER = ("figure", "jupyter-mlops", "MLflow", "ratio", "notes")




def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests and rounds")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated, from {', '.join(MODELS)} (default: all)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python",
                    help="MLflow's Python (default: from setup_peer.sh mlflow-serving)")
    ap.add_argument("--skip-mlflow", action="store_true", help="measure jupyter-mlops only")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/serving-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    if args.skip_mlflow:
        args.peer_python = None
    elif not args.peer_python:
        args.peer_python = peer_python("mlflow-serving")
    results = Bench(args).run()
    save(results, render, "serving", args.quick, args.out)


if __name__ == "__main__":
    main()
