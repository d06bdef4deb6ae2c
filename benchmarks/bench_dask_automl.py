#!/usr/bin/env python
"""AutoML on a Dask cluster: trials per minute with 1 and 2 workers (one thread each), and the
held-out score of each search's winner, beside the local executor.

    python benchmarks/bench_dask_automl.py [--quick] [--trials N] [--repeats R]

Run it with jupyter-mlops's Python (the repo root first on PYTHONPATH, the `dask` extra
installed). Data: `make_classification(n_samples=6000, n_features=40, n_informative=15,
random_state=0)` (generated, no download), split 75/25 (stratified, random_state=0). Each
measurement is a fresh process in a fresh project folder that first starts its cluster
(`distributed.LocalCluster(n_workers=K, threads_per_worker=1, processes=True)`: real worker
processes) and then runs `automl(X_train, y_train, n_trials=N, time_budget=None, cv=3,
seed=0, executor=cluster)`; "local" runs the same search in the process itself. Trials per
minute = N / the search's own time (metric `search_time_s`: the trials, not the refit);
BLAS/OpenMP threads are 1 everywhere, so a worker is one core. The configurations alternate,
R times each; medians. Writes benchmarks/results/dask-automl-<date>.json and .txt.

The same file is the worker the driver starts: `bench_dask_automl.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, check, code_digest, git_describe, med, run_worker, save, versions
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
CONFIGS = {"local": 0, "dask-1": 1, "dask-2": 2}
GOAL = 1.7  # trials per minute with 2 workers over 1


def _data():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=6000, n_features=40, n_informative=15,
                               random_state=0)
    import pandas as pd

    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    return train_test_split(X, pd.Series(y, name="y"), test_size=0.25, stratify=y,
                            random_state=0)


def task_search(args: dict) -> dict:
    """One search in this fresh process: its cluster first (not timed), then the search."""
    os.environ["MLOPS_PROJECT_ROOT"] = args["project"]
    X_train, X_test, y_train, y_test = _data()
    import jupyter_mlops as mlops

    cluster = client = None
    executor = "local"
    if args["workers"]:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=args["workers"], threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = executor = Client(cluster)
    start = time.perf_counter()
    result = mlops.automl(X_train, y_train, n_trials=args["trials"], time_budget=None, cv=3,
                          seed=0, executor=executor, progress=False)
    wall = time.perf_counter() - start
    run = mlops.get_run(result.run_id)
    board = result.leaderboard
    out = {"search_s": run.metrics["search_time_s"], "wall_s": wall,
           "trials": len(board), "complete": int((board.state == "complete").sum()),
           "held_out": float(result.best_estimator.score(X_test, y_test)),
           "cv": float(result.best_score), "best": result.best_params["estimator"]}
    if client is not None:
        client.close()
        cluster.close()
    return out


TASKS = {"search": task_search}


class Bench(Driver):
    def __init__(self, trials: int, repeats: int):
        self.trials, self.repeats = trials, repeats
        self.errors: list[str] = []
        self.t_start = time.perf_counter()
        self.samples: dict[str, list[dict]] = {name: [] for name in CONFIGS}

    def run(self) -> dict:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MLOPS_EXECUTOR": "local"}
        order = list(CONFIGS)
        for rep in range(self.repeats):
            for name in order if rep % 2 == 0 else reversed(order):
                with tempfile.TemporaryDirectory() as tmp:
                    self.log(f"{name} repeat {rep + 1}/{self.repeats}")
                    args = {"project": tmp, "workers": CONFIGS[name], "trials": self.trials}
                    got = self.attempt(f"{name} #{rep + 1}", lambda a=args, t=tmp, n=name: run_worker(
                        sys.executable, str(Path(__file__)), "search", a, env=env, cwd=t,
                        timeout=3600, label=f"{n}: "))
                    if got is not None:
                        got["per_minute"] = got["trials"] / got["search_s"] * 60
                        self.samples[name].append(got)
                        self.log(f"  {got['per_minute']:.1f} trials/min, held-out "
                                 f"{got['held_out']:.4f} ({got['best']})")
        summary = {name: {"trials_per_minute": med([s["per_minute"] for s in rows]),
                          "search_s": med([s["search_s"] for s in rows]),
                          "held_out": med([s["held_out"] for s in rows])}
                   for name, rows in self.samples.items()}
        one, two = (summary[n]["trials_per_minute"] for n in ("dask-1", "dask-2"))
        return {"benchmark": "dask-automl", "trials": self.trials, "repeats": self.repeats,
                "samples": self.samples, "summary": summary,
                "speedup_2_over_1": (two / one) if one and two else None,
                "load_before": list(os.getloadavg()), "git": git_describe(),
                "code": code_digest(), "versions": versions(
                    ["distributed", "dask", "optuna", "scikit-learn"], ours=True),
                "errors": self.errors}


def render(r: dict) -> str:
    rows = []
    for name, s in r["summary"].items():
        rows.append((name, f"{s['trials_per_minute'] or 0:.1f} trials/min",
                     f"{s['search_s'] or 0:.1f} s", f"held-out {s['held_out'] or 0:.4f}", ""))
    speed = r["speedup_2_over_1"]
    lines = [f"AutoML trials on Dask: {r['trials']} trials per search, cv=3, medians of "
             f"{r['repeats']} (load before: {' '.join(f'{x:.2f}' for x in r['load_before'])})",
             "", *_table(("executor", "throughput", "search time", "score", ""), rows), "",
             f"2 workers over 1: {speed:.2f}× (goal ≥ {GOAL}×) {check((speed or 0) >= GOAL)}"
             if speed else "2 workers over 1: —"]
    if r["errors"]:
        lines += ["", "errors:", *r["errors"]]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="12 trials, 1 repeat")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    trials, repeats = (12, 1) if a.quick else (a.trials, a.repeats)
    save(Bench(trials, repeats).run(), render, "dask-automl", a.quick, a.out)


if __name__ == "__main__":
    main()
