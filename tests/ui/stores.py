"""Stores the browser tests share, built through the public Python API: many runs (the
tracking benchmark's data: 20 params and 10 metrics each) and an AutoML search whose trials
are child runs. Built once a session (conftest's `big_store`) and copied into each module's
project, so every module gets its own store without paying for the build again."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

BIG = "big"  # the experiment of the many runs
AUTOML = "automl"  # the experiment of the AutoML search
BIG_RUNS = 10_000
TRIALS = 12


def run_values(i: int) -> tuple[dict, dict]:
    """Params (20: p0 one of seven strings, then ints, floats and strings) and metrics (10,
    m0…m9 in [0, 1)) of run number `i`, the same on every build."""
    import random

    rng = random.Random(i)
    params: dict = {"p0": f"v{i % 7}"}
    for j in range(1, 20):
        if j % 3 == 0:
            params[f"p{j}"] = rng.randrange(1000)
        elif j % 3 == 1:
            params[f"p{j}"] = round(rng.random(), 4)
        else:
            params[f"p{j}"] = f"s{rng.randrange(50)}"
    return params, {f"m{j}": rng.random() for j in range(10)}


def fill(runs: int = BIG_RUNS, trials: int = TRIALS) -> dict:
    """Fill the current project's store: `runs` runs named run-0… in BIG, then an AutoML
    search on iris (linear and k-NN families, `trials` trials, 3 folds) in AUTOML. Returns
    what was made and how long it took."""
    import jupyter_mlops as mlops

    started = time.perf_counter()
    for i in range(runs):
        params, metrics = run_values(i)
        with mlops.start_run(name=f"run-{i}", experiment=BIG, params=params):
            mlops.log_metrics(metrics)
    runs_s = time.perf_counter() - started
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    started = time.perf_counter()
    result = mlops.automl(X, y, n_trials=trials, time_budget=120, cv=3,
                          estimators=["linear", "knn"], experiment=AUTOML, progress=False)
    parent = mlops.search_runs(experiment=AUTOML, filter="name = 'automl'")["run_id"].iloc[0]
    return {"runs": runs, "runs_s": runs_s, "automl_s": time.perf_counter() - started,
            "automl_run": parent, "best_score": result.best_score}


def copy_store(template: Path, root: Path) -> None:
    """Give the project at `root` a copy of the store (and artifacts) of `template`."""
    shutil.copytree(template / ".mlops", root / ".mlops")
