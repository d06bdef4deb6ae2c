#!/usr/bin/env python
"""AutoML benchmark: `jupyter_mlops.automl` beside FLAML 2.7, held-out scores and tracking overhead.

    bash benchmarks/setup_peer.sh flaml       # once: builds FLAML's own venv outside the repo
    python benchmarks/bench_automl.py [--quick]

Run it with jupyter-mlops's Python (the repo root goes first on PYTHONPATH); FLAML runs in its
venv's Python. 1. Held-out score: on sklearn's bundled breast_cancer, wine, digits (accuracy) and
diabetes (r2), each split `train_test_split(test_size=0.25, random_state=split)` (stratified for
classification), ours `automl(X_train, y_train, time_budget=B, seed=split)` and FLAML
`AutoML().fit(..., time_budget=B, n_jobs=1, seed=split)` are scored on the test part; wall time,
trials and the chosen estimator beside. 2. Tracking overhead: `automl(X, y, n_trials=N,
time_budget=None, seed=0, cv=5)` on breast_cancer and digits (a) with the tracking calls made
inside trials timed, (b) against the same search with those calls made no-ops. Every figure is
a fresh process (ours: in a fresh project folder), one thread each (OMP/OPENBLAS/MKL = 1), pinned
to one core (sched_setaffinity, as `taskset -c`); one ours and one FLAML process run at once, the
cores swapped every configuration. Writes benchmarks/results/automl-<date>.json and .txt.

The same file is the worker the driver starts: `bench_automl.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
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
    run_worker,
    save,
    versions,
)
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
DATASETS = {"breast_cancer": ("classification", "accuracy"), "wine": ("classification", "accuracy"),
            "digits": ("classification", "accuracy"), "diabetes": ("regression", "r2")}
OVERHEAD_DATASETS = ("breast_cancer", "digits")
FULL = {"splits": [0, 1, 2, 3, 4], "budgets": [30, 120], "flaml_splits": None,
        "overhead": {"n_trials": 30, "reps": 3}}
QUICK = {"splits": [0], "budgets": [30], "flaml_splits": None,
         "overhead": {"n_trials": 15, "reps": 1}}
TRACKED = ("start_run", "end_run", "log_metric", "log_metrics", "log_params", "set_tags")
THREADS = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
GOAL_POINTS, GOAL_OVERHEAD = 1.0, 0.05
TIE = 1e-9  # points: a split is a tie when both held-out scores are the same number


# -- in the workers ---------------------------------------------------------------------------
def _split(name: str, split: int) -> tuple[Any, Any, Any, Any]:
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    strat = y if DATASETS[name][0] == "classification" else None
    return tuple(train_test_split(X, y, test_size=0.25, random_state=split, stratify=strat))


def _held_out(name: str, y_true: Any, pred: Any) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    return float((accuracy_score if DATASETS[name][0] == "classification" else r2_score)(y_true, pred))


def _automl() -> Any:
    """`jupyter_mlops.automl`, the function, taken before `jupyter_mlops.automl.search` is
    imported: importing a submodule of the package first binds the attribute `automl` of
    `jupyter_mlops` to the subpackage, and `mlops.automl(...)` then raises TypeError."""
    import jupyter_mlops

    fn = jupyter_mlops.automl
    assert callable(fn), "jupyter_mlops.automl is the subpackage, not the function"
    return fn


def task_ours(a: dict) -> dict:
    """`automl(X_train, y_train, time_budget=B, seed=split)` (wall includes the refit and the
    logging), the refit pipeline scored on the test part; the phases timed apart."""
    t0 = time.perf_counter()
    automl = _automl()
    from jupyter_mlops.automl import search

    import_s, phases = time.perf_counter() - t0, {}
    X_tr, X_te, y_tr, y_te = _split(a["dataset"], a["split"])

    def timed(label: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                phases[label] = time.perf_counter() - start
        return wrapper

    search._search = timed("search_s", search._search)  # the trials
    search._finish = timed("finish_s", search._finish)  # refit, log_model, leaderboard, figure
    t0 = time.perf_counter()
    res = automl(X_tr, y_tr, time_budget=a["budget"], seed=a["split"], progress=False,
                       name="bench")
    wall = time.perf_counter() - t0
    lb = res.leaderboard
    errors = [e for e in lb["error"] if isinstance(e, str)]
    return {"score": _held_out(a["dataset"], y_te, res.best_estimator.predict(X_te)),
            "wall_s": wall, "import_s": import_s, "cv_score": float(res.best_score),
            "trials": len(lb), "states": dict(Counter(lb["state"])), "estimator": res.best_params[
                "estimator"], "per_estimator": dict(Counter(lb["estimator"])),
            "first_error": errors[0] if errors else None, **phases,
            "fit_s": float(lb["fit_time"].fillna(0).sum()),  # the folds' fit calls alone
            "setup_s": wall - phases.get("search_s", 0) - phases.get("finish_s", 0),
            "cpus": sorted(os.sched_getaffinity(0))}


def task_flaml(a: dict) -> dict:
    """`flaml.AutoML().fit(X_train, y_train, task, metric, time_budget=B, n_jobs=1, seed=split,
    verbose=0)`, `.predict` scored on the test part. Trials: every config FLAML evaluated (its
    per-learner counters); `config_history` holds only the improvements."""
    t0 = time.perf_counter()
    from flaml import AutoML

    import_s = time.perf_counter() - t0
    task, metric = DATASETS[a["dataset"]]
    X_tr, X_te, y_tr, y_te = _split(a["dataset"], a["split"])
    automl = AutoML()
    t0 = time.perf_counter()
    automl.fit(X_tr, y_tr, task=task, metric=metric, time_budget=a["budget"], n_jobs=1,
               seed=a["split"], verbose=0)
    wall = time.perf_counter() - t0
    per = {k: v for k, v in (getattr(automl, "_iter_per_learner", None) or {}).items() if v}
    return {"score": _held_out(a["dataset"], y_te, automl.predict(X_te)), "wall_s": wall,
            "import_s": import_s, "cv_score": 1 - float(automl.best_loss),
            "trials": sum(per.values()) if per else None, "improvements": len(automl.config_history),
            "estimator": automl.best_estimator, "per_estimator": per,
            "cpus": sorted(os.sched_getaffinity(0))}


def task_overhead(a: dict) -> dict:
    """`automl(X, y, n_trials=N, time_budget=None, seed=0, cv=5)` on the whole dataset, mode
    `timed` (each tracking call made while a trial runs is timed; nested calls count once),
    `plain` (untouched) or `noop` (those calls do nothing; start_run gives an object with an id).
    Trial windows come from wrapping `_Objective.__call__` (all modes alike)."""
    import types
    import uuid

    import sklearn.datasets

    automl = _automl()
    from jupyter_mlops.automl import search
    from jupyter_mlops.tracking import fluent

    X, y = getattr(sklearn.datasets, f"load_{a['dataset']}")(return_X_y=True, as_frame=True)
    mode, state, windows = a["mode"], {"trial": False, "depth": 0}, []
    spent: dict[str, list[float]] = {n: [0, 0.0] for n in TRACKED}
    objective = search._Objective.__call__

    def call(self: Any, trial: Any) -> float:
        start, state["trial"] = time.perf_counter(), True
        try:
            return objective(self, trial)
        finally:
            state["trial"] = False
            windows.append((start, time.perf_counter()))

    def patch(name: str, orig: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            if not state["trial"]:
                return orig(*args, **kw)
            if mode == "noop":
                return types.SimpleNamespace(id=uuid.uuid4().hex) if name == "start_run" else None
            if state["depth"]:
                return orig(*args, **kw)
            state["depth"], start = 1, time.perf_counter()
            try:
                return orig(*args, **kw)
            finally:
                state["depth"] = 0
                spent[name][0] += 1
                spent[name][1] += time.perf_counter() - start
        return wrapper

    search._Objective.__call__ = call
    if mode != "plain":
        for name in TRACKED:
            setattr(fluent, name, patch(name, getattr(fluent, name)))
    t0 = time.perf_counter()
    res = automl(X, y, n_trials=a["n_trials"], time_budget=None, seed=0, cv=5,
                       progress=False, name="bench")
    wall = time.perf_counter() - t0
    lb = res.leaderboard.sort_values("trial")
    window = windows[-1][1] - windows[0][0] if windows else None
    tracking = sum(s for _, s in spent.values())
    return {"mode": mode, "wall_s": wall, "window_s": window, "trials": len(windows),
            "in_trials_s": sum(e - s for s, e in windows), "tracking_s": tracking,
            "share": tracking / window if mode == "timed" and window else None,
            "by_call": {n: {"calls": c, "s": s} for n, (c, s) in spent.items() if c},
            "signature": [[int(r.trial), r.estimator, r.state, None if r.score != r.score else
                           round(float(r.score), 6)] for r in lb.itertuples()],
            "cpus": sorted(os.sched_getaffinity(0))}


def task_versions(a: dict) -> dict:
    return versions(["flaml", "optuna", "scikit-learn", "lightgbm", "xgboost", "numpy", "scipy",
                     "pandas"], ours=a["side"] == "ours")


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver -------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args, self.plan = args, json.loads(json.dumps(QUICK if args.quick else FULL))
        if args.flaml_once:
            self.plan["flaml_splits"] = self.plan["splits"][:1]
        self.python, self.peer_py = args.python or sys.executable, args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-automl-"))
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def worker(self, side: str, task: str, args: dict, cpu: int | None) -> dict:
        cwd = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=self.work))
        (cwd / ".mlops").mkdir()  # a fresh project folder (FLAML's is only its cwd)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_") and k != "PYTHONPATH"}
        env.update(THREADS, BENCH_CPU="" if cpu is None else str(cpu))
        if side == "ours":
            env.update(PYTHONPATH=str(ROOT), MLOPS_PROJECT_ROOT=str(cwd))
        with self.lock:  # two workers' lines at once
            self.log(f"{side} {task} {json.dumps(args)} on cpu {cpu}")
        load1, t0 = os.getloadavg()[0], time.perf_counter()
        out = run_worker(self.peer_py if side == "flaml" else self.python, __file__, task, args,
                         env=env, cwd=cwd, timeout=3 * args.get("budget", 600) + 600,
                         label=f"{side} ")
        return out | {"process_wall_s": time.perf_counter() - t0, "load1_before": load1, **args}

    def together(self, jobs: list[tuple[str, str, str, dict]], swap: bool) -> list[dict | None]:
        """Up to two (what, side, task, args) jobs at once, the first on core 0 (1 if `swap`)."""
        cpus = [1, 0] if swap else [0, 1]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(self.attempt, what, self.worker, side, task, args, cpus[i % 2])
                       for i, (what, side, task, args) in enumerate(jobs)]
            return [f.result() for f in futures]

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        p, flaml = self.plan, bool(self.peer_py)
        res: dict = {"meta": {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full", "plan": p,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "note": "2 noisy cores, shared with other test runs"},
            "git": git_describe(), "code_digest": code_digest(), "root": str(ROOT),
            "ours": self.worker("ours", "versions", {"side": "ours"}, None),
            "peer": self.worker("flaml", "versions", {"side": "flaml"}, None) if flaml else None},
            "scores": [], "overhead": []}
        try:
            n = 0
            for budget in p["budgets"]:
                for split in p["splits"]:
                    for ds in DATASETS:
                        args = {"dataset": ds, "split": split, "budget": budget}
                        jobs = [(f"ours {ds} split {split} {budget}s", "ours", "ours", args)]
                        if flaml and (p["flaml_splits"] is None or split in p["flaml_splits"]):
                            jobs.append((f"FLAML {ds} split {split} {budget}s", "flaml", "flaml", args))
                        for tool, r in zip(("ours", "flaml"), self.together(jobs, n % 2 == 1),
                                           strict=False):
                            if r:
                                res["scores"].append(r | {"tool": tool})
                        n += 1
            o = p["overhead"]
            for rep in range(o["reps"]):
                for i, ds in enumerate(OVERHEAD_DATASETS):
                    jobs = [(f"overhead {ds} {m} {rep + 1}", "ours", "overhead",
                             {"dataset": ds, "mode": m, "n_trials": o["n_trials"]})
                            for m in ("plain", "noop")]
                    res["overhead"] += [r for r in self.together(jobs, (rep + i) % 2 == 1) if r]
                jobs = [(f"overhead {ds} timed {rep + 1}", "ours", "overhead",
                         {"dataset": ds, "mode": "timed", "n_trials": o["n_trials"]})
                        for ds in OVERHEAD_DATASETS]
                res["overhead"] += [r for r in self.together(jobs, rep % 2 == 1) if r]
        finally:
            if self.args.keep:
                print(f"kept {self.work}", file=sys.stderr)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        res["errors"], res["elapsed_s"] = self.errors, time.perf_counter() - self.t_start
        return res | {"summary": summarize(res)}


# -- summary and table ------------------------------------------------------------------------
def _mean_std(xs: list[float]) -> tuple[float | None, float | None]:
    if not xs:
        return None, None
    return statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else None


def _record(scores: list[dict], ds: str, budget: int) -> dict | None:
    """Ours against FLAML split by split (the splits both ran): wins, ties (the same held-out
    score) and losses, and the paired differences in points (ours − FLAML, ×100)."""
    by = {(r["tool"], r["split"]): r["score"] for r in scores
          if r["dataset"] == ds and r["budget"] == budget}
    splits = sorted(sp for tool, sp in by if tool == "ours" and ("flaml", sp) in by)
    if not splits:
        return None
    diffs = [(by["ours", sp] - by["flaml", sp]) * 100 for sp in splits]
    mean, std = _mean_std(diffs)
    return {"splits": splits, "diffs": diffs, "mean": mean, "std": std,
            "wins": sum(d > TIE for d in diffs), "ties": sum(abs(d) <= TIE for d in diffs),
            "losses": sum(d < -TIE for d in diffs), "worst": min(diffs), "best": max(diffs)}


def summarize(res: dict) -> dict:
    s: dict = {"scores": {}, "overhead": {}}
    for budget in res["meta"]["plan"]["budgets"]:
        for ds in DATASETS:
            cell = s["scores"].setdefault(str(budget), {})[ds] = {}
            for tool in ("ours", "flaml"):
                runs = [r for r in res["scores"] if r["tool"] == tool and r["dataset"] == ds
                        and r["budget"] == budget]
                mean, std = _mean_std([r["score"] for r in runs])
                cell[tool] = {"n": len(runs), "mean": mean, "std": std,
                              "trials": med([r["trials"] for r in runs]),
                              "wall_s": med([r["wall_s"] for r in runs]),
                              "chosen": dict(Counter(r["estimator"] for r in runs))} if runs else None
            o, f = cell["ours"], cell["flaml"]
            cell["diff_points"] = (o["mean"] - f["mean"]) * 100 if o and f else None
            cell["record"] = _record(res["scores"], ds, budget)
    for ds in OVERHEAD_DATASETS:
        by = {m: [r for r in res["overhead"] if r["dataset"] == ds and r["mode"] == m]
              for m in ("timed", "plain", "noop")}
        timed = by["timed"]
        calls = {n: {"calls": med([r["by_call"].get(n, {}).get("calls") for r in timed]),
                     "ms_per_trial": med([r["by_call"][n]["s"] * 1e3 / r["trials"] for r in timed
                                          if n in r["by_call"]])} for n in TRACKED}
        m = {k: {f: med([r[f] for r in v]) for f in ("wall_s", "window_s", "trials")}
             for k, v in by.items()}
        sigs = [json.dumps(r["signature"]) for v in by.values() for r in v]
        pw, nw = m["plain"]["window_s"], m["noop"]["window_s"]
        s["overhead"][ds] = {"share": med([r["share"] for r in timed]),
                             "tracking_ms_per_trial": med([r["tracking_s"] * 1e3 / r["trials"]
                                                           for r in timed]),
                             "calls": {n: c for n, c in calls.items() if c["calls"]}, "median": m,
                             "window_overhead": (pw - nw) / nw if pw and nw else None,
                             "wall_overhead": (m["plain"]["wall_s"] - m["noop"]["wall_s"])
                             / m["noop"]["wall_s"] if m["plain"]["wall_s"] and m["noop"]["wall_s"]
                             else None, "same_trials": len(set(sigs)) == 1 if sigs else None,
                             "n": {k: len(v) for k, v in by.items()}}
    return s


def _score(c: dict | None) -> str:
    if not c:
        return "—"
    return f"{c['mean']:.4f}" + (f" ± {c['std']:.4f}" if c["std"] is not None else "")


def _record_lines(budget: str, cells: dict) -> list[str]:
    """The per-split record at one budget: wins-ties-losses of ours against FLAML on each
    dataset, the paired differences split by split, and the totals."""
    rows, total = [], [0, 0, 0]
    for ds, c in cells.items():
        r = c.get("record")
        if not r:
            continue
        total = [total[0] + r["wins"], total[1] + r["ties"], total[2] + r["losses"]]
        rows.append((ds, f"{r['wins']}-{r['ties']}-{r['losses']}",
                     f"{r['mean']:+.2f}" + (f" ± {r['std']:.2f}" if r["std"] is not None else ""),
                     f"{r['worst']:+.2f}", "splits " + ", ".join(
                         f"{sp}: {d:+.2f}" for sp, d in zip(r["splits"], r["diffs"], strict=True))))
    if not rows:
        return []
    head = (f"per-split record at {budget} s, ours vs FLAML on the same splits (win-tie-loss; "
            f"in all {total[0]}-{total[1]}-{total[2]})")
    return [head] + ["  " + ln for ln in _table(
        ("dataset", "W-T-L", "paired Δ mean ± std", "worst", "ours − FLAML by split, points"),
        rows)] + [""]


def render(res: dict) -> str:
    meta, s = res["meta"], res["summary"]
    ov, pv, plan = meta["ours"], meta.get("peer") or {}, meta["plan"]
    lines = [f"automl benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
             f"{ov.get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
             f"{', dirty' if meta['git']['dirty'] else ''}, code {meta['code_digest']}) vs FLAML "
             f"{pv.get('flaml', '— (skipped)')}; {meta['machine']['cpus']} CPUs, shared (noisy)",
             f"  ours: optuna {ov.get('optuna')}, scikit-learn {ov.get('scikit-learn')}, pandas "
             f"{ov.get('pandas')}; FLAML's venv: scikit-learn {pv.get('scikit-learn')}, lightgbm "
             f"{pv.get('lightgbm')}, xgboost {pv.get('xgboost')}, pandas {pv.get('pandas')}",
             "  each run a fresh process on ONE core (sched_setaffinity, as taskset -c), OMP/OPENBLAS/"
             "MKL threads 1, FLAML n_jobs=1; one ours and one FLAML process at once, cores swapped "
             "every configuration",
             f"  splits {plan['splits']} (test_size 0.25, stratified for classification); FLAML on "
             f"splits {plan['flaml_splits'] or plan['splits']}; score = held-out accuracy or r2; "
             "wall: ours includes the refit and logging; trials: ours len(leaderboard), FLAML "
             "configs evaluated", ""]
    for budget, cells in s["scores"].items():
        lines.append(f"time_budget={budget} s")
        rows = []
        for ds, c in cells.items():
            o, f, d = c["ours"], c["flaml"], c["diff_points"]
            note = "" if d is None else f"goal ≥ −{GOAL_POINTS:g} pt {check(d >= -GOAL_POINTS)}; "
            note += (f"trials {o and o['trials']} / {f and f['trials']}; wall {_secs(o and o['wall_s'])} / "
                     f"{_secs(f and f['wall_s'])}; chose {o and o['chosen']} / {f and f['chosen']}")
            rows.append((f"{ds} ({DATASETS[ds][1]})", _score(o), _score(f),
                         "—" if d is None else f"{d:+.2f}", note))
        lines += ["  " + ln for ln in _table(("dataset (metric)", "ours", "FLAML", "Δ points",
                                              "notes: ours / FLAML"), rows)] + [""]
        lines += _record_lines(budget, cells)
    n = plan["overhead"]
    lines.append(f"tracking overhead: automl(X, y, n_trials={n['n_trials']}, time_budget=None, "
                 f"seed=0, cv=5), median of {n['reps']} fresh process(es) per mode")
    rows = []
    for ds, o in s["overhead"].items():
        m, share = o["median"], o["share"]
        rows.append((f"{ds}: (a) tracking time / trial time", "—" if share is None else f"{share:.2%}",
                     "", "", ("" if share is None else f"goal < 5 % {check(share < GOAL_OVERHEAD)}; ")
                     + f"{o['tracking_ms_per_trial'] or 0:.1f} ms a trial: " + ", ".join(
                         f"{k} {c['ms_per_trial']:.1f} ms" for k, c in o["calls"].items())))
        wo = o["window_overhead"]
        rows.append((f"{ds}: (b) trials, tracked vs no-op", _secs(m["plain"]["window_s"]),
                     _secs(m["noop"]["window_s"]), "—" if wo is None else f"{wo:+.1%}",
                     ("" if wo is None else f"goal < 5 % {check(wo < GOAL_OVERHEAD)}; ") +
                     f"whole automl() {_secs(m['plain']['wall_s'])} vs {_secs(m['noop']['wall_s'])}"
                     f"; same trials in every process {check(bool(o['same_trials']))}"))
    lines += ["  " + ln for ln in _table(("figure", "tracked", "no-op", "extra", "notes"), rows)]
    ours = [r for r in res["scores"] if r["tool"] == "ours"]
    if ours:
        lines.append("ours, median: import " + _secs(med([r["import_s"] for r in ours])) +
                     ", before the trials " + _secs(med([r["setup_s"] for r in ours])) +
                     ", trials " + _secs(med([r.get("search_s") for r in ours])) + " (the folds' "
                     "fits " + f"{med([r['fit_s'] / r['search_s'] for r in ours if r.get('search_s')]):.0%}"
                     " of it), refit and logging " + _secs(med([r.get("finish_s") for r in ours])))
    lines.append(f"elapsed {res['elapsed_s'] / 60:.1f} min")
    return "\n".join(lines + [f"ERROR {e.splitlines()[0]}" for e in res.get("errors", []) if e])


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        if os.environ.get("BENCH_CPU"):  # before any import starts a thread
            os.sched_setaffinity(0, {int(os.environ["BENCH_CPU"])})
        return _worker_main(TASKS, sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="split 0, 30 s only; overhead with 15 "
                    "trials, one process per mode: a smoke test (~10 min)")
    ap.add_argument("--flaml-once", action="store_true", help="FLAML on the first split only")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python", help="FLAML's Python (default: setup_peer.sh flaml)")
    ap.add_argument("--skip-flaml", action="store_true", help="measure ours alone")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/automl-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        res = json.loads(Path(args.render).read_text())
        return print(render(res | {"summary": summarize(res)}))
    if not args.skip_flaml and not args.peer_python:
        args.peer_python = peer_python("flaml")
    save(Bench(args).run(), render, "automl", args.quick, args.out)


if __name__ == "__main__":
    main()
