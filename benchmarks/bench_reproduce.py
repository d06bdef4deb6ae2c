#!/usr/bin/env python
"""Reproduce benchmark: `jupyter mlops runs reproduce RUN` (env current, and env recorded with
its environment cache warm) beside running the same notebook with the same parameters by hand
with the papermill CLI, each a cold process, in one run on the same machine.

    python benchmarks/bench_reproduce.py [--quick] [--quiet-lock /tmp/quiet.lock]

Run it with the Python of jupyter-mlops's environment; the working tree is measured (the repo
root first on PYTHONPATH of every process, which their kernels inherit). The scratch project
is a git repository holding the notebook, committed: a seeded scikit-learn random forest on
the bundled digits data set, cross-validated inside a `%%track` cell, sized for ~10 s of
single-threaded work. The original run is made by the papermill CLI first; every repetition
then runs the papermill CLI on the notebook (same parameters), and reproduces that original
run with env current and with env recorded, the order rotating. The recorded environment is
built once first, into an empty cache of the benchmark's own (its cold build time is
reported, once).

Prints a table and writes benchmarks/results/reproduce-<date>.json and .txt. See
benchmarks/README.md. The same file is the worker the driver starts:
`bench_reproduce.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _common import ROOT, Driver, loads, quiet, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
FULL = {"reps": 5, "work_s": 10.0}
QUICK = {"reps": 1, "work_s": 2.0}
TARGET_RATIO = 1.10  # reproduce (env current) at most +10 % over papermill by hand
TARGET_RECORDED = 10.0  # env recorded, cache warm: at most +10 s over that
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
RECORD_ENV = "BENCH_REPRODUCE_RECORDS"  # where each kernel appends its record (a JSON line)
SIDE_ENV = "BENCH_REPRODUCE_SIDE"  # which contender a kernel belongs to
SIDES = ("papermill", "current", "recorded")

FIRST_CELL = "import time\n\nfirst_cell = time.time()\n%load_ext jupyter_mlops"
PARAMS_CELL = "n_estimators = 10\nseed = 0"
DATA_CELL = ("from sklearn.datasets import load_digits\n"
             "from sklearn.ensemble import RandomForestClassifier\n"
             "from sklearn.model_selection import cross_val_score\n\n"
             "X, y = load_digits(return_X_y=True)")
# the run: the work, then the kernel's record (inside the run: a snapshot ends with the run)
RUN_CELL = '''%%track -n forest --params n_estimators,seed --metrics accuracy
import json
import os
import sys

work_start, work_cpu = time.time(), time.process_time()
model = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1)
accuracy = float(cross_val_score(model, X, y, cv=5).mean())
work_end, work_cpu = time.time(), time.process_time() - work_cpu
print("accuracy", accuracy)


def started(pid):
    """When process `pid` started, on time.time()'s clock (from /proc: 10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
            + int(fields[19]) / os.sysconf("SC_CLK_TCK")), int(fields[1])


