#!/usr/bin/env python
"""Pipeline steps on a Dask cluster beside the local runner, at equal concurrency: 8
independent steps that each sleep 5 s, run by the local runner with `--workers 2` and on 2
Dask workers with one thread each.

    python benchmarks/bench_dask_pipeline.py [--quick] [--repeats R] [--quiet-lock /tmp/quiet.lock]

Run it with jupyter-mlops's Python; the working tree is measured (the repo root first on
PYTHONPATH of every process: the runners, the Dask scheduler and workers, and through them
the step processes and their kernels). One scratch project (embedded store) holds the
notebook (a `parameters` cell, then `time.sleep(seconds)`) and the pipeline `eight` (steps
s1…s8, no dependencies). The cluster is a `dask scheduler` and two `dask worker --nthreads 1
--no-nanny` processes on localhost (tests/dask_cluster.py starts them), up for the whole
benchmark, as a cluster is.

Each sample is a fresh `jupyter mlops pipeline run eight --quiet` process, with `--workers 2`
(local) or `--executor dask://…` (dask), timed from its start to its exit: both sides start
cold (a new runner process: its imports, and on the Dask side its client's connection and the
cluster checks), after one untimed run of each (the machine warm: page cache, compiled files,
the workers' imports). The sides alternate, the first one swapped each repetition; medians.
The store's record of each run gives the run's own time and each step's. BLAS/OpenMP threads
are 1 everywhere. Writes benchmarks/results/dask-pipeline-<date>.json and .txt.

The same file is the worker the driver starts: `bench_dask_pipeline.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    Driver,
    check,
    code_digest,
    git_describe,
    loads,
    med,
    quiet,
    run_worker,
    save,
    secs,
    versions,
)
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
FULL = {"repeats": 5, "steps": 8, "sleep_s": 5.0}
QUICK = {"repeats": 1, "steps": 8, "sleep_s": 1.0}
GOAL = 1.10  # the Dask run's wall time at most +10 % over the local runner's
SIDES = ("local", "dask")
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# -- worker tasks (fresh processes, in the scratch project) ------------------------------------
def task_prepare(a: dict) -> dict:
    """The notebook and the pipeline of `steps` independent steps."""
    import nbformat

    import jupyter_mlops as mlops

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"seconds = {a['sleep_s']}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import time\n\ntime.sleep(seconds)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, "sleep.ipynb")
    mlops.export_pipeline("eight", steps=[{"name": f"s{i + 1}", "notebook": "sleep.ipynb"}
                                          for i in range(a["steps"])])
    return {"steps": a["steps"]}


def task_records(a: dict) -> dict:
    """Each run of `eight`, oldest first: its own seconds, status, and its steps' seconds
    and workers."""
    import jupyter_mlops as mlops

    out = []
    for run_id in reversed(mlops.list_pipeline_runs("eight", limit=1000)["run_id"].tolist()):
        run = mlops.get_pipeline_run(run_id)
        out.append({"id": run.id, "status": run.status, "seconds": run.ended_at - run.started_at,
                    "steps": [{"step": s.step, "status": s.status, "seconds": s.seconds,
                               "worker": s.worker} for s in run.steps]})
    return {"runs": out}


TASKS = {"prepare": task_prepare, "records": task_records}


class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.opts = dict(QUICK if args.quick else FULL)
        if args.repeats:
            self.opts["repeats"] = args.repeats
        self.lock = args.quiet_lock
        self.keep = args.keep
        self.errors: list[str] = []
        self.t_start = time.perf_counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="mlops-bench-dask-pipeline-"))
        self.project = self.tmp / "project"
        self.project.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        self.env.update(THREADS, MLOPS_PROJECT_ROOT=str(self.project), PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))

    def worker(self, task: str, args: dict) -> dict:
        return run_worker(sys.executable, str(Path(__file__)), task, args, env=self.env,
                          cwd=self.project, timeout=600)

    def sample(self, side: str, url: str, label: str) -> dict:
        """One run of the pipeline by a fresh runner process: its wall time."""
        where = ["--workers", "2"] if side == "local" else ["--executor", url]
        cmd = [sys.executable, "-m", "jupyter_mlops.cli", "pipeline", "run", "eight", "--quiet",
               *where]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=self.env, cwd=self.project, capture_output=True,
                              text=True, timeout=1800)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            self.errors.append(f"{label} {side}: exit {proc.returncode}: "
                               f"{(proc.stderr or proc.stdout)[-1000:]}")
        self.log(f"  {side}: {wall:.2f} s")
        return {"side": side, "label": label, "wall_s": wall, "rc": proc.returncode}

    def run(self) -> dict:
        sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
        from dask_cluster import dask_cluster

        o = self.opts
        digest = code_digest()
        self.worker("prepare", {"steps": o["steps"], "sleep_s": o["sleep_s"]})
        os.environ.update(self.env)  # the cluster's processes: the working tree, one thread
        for key in [k for k in os.environ if k.startswith("MLOPS_")]:
            if key not in self.env:
                del os.environ[key]
        samples: list[dict] = []
        with dask_cluster(self.tmp / "cluster", workers=2) as cluster:
            self.log(f"cluster {cluster.address}: 2 workers × 1 thread")
            with quiet(self.lock, self.log):
                load_before = list(os.getloadavg())
                self.log("warm-up: one untimed run of each")
                warmup = [self.sample(side, cluster.url, "warm-up") for side in SIDES]
                for rep in range(o["repeats"]):
                    self.log(f"repetition {rep + 1}/{o['repeats']}")
                    for side in (SIDES if rep % 2 == 0 else SIDES[::-1]):
                        samples.append({**self.sample(side, cluster.url, f"rep{rep}"),
                                        "rep": rep})
                load_after = list(os.getloadavg())
        records = self.worker("records", {})["runs"]
        if len(records) == len(warmup) + len(samples):  # one run per sample, in order
            for s, r in zip([*warmup, *samples], records, strict=True):
                s["record"] = r
        else:
            self.errors.append(f"{len(records)} runs recorded for "
                               f"{len(warmup) + len(samples)} samples: no run figures")
        if code_digest() != digest:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran")
        if self.keep:
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return {"benchmark": "dask-pipeline",
                "when": datetime.datetime.now().isoformat(timespec="seconds"),
                "options": o, "cpus": os.cpu_count(), "quiet_lock": self.lock,
                "load_before": load_before, "load_after": load_after, "warmup": warmup,
                "samples": samples, "summary": summarize(samples), "git": git_describe(),
                "code": digest, "versions": versions(["dask", "distributed", "papermill"],
                                                     ours=True),
                "errors": self.errors}


def summarize(samples: list[dict]) -> dict:
    out = {}
    for side in SIDES:
        rows = [s for s in samples if s["side"] == side and s["rc"] == 0]
        records = [s["record"] for s in rows if "record" in s]
        steps = [st for r in records for st in r["steps"]]
        out[side] = {"wall_s": med([s["wall_s"] for s in rows]),
                     "run_s": med([r["seconds"] for r in records]),
                     "step_s": med([st["seconds"] for st in steps]),
                     "runs": len(rows),
                     "workers": sorted({st["worker"] or "(local)" for st in steps})}
    local, dask = out["local"]["wall_s"], out["dask"]["wall_s"]
    out["ratio"] = dask / local if local and dask else None
    return out


def render(r: dict) -> str:
    o, s = r["options"], r["summary"]
    ideal = -(-o["steps"] // 2) * o["sleep_s"]  # the sleeps alone, two at a time
    rows = [(f"{name}: {what}", secs(s["dask"][key]), secs(s["local"][key]),
             f"{s['dask'][key] / s['local'][key]:.3f}" if s["dask"][key] and s["local"][key]
             else "", note)
            for name, what, key, note in (
                ("wall", "runner process, start to exit", "wall_s",
                 f"the sleeps alone: {ideal:.0f} s"),
                ("run", "the store's run record", "run_s", "started_at → ended_at"),
                ("step", "one step (median)", "step_s", "started_at → ended_at of an attempt"))]
    ratio = s["ratio"]
    lines = [f"Pipeline steps on Dask: {o['steps']} independent steps of {o['sleep_s']:g} s, "
             f"2 Dask workers × 1 thread against the local runner with --workers 2; medians of "
             f"{o['repeats']} alternating repetitions, each a cold runner process after one "
             f"warm-up run of each; {r['cpus']} cores, load {loads(r['load_before'])} before, "
             f"{loads(r['load_after'])} after"
             + (f", quiet lock {r['quiet_lock']} held" if r["quiet_lock"] else ""),
             "", *_table(("figure", "dask", "local", "dask/local", "notes"), rows), "",
             f"workers the steps ran on: {', '.join(s['dask']['workers'])}",
             f"dask over local (wall): {ratio:.3f} (goal ≤ {GOAL:.2f}) {check(ratio <= GOAL)}"
             if ratio else "dask over local: —"]
    if r["errors"]:
        lines += ["", "errors:", *r["errors"]]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repetition of 1-second steps")
    ap.add_argument("--repeats", type=int, help=f"repetitions (default {FULL['repeats']})")
    ap.add_argument("--quiet-lock", metavar="PATH",
                    help="hold this lock file (other agents wait on it) while measuring")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/dask-pipeline-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    a = ap.parse_args()
    if a.render:
        import json

        print(render(json.loads(Path(a.render).read_text())))
        return
    save(Bench(a).run(), render, "dask-pipeline", a.quick, a.out)


if __name__ == "__main__":
    main()