kernel_start, parent = started(os.getpid())
with open(os.environ["RECORD_ENV"], "a") as f:
    f.write(json.dumps({
        "side": os.environ.get("SIDE_ENV"), "accuracy": accuracy, "python": sys.executable,
        "kernel_start": kernel_start, "first_cell": first_cell, "work_start": work_start,
        "work_end": work_end, "work_cpu": work_cpu, "parent_start": started(parent)[0],
        "threads": os.environ.get("OMP_NUM_THREADS")}) + "\\n")'''.replace(
    "RECORD_ENV", RECORD_ENV).replace("SIDE_ENV", SIDE_ENV)


# --- worker tasks -------------------------------------------------------------------------------

def task_calibrate(args: dict) -> dict:
    """Seconds of the run cell's work for a small forest, alone in a fresh process (best of
    3: the machine is shared), to size the forest for `work_s`."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    X, y = load_digits(return_X_y=True)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        cross_val_score(RandomForestClassifier(n_estimators=args["n"], random_state=0,
                                               n_jobs=1), X, y, cv=5)
        times.append(time.perf_counter() - t0)
    return {"n": args["n"], "s": times}


def task_notebook(args: dict) -> dict:
    """The notebook, in the project (the current folder)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS_CELL)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell(FIRST_CELL), params,
                nbformat.v4.new_code_cell(DATA_CELL), nbformat.v4.new_code_cell(RUN_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, "forest.ipynb")
    return {}


def task_runs(args: dict) -> dict:
    """The original run (the first run named forest), and each reproduction as recorded."""
    import jupyter_mlops as mlops
    from jupyter_mlops.repro.reproduce import get_reproduction

    runs = mlops.search_runs(experiment=None)
    original = runs.sort_values("start_time").iloc[0]
    out = {"original": str(original["run_id"]), "runs": len(runs), "reproductions": {}}
    for rid in args.get("reproductions", []):
        r = get_reproduction(rid)
        out["reproductions"][rid] = {
            "state": r.state, "env": r.env, "source": r.source, "notes": r.notes,
            "run_id": r.run_id, "started_at": r.started_at, "ended_at": r.ended_at,
            "run_start": r.run.info["start_time"] if r.run else None,
            "run_end": r.run.info["end_time"] if r.run else None}
    return out


def task_profile(args: dict) -> dict:
    """One reproduction in this process with the parts of the work timed: the checks (reading
    the run and its snapshot), the checkout (the git worktree, in and out), the kernel's
    environment (the recorded one's reuse), the replay (papermill: kernel start, cells,
    shutdown), the comparison (metrics and diff_runs), from the call to its return."""
    t_import = time.perf_counter()
    from jupyter_mlops.repro import reproduce, worktree

    spent: dict[str, float] = {}
    t_import = time.perf_counter() - t_import

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    checkout = worktree.checkout

    @contextmanager
    def timed_checkout(*a, **k):
        t0 = time.perf_counter()
        with checkout(*a, **k) as code:
            spent["checkout in"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            yield code
            t2 = time.perf_counter()
        spent["checkout out"] = time.perf_counter() - t2
        spent["inside the checkout"] = t2 - t1

    worktree.checkout = timed_checkout
    reproduce._plan = timed("checks (the run, its snapshot, dataset pins)", reproduce._plan)
    reproduce._kernel = timed("kernel environment", reproduce._kernel)
    reproduce._compare = timed("comparison", reproduce._compare)
    from jupyter_mlops.repro import replay

    replay.execute = timed("replay (papermill)", replay.execute)
    t0 = time.perf_counter()
    done = reproduce.reproduce_run(args["run"], env=args["env"], progress=False)
    spent["reproduce_run"] = time.perf_counter() - t0
    spent["import"] = t_import
    return {"state": done.state, "notes": done.notes, "spent": spent}


TASKS = {"calibrate": task_calibrate, "notebook": task_notebook, "runs": task_runs,
         "profile": task_profile}


# --- the driver ---------------------------------------------------------------------------------

class Bench(Driver):
    def __init__(self, opts: dict, lock: str | None, keep: bool):
        self.opts, self.lock, self.keep, self.errors = opts, lock, keep, []
        self.t_start = time.perf_counter()
        self.bin = Path(sys.executable).parent
        self.tmp = Path(tempfile.mkdtemp(prefix="mlops-bench-reproduce-"))
        self.project = self.tmp / "project"
        self.records = self.tmp / "kernels.jsonl"
        self.env_cache = self.tmp / "envs"

    def env(self, side: str = "") -> dict:
        """The one environment of every process, ours and papermill's: this venv's bin first
        on PATH, the working tree first on PYTHONPATH, the scratch project and its own
        environment cache, single-threaded BLAS, bytecode written (as Python does by default:
        the warm-up compiles what the installs did not)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JPY_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's machine: see the README
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", "")])
        env["PYTHONPATH"] = str(ROOT)
        env.update(THREADS, MLOPS_PROJECT_ROOT=str(self.project),
                   MLOPS_NOTEBOOK=str(self.project / "forest.ipynb"),
                   MLOPS_ENV_CACHE=str(self.env_cache))
        env[RECORD_ENV] = str(self.records)
        env[SIDE_ENV] = side
        return env

    def worker(self, task: str, args: dict) -> dict:
        return run_worker(sys.executable, __file__, task, args, env=self.env(),
                          cwd=self.project, timeout=1800)

    def timed(self, side: str, argv: list[str]) -> dict:
        """Run argv in the project to its end: wall time, exit, what it said last."""
        load = os.getloadavg()[0]
        t0 = time.time()
        p0 = time.perf_counter()
        proc = subprocess.run(argv, env=self.env(side), cwd=self.project, capture_output=True,
                              text=True, timeout=1800)
        wall = time.perf_counter() - p0
        out = {"side": side, "wall": wall, "t0": t0, "t1": time.time(), "rc": proc.returncode,
               "load1": load}
        found = re.search(r"\(reproduction ([0-9a-f]{32})\)", proc.stdout)
        if found:
            out["reproduction"] = found.group(1)
            out["message"] = proc.stdout.strip().splitlines()[0]
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            self.errors.append(f"{side} exited {proc.returncode}: {' | '.join(tail)}")
        return out

    def papermill(self, name: str) -> dict:
        return self.timed("papermill", [str(self.bin / "papermill"), "forest.ipynb",
                                        f"out/{name}.ipynb", "-p", "n_estimators",
                                        str(self.n), "-p", "seed", "0"])

    def reproduce(self, env: str) -> dict:
        argv = [str(self.bin / "jupyter"), "mlops", "runs", "reproduce", self.original]
        return self.timed(env, argv + (["--env", "recorded"] if env == "recorded" else []))

    def setup(self) -> None:
        """The project: git repository, notebook committed, the forest sized, the original."""
        self.project.mkdir()
        (self.project / "out").mkdir()
        self.worker("notebook", {})
        (self.project / ".gitignore").write_text(".mlops/\nout/\n")
        for argv in (["init", "-q"], ["add", "."],
                     ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit",
                      "-q", "-m", "the notebook"]):
            subprocess.run(["git", *argv], cwd=self.project, check=True, capture_output=True)
        cal = self.worker("calibrate", {"n": 20})
        self.n = max(1, round(20 * self.opts["work_s"] / min(cal["s"])))
        self.log(f"forest of {self.n} trees for ~{self.opts['work_s']:.0f} s "
                 f"(20 trees: {min(cal['s']):.2f} s)")
        made = self.papermill("original")
        if made["rc"] != 0:
            raise SystemExit(f"the original run failed: {self.errors[-1]}")
        self.original = self.worker("runs", {})["original"]

    def run(self) -> dict:
        o = self.opts
        digest = _code_digest()
        self.setup()
        results: dict = {"n_estimators": self.n, "original": self.original}
        with quiet(self.lock, self.log):
            self.log("env recorded, cold: building its environment into an empty cache")
            results["recorded_cold"] = self.reproduce("recorded")
            results["recorded_cold"]["load_after"] = list(os.getloadavg())
        with quiet(self.lock, self.log):
            results["load_before"] = list(os.getloadavg())
            self.log("warm-up: one untimed run of each")
            results["warmup"] = [self.papermill("warmup"), self.reproduce("current"),
                                 self.reproduce("recorded")]
            samples: list[dict] = []
            for rep in range(o["reps"]):
                self.log(f"repetition {rep + 1}/{o['reps']}")
                order = SIDES[rep % 3:] + SIDES[:rep % 3]
                for side in order:
                    sample = self.papermill(f"rep{rep}") if side == "papermill" \
                        else self.reproduce(side)
                    samples.append({**sample, "rep": rep})
            self.log("profile: one reproduction of each env in a process, its parts timed")
            results["profile"] = {env: self.attempt(f"profile {env}", self.worker, "profile",
                                                    {"run": self.original, "env": env})
                                  for env in ("current", "recorded")}
            results["load_after"] = list(os.getloadavg())
        results["samples"] = samples
        kernels = [json.loads(line) for line in self.records.read_text().splitlines()]
        results["kernels"] = kernels
        ids = [s["reproduction"] for s in [results["recorded_cold"], *samples]
               if s.get("reproduction")]
        results["store"] = self.worker("runs", {"reproductions": ids})
        if _code_digest() != digest:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran")
        if self.keep:
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        import papermill

        return {"when": datetime.datetime.now().isoformat(timespec="seconds"),
                "git": _git_describe(), "python": platform.python_version(),
                "versions": {"papermill": papermill.__version__}, "cpus": os.cpu_count(),
                "options": o, "quiet_lock": self.lock, **results, "errors": self.errors}


def _pair(samples: list[dict], kernels: list[dict]) -> list[dict]:
    """Each sample with its kernel's record (the one whose work ended inside its wall time)."""
    out = []
    for s in samples:
        k = next((k for k in kernels if k["side"] == s["side"]
                  and s["t0"] <= k["work_end"] <= s["t1"]), None)
        out.append({**s, "kernel": k})
    return out


PHASES = (
    ("spawn → kernel process starts", "t0", "kernel_start"),
    ("kernel start → first cell", "kernel_start", "first_cell"),
    ("first cell → the work (load_ext, imports, data)", "first_cell", "work_start"),
    ("the work (the forest's cross-validation)", "work_start", "work_end"),
    ("the work's end → the process exits", "work_end", "t1"),
)


def render(r: dict) -> str:
    samples = _pair(r["samples"], r["kernels"])

    def walls(side: str) -> list[float]:
        return [s["wall"] for s in samples if s["side"] == side and s["rc"] == 0]

    def phase(side: str, start: str, end: str) -> float | None:
        vals = []
        for s in samples:
            k = s["kernel"]
            if s["side"] != side or k is None:
                continue
            points = {**k, "t0": s["t0"], "t1": s["t1"]}
            vals.append(points[end] - points[start])
        return _med(vals)

    pm, cur, rec = (_med(walls(s)) for s in SIDES)
    by_rep = [_ratio_in(samples, rep, "current") for rep in range(r["options"]["reps"])]
    rows = [
        ("papermill forest.ipynb out.ipynb -p … (by hand)", _secs(pm), "", "", ""),
        ("jupyter mlops runs reproduce RUN (env current)", _secs(cur),
         _pct(cur, pm), "", _check(cur is not None and pm is not None
                                   and cur <= pm * TARGET_RATIO) + " goal ≤ +10 %"),
        ("    ratio within each repetition (median)", "", _pct(_med(by_rep), 1.0), "",
         " ".join(f"{x:.3f}" for x in by_rep if x)),
        ("jupyter mlops runs reproduce RUN --env recorded (cache warm)", _secs(rec),
         _pct(rec, pm), _plus(rec, cur),
         _check(rec is not None and cur is not None and rec - cur <= TARGET_RECORDED)
         + " goal ≤ +10 s over env current"),
        ("    over papermill by hand", "", "", _plus(rec, pm), ""),
    ]
    cold = r.get("recorded_cold") or {}
    rows.append(("env recorded, cold: building the environment (once)", _secs(cold.get("wall")),
                 "", _plus(cold.get("wall"), rec), "uv's own download cache as found"))
    rows.append(("where the time goes (kernel records; medians)", "", "", "", ""))
    for label, start, end in PHASES:
        rows.append((f"    {label}", " / ".join(_secs(phase(s, start, end)) for s in SIDES),
                     "", "", ""))
    for env, prof in (r.get("profile") or {}).items():
        if prof:
            sp = prof["spent"]
            rows.append((f"in one process, env {env} ({prof['state']})",
                         _secs(sp.get("reproduce_run")), "", "", ", ".join(
                             f"{k} {_secs(v)}" for k, v in sp.items() if k != "reproduce_run")))
    states = {}
    for rep in (r.get("store") or {}).get("reproductions", {}).values():
        states[(rep["env"], rep["state"], rep["source"])] = states.get(
            (rep["env"], rep["state"], rep["source"]), 0) + 1
    lines = [f"Reproduce, {r['when']}, git {r['git']['commit'][:8]}"
             f"{' (dirty)' if r['git']['dirty'] else ''}, Python {r['python']}, papermill "
             f"{r['versions']['papermill']}, {r['options']['reps']} repetitions (medians), a "
             f"forest of {r['n_estimators']} trees", "",
             "reproductions: " + ", ".join(f"{n}× env {e} {s} (code from the {src})"
                                           for (e, s, src), n in sorted(states.items())),
             f"load average: {loads(r['load_before'])} before, {loads(r['load_after'])} "
             f"after ({r['cpus']} cores, quiet lock {'held' if r['quiet_lock'] else 'not taken'})",
             "phases are papermill / env current / env recorded", ""]
    lines += _table(("figure", "wall", "vs papermill", "difference", "notes"), rows)
    lines += [f"error: {e}" for e in r["errors"]]
    return "\n".join(lines)


def _ratio_in(samples: list[dict], rep: int, side: str) -> float | None:
    one = {s["side"]: s["wall"] for s in samples if s["rep"] == rep and s["rc"] == 0}
    return one[side] / one["papermill"] if side in one and "papermill" in one else None


def _pct(x: float | None, base: float | None) -> str:
    return "" if x is None or not base else f"{(x / base - 1) * 100:+.1f} %"


def _plus(x: float | None, base: float | None) -> str:
    return "" if x is None or base is None else f"{x - base:+.2f} s"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--render", metavar="FILE", help="print the table of a results file")
    parser.add_argument("--quiet-lock", metavar="PATH",
                        help="hold this lock file while measuring (e.g. /tmp/quiet.lock)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch folder (project, built environment)")
    opts = parser.parse_args()
    if opts.render:
        print(render(json.loads(Path(opts.render).read_text())))
        return
    results = Bench(QUICK if opts.quick else FULL, opts.quiet_lock, opts.keep).run()
    save(results, render, "reproduce", opts.quick, opts.out)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
