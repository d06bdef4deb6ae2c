#!/usr/bin/env python
"""Pipelines benchmark: the local runner beside bare papermill, side by side in one run.

    python benchmarks/bench_pipelines.py [--quick] [--only overhead,parallel,imports]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH of every process: the runner, and through it its step
processes and their kernels). The same notebooks, with the same parameters, run as a
pipeline (`jupyter mlops pipeline run`, each step a process running papermill) and with the
papermill CLI, alternating, in a scratch project; every figure is a median over repetitions.
Prints a table and writes benchmarks/results/pipelines-<date>.json and .txt. See
benchmarks/README.md.

The same file is the worker the driver starts: `bench_pipelines.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent

FULL = {"reps": 7, "par_reps": 5, "work_s": 5.0, "imports": True}
QUICK = {"reps": 2, "par_reps": 1, "work_s": 1.5, "imports": True}
TARGET_OVERHEAD = 0.10  # the one-step pipeline: at most +10 % wall time over bare papermill
TARGET_PARALLEL = 0.60  # the four-step DAG on 2 cores: at most 0.6× the sequential wall time
SECTIONS = ("overhead", "parallel", "imports")

# every process of every run gets these: the work is single-threaded on both sides
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LOG_ENV = "BENCH_PIPELINES_LOG"  # where each kernel appends its record (a JSON line)

# the work: a pure-Python integer loop at the notebook's top level, single-threaded, no sleep
LOOP = "x = 0\nfor i in range(n):\n    x = (x + i * i) % 1000003\n"
MARK_CELL = "import time\n\nfirst_cell = time.time()\n"
PARAMS_CELL = 'n = 1000\nrep = "default"\nstep = "work"\n'
WORK_CELL = '''import json
import os


def _started(pid):
    """When process `pid` started, on time.time()'s clock (from /proc: 10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
    return (time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
            + ticks / os.sysconf("SC_CLK_TCK")), int(fields[1])


t0, c0 = time.time(), time.process_time()
LOOP
t1, c1 = time.time(), time.process_time()
kernel_start, parent = _started(os.getpid())
parent_start, grandparent = _started(parent)
with open(os.environ["LOG_ENV"], "a") as f:
    f.write(json.dumps({
        "rep": rep, "step": step, "n": n, "x": x, "first_cell": first_cell,
        "work_start": t0, "work_end": t1, "work_cpu": c1 - c0, "pid": os.getpid(),
        "kernel_start": kernel_start, "parent": parent, "parent_start": parent_start,
        "parent_cmd": open(f"/proc/{parent}/cmdline").read().replace("\\0", " ")[:300],
        "grandparent": grandparent, "grandparent_start": _started(grandparent)[0],
        "step_run_id": os.environ.get("MLOPS_STEP_ID"),
        "threads_env": {k: os.environ.get(k) for k in THREADS},
    }) + "\\n")
'''.replace("LOOP", LOOP.rstrip("\n")).replace("LOG_ENV", LOG_ENV).replace(
    "THREADS", repr(sorted(THREADS)))
DAG = {"a": [], "b": ["a"], "c": [], "d": ["c"]}  # two independent branches: a → b, c → d


# -- worker tasks (run in subprocesses) ------------------------------------------------------------
def _versions(*names: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _notebook(path: Path) -> None:
    """The benchmark's notebook: a marker cell, the `parameters` cell, the work cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS_CELL)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell(MARK_CELL), params, nbformat.v4.new_code_cell(WORK_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def task_prepare(a: dict) -> dict:
    """In the scratch project (MLOPS_PROJECT_ROOT): the notebooks, pipeline `one` (a single
    step) and pipeline `dag` (a → b, c → d), written with export_pipeline."""
    import jupyter_mlops as mlops

    root = Path(os.environ["MLOPS_PROJECT_ROOT"])
    for name in ("work", *DAG):
        _notebook(root / "nb" / f"{name}.ipynb")
    params = {"n": a["n"], "rep": "default"}
    mlops.export_pipeline("one", steps=[
        {"name": "work", "notebook": "nb/work.ipynb", "depends_on": [],
         "params": {"step": "work"}}], params=params)
    mlops.export_pipeline("dag", steps=[
        {"name": s, "notebook": f"nb/{s}.ipynb", "depends_on": deps, "params": {"step": s}}
        for s, deps in DAG.items()], params=params)
    import jupyter_mlops

    out = {"specs": {p: (root / "pipelines" / f"{p}.yaml").read_text() for p in ("one", "dag")},
           "versions": _versions("jupyter-mlops", "papermill", "nbclient", "nbformat",
                                 "jupyter_client", "jupyter_core", "ipykernel", "jsonschema",
                                 "rfc3987-syntax", "sqlalchemy", "pydantic", "pyyaml")}
    out["versions"]["jupyter_mlops_path"] = str(Path(jupyter_mlops.__file__).parent)
    return out


def task_calibrate(a: dict) -> dict:
    """The loop's speed here, alone in a fresh process (best of 3: the machine is shared)."""
    code = compile(LOOP, "<loop>", "exec")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        exec(code, {"n": a["n"]})
        times.append(time.perf_counter() - t0)
    return {"n": a["n"], "s": times}


def task_api_run(a: dict) -> dict:
    """`mlops.run_pipeline` as a notebook calls it: in a process that has imported
    jupyter_mlops and opened the store already; the call alone is timed."""
    t_proc = time.time()
    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store

    get_store()
    t0 = time.time()
    run = mlops.run_pipeline(a["pipeline"], params=a["params"], progress=False)
    t1 = time.time()
    return {"t0": t0, "t1": t1, "status": run.status, "run_id": run.id,
            "ready_s": t0 - t_proc}


def task_records(a: dict) -> dict:
    """What the store recorded: every pipeline run and step run, with their timestamps."""
    from sqlalchemy import select

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import pipeline_runs, step_runs

    with get_store().read() as conn:
        runs = [dict(r._mapping) for r in conn.execute(select(
            pipeline_runs.c.id, pipeline_runs.c.pipeline, pipeline_runs.c.status,
            pipeline_runs.c.params, pipeline_runs.c.started_at, pipeline_runs.c.ended_at))]
        steps = [dict(r._mapping) for r in conn.execute(select(
            step_runs.c.id, step_runs.c.pipeline_run_id, step_runs.c.step, step_runs.c.attempt,
            step_runs.c.status, step_runs.c.params, step_runs.c.started_at, step_runs.c.ended_at,
            step_runs.c.notebook_digest, step_runs.c.error))]
    for r in runs + steps:
        r["params"] = json.loads(r["params"])
    return {"pipeline_runs": runs, "step_runs": steps}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- machine load --------------------------------------------------------------------------------
def file_digests() -> dict[str, str]:
    """Each source file of the package, by path: which ones changed during the run."""
    import hashlib

    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in sorted((ROOT / "jupyter_mlops").rglob("*.py"))}


def busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine since boot (all cores, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of this process's finished descendants (each parent waited for its own)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# -- importtime ----------------------------------------------------------------------------------
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S.*)$")


def parse_importtime(text: str) -> dict:
    """`-X importtime` output: the total, the top-level imports by time, and a few named ones
    wherever they were first imported (the one who imports first pays)."""
    top, named = [], {}
    for line in text.splitlines():
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        cum, level, name = int(m.group(2)) / 1e6, len(m.group(3)) // 2, m.group(4).strip()
        if level == 0:
            top.append((name, cum))
        if name in WATCH and name not in named:
            named[name] = cum
    top.sort(key=lambda t: -t[1])
    return {"total_s": sum(c for _, c in top), "modules": len(top), "top": top[:12],
            "named": named}


EXIT_COST = ("nbformat", "rfc3987_syntax", "sqlalchemy, pydantic, yaml", "papermill")
WATCH = ("nbformat", "jsonschema", "rfc3987_syntax", "papermill", "sqlalchemy", "pydantic",
         "yaml", "tqdm", "pandas", "nbclient", "jupyter_client", "alembic", "jupyter_mlops.cli",
         "jupyter_mlops.store", "jupyter_mlops.pipelines.runner", "jupyter_mlops.pipelines.step",
         "jupyter_core.command")


# -- the driver ----------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = dict(QUICK if args.quick else FULL)
        self.only = set(args.only.split(",")) if args.only else set(SECTIONS)
        bad = self.only - set(SECTIONS)
        if bad:
            raise SystemExit(f"unknown section {sorted(bad)[0]!r}: one of {', '.join(SECTIONS)}")
        self.python = args.python or sys.executable
        self.bin = Path(self.python).parent
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-pipelines-"))
        self.project = self.work / "project"
        self.log_path = self.work / "kernels.jsonl"
        self.results: dict = {}
        self.errors: list[str] = []

    def env(self) -> dict:
        """The one environment of every run, ours and papermill's: this venv's bin first on
        PATH, the working tree first on PYTHONPATH, the scratch project, single-threaded BLAS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.project)
        env.update(THREADS)
        env[LOG_ENV] = str(self.log_path)
        return env

    def worker(self, task: str, args: dict, timeout: float = 900) -> dict:
        return run_worker(self.python, __file__, task, args, env=self.env(), cwd=self.project,
                          timeout=timeout)

    # one measured process ---------------------------------------------------------------------
    def timed(self, kind: str, rep: str, argv: list[str], cwd: Path, **extra) -> dict:
        """Run argv to its end; its wall time, and what the machine did meanwhile."""
        load1 = os.getloadavg()[0]
        busy0, cpu0 = busy_seconds(), children_cpu()
        t0 = time.time()
        p0 = time.perf_counter()
        proc = subprocess.run(argv, env=self.env(), cwd=cwd, capture_output=True, text=True,
                              timeout=1800)
        wall = time.perf_counter() - p0
        t1 = time.time()
        busy, cpu = busy_seconds() - busy0, children_cpu() - cpu0
        out = {"kind": kind, "rep": rep, "argv": argv, "t0": t0, "t1": t1, "wall_s": wall,
               "rc": proc.returncode, "cpu_s": cpu, "machine_busy_s": busy,
               "others_cores": max(busy - cpu, 0.0) / wall, "load1_before": load1, **extra}
        if proc.returncode != 0:
            out["output_tail"] = (proc.stdout + proc.stderr)[-3000:]
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            self.errors.append(f"{kind} {rep} exited {proc.returncode}: {last[0]}")
        return out

    def bare(self, rep: str, step: str, notebook: str) -> dict:
        """The papermill CLI, as a user runs it: in the notebook's folder, default options."""
        out_nb = self.work / "bare" / f"{rep}-{step}.ipynb"
        argv = [str(self.bin / "papermill"), str(self.project / "nb" / f"{notebook}.ipynb"),
                str(out_nb), "-p", "n", str(self.n), "-p", "rep", rep, "-p", "step", step]
        return self.timed("bare", rep, argv, self.project / "nb", step=step)

    def cli(self, rep: str, pipeline: str) -> dict:
        """`jupyter mlops pipeline run` as a user types it (the jupyter launcher included)."""
        argv = [str(self.bin / "jupyter"), "mlops", "pipeline", "run", pipeline, "-p",
                f"n={self.n}", "-p", f"rep={rep}", "--quiet"]
        return self.timed("cli", rep, argv, self.project, pipeline=pipeline)

    def api(self, rep: str, pipeline: str) -> dict:
        """`mlops.run_pipeline(...)` in a process that is ready (imported, store open)."""
        load1 = os.getloadavg()[0]
        busy0, cpu0 = busy_seconds(), children_cpu()
        p0 = time.perf_counter()
        res = self.worker("api_run", {"pipeline": pipeline, "params": {"n": self.n, "rep": rep}})
        proc_wall = time.perf_counter() - p0
        busy, cpu = busy_seconds() - busy0, children_cpu() - cpu0
        wall = res["t1"] - res["t0"]
        if res["status"] != "finished":
            self.errors.append(f"api {rep}: pipeline run {res['run_id'][:8]} {res['status']}")
        return {"kind": "api", "rep": rep, "t0": res["t0"], "t1": res["t1"], "wall_s": wall,
                "rc": 0 if res["status"] == "finished" else 1, "process_wall_s": proc_wall,
                "ready_s": res["ready_s"], "cpu_s": cpu, "machine_busy_s": busy,
                "others_cores": max(busy - cpu, 0.0) / proc_wall, "load1_before": load1,
                "pipeline": pipeline, "run_id": res["run_id"]}

    # sections ---------------------------------------------------------------------------------
    def calibrate(self) -> None:
        n0 = 2_000_000
        cal = self.worker("calibrate", {"n": n0})
        per_iter = min(cal["s"]) / n0
        self.n = max(int(round(self.sizes["work_s"] / per_iter, -5)), 100_000)
        self.results["calibration"] = {**cal, "work_s": self.sizes["work_s"], "n_chosen": self.n}
        self.log(f"loop: {n0:,} iterations in {min(cal['s']):.2f} s (best of 3): n = {self.n:,} "
                 f"for ~{self.sizes['work_s']:.0f} s")

    def warm_up(self) -> None:
        """One untimed run of each, so that no timed run pays for cold caches (.pyc, pages)."""
        sec = self.results.setdefault("warmup", [])
        sec.append(self.bare("warm-bare", "work", "work"))
        sec.append(self.cli("warm-cli", "one"))
        self.log("warm-up: " + ", ".join(f"{r['kind']} {r['wall_s']:.1f} s" for r in sec))

    def overhead(self) -> None:
        """The one-step pipeline (CLI and API) against the papermill CLI, alternating."""
        runs = self.results["overhead"] = []
        kinds = ["bare", "cli", "api"]
        for r in range(self.sizes["reps"]):
            order = kinds[r % 3:] + kinds[:r % 3]  # rotate who goes first
            line = []
            for kind in order:
                rep = f"o{r}-{kind}"
                if kind == "bare":
                    run = self.bare(rep, "work", "work")
                elif kind == "cli":
                    run = self.cli(rep, "one")
                else:
                    run = self.api(rep, "one")
                runs.append(run)
                line.append(f"{kind} {run['wall_s']:.2f} s")
            self.log(f"overhead {r + 1}/{self.sizes['reps']}: " + ", ".join(line))

    def parallel(self) -> None:
        """The four-step DAG as a pipeline against its four notebooks one after another."""
        reps = self.results["parallel"] = []
        for r in range(self.sizes["par_reps"]):
            order = ["seq", "dag"] if r % 2 == 0 else ["dag", "seq"]
            line = []
            for kind in order:
                rep = f"p{r}-{kind}"
                if kind == "dag":
                    run = {**self.cli(rep, "dag"), "kind": "dag"}
                else:
                    steps = []
                    load1 = os.getloadavg()[0]
                    busy0, cpu0 = busy_seconds(), children_cpu()
                    t0, p0 = time.time(), time.perf_counter()
                    for step in DAG:  # a, b, c, d: an order that respects the dependencies
                        steps.append(self.bare(rep, step, step))
                    wall = time.perf_counter() - p0
                    busy, cpu = busy_seconds() - busy0, children_cpu() - cpu0
                    run = {"kind": "seq", "rep": rep, "t0": t0, "t1": time.time(),
                           "wall_s": wall, "rc": max(s["rc"] for s in steps), "steps": steps,
                           "cpu_s": cpu, "machine_busy_s": busy,
                           "others_cores": max(busy - cpu, 0.0) / wall, "load1_before": load1}
                reps.append(run)
                line.append(f"{kind} {run['wall_s']:.1f} s (others "
                            f"{run['others_cores']:.2f} cores)")
            self.log(f"parallel {r + 1}/{self.sizes['par_reps']}: " + ", ".join(line))

    def imports(self) -> None:
        """One `-X importtime` run of each process: the runner, a step, the papermill CLI."""
        sec = self.results["imports"] = {}
        py = self.python
        params = {"n": 1000, "rep": "imports", "step": "work"}
        cases = {
            "runner": [py, "-X", "importtime", "-m", "jupyter_mlops.cli", "pipeline", "run",
                       "one", "-p", "n=1000", "-p", "rep=imports-runner", "--quiet"],
            "step": [py, "-X", "importtime", "-m", "jupyter_mlops.cli", "pipeline", "run-step",
                     "one", "work", "--run-id", "bench-imports",
                     "--params-json", json.dumps({**params, "rep": "imports-step"})],
            "papermill": [py, "-X", "importtime", str(self.bin / "papermill"),
                          str(self.project / "nb" / "work.ipynb"),
                          str(self.work / "bare" / "imports.ipynb"), "-p", "n", "1000",
                          "-p", "rep", "imports-papermill"],
            # -X importtime dies with the exec: this is the launcher's own imports only
            "launcher": [py, "-X", "importtime", str(self.bin / "jupyter"), "mlops", "--help"],
        }
        for name, argv in cases.items():
            cwd = self.project / "nb" if name == "papermill" else self.project
            p0 = time.perf_counter()
            proc = subprocess.run(argv, env=self.env(), cwd=cwd, capture_output=True, text=True,
                                  timeout=600)
            wall = time.perf_counter() - p0
            parsed = parse_importtime(proc.stderr)
            sec[name] = {"argv": argv, "rc": proc.returncode, "wall_s": wall, **parsed}
            if proc.returncode != 0:
                self.errors.append(f"importtime {name} exited {proc.returncode}")
            self.log(f"imports, {name}: {parsed['total_s']:.2f} s in {parsed['modules']} top-level "
                     "imports; " + ", ".join(f"{n} {c:.2f} s" for n, c in parsed["top"][:4]))
        # what importing a module costs again when the process ends (freeing what it built),
        # time from the last atexit handler until the parent sees the process gone; 3 each
        code = ("import atexit, json, time\nt0 = time.time()\nimport {m}\nt1 = time.time()\n"
                "atexit.register(lambda: print(json.dumps([t0, t1, time.time()]), flush=True))")
        sec["teardown"] = {}
        for mods in EXIT_COST:
            samples = []
            for _ in range(3):
                t_spawn = time.time()
                proc = subprocess.run([py, "-c", code.format(m=mods)], env=self.env(),
                                      capture_output=True, text=True, timeout=120)
                t_gone = time.time()
                t0, t1, t_exit = json.loads(proc.stdout.strip().splitlines()[-1])
                samples.append({"start_s": t0 - t_spawn, "import_s": t1 - t0,
                                "exit_s": t_gone - t_exit})
            sec["teardown"][mods] = samples
        self.log("imports, teardown: " + ", ".join(
            f"{m} {_med([x['exit_s'] for x in v]) * 1e3:.0f} ms"
            for m, v in sec["teardown"].items()))
        # the python3 kernel, for reference: what starting one costs on both sides alike
        p0 = time.perf_counter()
        proc = subprocess.run([py, "-X", "importtime", "-c", "import ipykernel.kernelapp"],
                              env=self.env(), capture_output=True, text=True, timeout=300)
        sec["kernel"] = {"wall_s": time.perf_counter() - p0, **parse_importtime(proc.stderr)}

    # -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.t_start = time.perf_counter()
        self.project.mkdir()
        (self.work / "bare").mkdir()
        s = self.sizes
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full", "sizes": s,
            "sections": [x for x in SECTIONS if x in self.only],
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine(),
                        "note": "2 noisy cores, shared with other agents' test runs"},
            "env": {**THREADS, "note": "set in the environment of every run (the runner, the "
                                       "papermill CLI); step processes and kernels inherit it"},
            "dag": DAG, "loop": LOOP,
            "git": _git_describe(),
            "code_digest": _code_digest(),
        }
        self.results["meta"] = meta
        files = file_digests()
        try:
            self.calibrate()
            prep = self.worker("prepare", {"n": self.n})
            meta["versions"] = prep["versions"]
            meta["specs"] = prep["specs"]
            self.warm_up()
            if "overhead" in self.only:
                self.attempt("overhead", self.overhead)
            if "parallel" in self.only:
                self.attempt("parallel", self.parallel)
            if "imports" in self.only and s["imports"]:
                self.attempt("imports", self.imports)
            self.results["store"] = self.attempt("records", self.worker, "records", {})
            self.results["kernels"] = [json.loads(line) for line in
                                       self.log_path.read_text().splitlines() if line.strip()]
        finally:
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                print(f"kept {self.work}", file=sys.stderr)
        if _code_digest() != meta["code_digest"]:
            after = file_digests()
            changed = sorted(f for f in set(files) | set(after) if files.get(f) != after.get(f))
            meta["changed_during_run"] = changed
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: the figures mix "
                               f"two versions of the code; run it again ({', '.join(changed)})")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


# -- summary and table ----------------------------------------------------------------------------
# Phases of a run, between points in time of one step (x) or of a step and the step that
# depends on it (x, then y): (label, the pipeline's span, papermill's span, the pipeline's
# sub-phases as (label, span)); a span is ((step, point), (step, point)).
ONE_STEP = [
    ("start → kernel process starts", (("x", "t0"), ("x", "kernel_proc")),
     (("x", "t0"), ("x", "kernel_proc")), [
         ("runner: start, imports, spec → step process starts",
          (("x", "t0"), ("x", "step_proc"))),
         ("step process: start, imports, spec → step run recorded",
          (("x", "step_proc"), ("x", "step_row"))),
         ("step run recorded → kernel process starts (papermill)",
          (("x", "step_row"), ("x", "kernel_proc")))]),
    ("kernel: process start → first cell runs", (("x", "kernel_proc"), ("x", "first_cell")),
     (("x", "kernel_proc"), ("x", "first_cell")), []),
    ("first cell → work starts (parameters)", (("x", "first_cell"), ("x", "work_start")),
     (("x", "first_cell"), ("x", "work_start")), []),
    ("work cell: the loop", (("x", "work_start"), ("x", "work_end")),
     (("x", "work_start"), ("x", "work_end")), []),
    ("work ends → command returns", (("x", "work_end"), ("x", "t1")),
     (("x", "work_end"), ("x", "t1")), [
         ("work ends → step run closed (kernel shut down, notebook stored)",
          (("x", "work_end"), ("x", "step_end"))),
         ("step run closed → pipeline run closed (step process exits, runner records)",
          (("x", "step_end"), ("x", "run_end"))),
         ("pipeline run closed → command returns", (("x", "run_end"), ("x", "t1")))]),
]
HANDOFF = [  # x: the upstream step; y: the step after it (pipeline: its dependent)
    ("upstream work ends → next process starts", (("x", "work_end"), ("y", "step_proc")),
     (("x", "work_end"), ("y", "t0")), [
         ("upstream work ends → step run closed (kernel shut down, notebook stored)",
          (("x", "work_end"), ("x", "step_end"))),
         ("step run closed → next step process starts (step exits, runner starts next)",
          (("x", "step_end"), ("y", "step_proc")))]),
    ("next process: start → kernel process starts", (("y", "step_proc"), ("y", "kernel_proc")),
     (("y", "t0"), ("y", "kernel_proc")), [
         ("step process: start, imports, spec → step run recorded",
          (("y", "step_proc"), ("y", "step_row"))),
         ("step run recorded → kernel process starts (papermill)",
          (("y", "step_row"), ("y", "kernel_proc")))]),
    ("kernel process starts → work starts", (("y", "kernel_proc"), ("y", "work_start")),
     (("y", "kernel_proc"), ("y", "work_start")), []),
]
SLOW_END_S = 2.0  # work end → step closed / process exit beyond this: a stalled kernel shutdown


def _points(res: dict) -> dict[tuple[str, str], dict]:
    """Each measured step's points in time (time.time()), by (rep label, step): the driver's
    spawn and exit (the command's, for a pipeline), the kernel's record and the store's rows."""
    kernels = {(k["rep"], k["step"]): k for k in res.get("kernels", [])}
    store = res.get("store") or {}
    runs_by_rep = {r["params"].get("rep"): r for r in store.get("pipeline_runs", [])}
    steps_by_run: dict[str, dict] = {}
    for s in store.get("step_runs", []):
        steps_by_run.setdefault(s["pipeline_run_id"], {})[s["step"]] = s
    measured = []  # (run, step, the process that ran the step: its own t0/t1)
    for run in res.get("overhead", []):
        measured.append((run, "work", run))
    for run in res.get("parallel", []):
        if run["kind"] == "seq":
            measured += [(run, s["step"], s) for s in run["steps"]]
        else:
            measured += [(run, s, run) for s in DAG]
    out = {}
    for run, step, proc in measured:
        k = kernels.get((run["rep"], step), {})
        t = {"t0": proc["t0"], "t1": proc["t1"], "kernel_proc": k.get("kernel_start"),
             "first_cell": k.get("first_cell"), "work_start": k.get("work_start"),
             "work_end": k.get("work_end"), "work_cpu": k.get("work_cpu")}
        if run["kind"] in ("cli", "api", "dag"):
            prow = runs_by_rep.get(run["rep"], {})
            srow = steps_by_run.get(prow.get("id"), {}).get(step, {})
            # the kernel's parent: a step process (`pipeline run-step`), or the runner itself
            # when it ran the step in its own process
            t.update(inline="run-step" not in k.get("parent_cmd", "run-step"))
            t.update(step_proc=k.get("parent_start"), run_row=prow.get("started_at"),
                     step_row=srow.get("started_at"), step_end=srow.get("ended_at"),
                     run_end=prow.get("ended_at"), status=srow.get("status"))
        out[(run["rep"], step)] = t
    return out


def _span(points: dict[str, dict], span: tuple) -> float | None:
    """The time between two points: points maps "x" (and "y") to a step's points."""
    (sa, pa), (sb, pb) = span
    a, b = points.get(sa) or {}, points.get(sb) or {}
    return None if a.get(pa) is None or b.get(pb) is None else b[pb] - a[pa]


def _phases(samples: list[dict[str, dict]], phases: list, side: str) -> dict:
    """Each phase's median over samples (and its sub-phases', for the pipeline)."""
    out = {}
    for label, ours, bare, subs in phases:
        out[label] = _med([_span(t, ours if side == "ours" else bare) for t in samples])
        if side == "ours":
            out.update({sub: _med([_span(t, span) for t in samples]) for sub, span in subs})
    return out


def summarize(res: dict) -> dict:
    """Medians and ratios: what the table prints, kept in the JSON too."""
    out: dict = {}
    pts = _points(res)
    work = (("x", "work_start"), ("x", "work_end"))
    over = res.get("overhead") or []
    if over:
        s: dict = {}
        for kind in ("bare", "cli", "api"):
            runs = [r for r in over if r["kind"] == kind]
            ok = [r for r in runs if r["rc"] == 0]
            tl = [{"x": pts.get((r["rep"], "work"), {})} for r in ok]
            end = (("x", "work_end"), ("x", "t1" if kind == "bare" else "step_end"))
            s[kind] = {
                "n": len(ok), "failed": len(runs) - len(ok),
                "wall_s": _med([r["wall_s"] for r in ok]),
                "wall_by_rep": [r["wall_s"] for r in runs],
                "others_cores": _med([r["others_cores"] for r in runs]),
                "others_cores_by_rep": [r["others_cores"] for r in runs],
                "phases": _phases(tl, ONE_STEP, "bare" if kind == "bare" else "ours"),
                "slow_ends": sum((_span(t, end) or 0) > SLOW_END_S for t in tl),
                "inline_steps": sum(bool(t["x"].get("inline")) for t in tl),
                # the wall time outside the work cell: the overhead, free of the loop's noise
                "outside_work_s": _med([r["wall_s"] - w for r, t in zip(ok, tl, strict=True)
                                        if (w := _span(t, work)) is not None]),
            }
            if kind == "api":
                s[kind]["ready_s"] = _med([r["ready_s"] for r in runs])
        bare = s["bare"]["wall_s"]
        by_rep: dict[str, dict] = {}  # per repetition: ours over the bare run of the same one
        for r in over:
            by_rep.setdefault(r["rep"].split("-")[0], {})[r["kind"]] = r["wall_s"]
        for kind in ("cli", "api"):
            w = s[kind]["wall_s"]
            s[kind]["extra_s"] = None if w is None or bare is None else w - bare
            s[kind]["ratio"] = None if not w or not bare else w / bare
            s[kind]["paired_ratios"] = [v[kind] / v["bare"] for v in by_rep.values()
                                        if kind in v and "bare" in v]
            s[kind]["paired_ratio_median"] = _med(s[kind]["paired_ratios"])
            extra = (None if s[kind]["outside_work_s"] is None or s["bare"]["outside_work_s"]
                     is None else s[kind]["outside_work_s"] - s["bare"]["outside_work_s"])
            s[kind]["outside_extra_s"] = extra
            s[kind]["outside_ratio"] = None if extra is None or not bare else (bare + extra) / bare
        s["cli"]["target_met"] = (s["cli"]["ratio"] is not None
                                  and s["cli"]["ratio"] <= 1 + TARGET_OVERHEAD)
        out["overhead"] = s
    par = res.get("parallel") or []
    if par:
        seq = [r for r in par if r["kind"] == "seq"]
        dag = [r for r in par if r["kind"] == "dag"]
        crit = [max(st["a"] + st["b"], st["c"] + st["d"]) for st in
                ({x["step"]: x["wall_s"] for x in r["steps"]} for r in seq)]

        def steps_of(runs: list[dict]) -> list[dict]:
            return [{"x": pts.get((r["rep"], st), {})} for r in runs for st in DAG]

        def pairs_of(runs: list[dict], pairs: tuple) -> list[dict]:
            return [{"x": pts.get((r["rep"], x), {}), "y": pts.get((r["rep"], y), {})}
                    for r in runs for x, y in pairs]

        dag_pairs = pairs_of(dag, (("a", "b"), ("c", "d")))  # each step and its dependent
        seq_pairs = pairs_of(seq, (("a", "b"), ("b", "c"), ("c", "d")))  # one after the other
        handoff = (("x", "work_end"), ("y", "work_start"))
        p: dict = {
            "n": {"seq": len(seq), "dag": len(dag)},
            "failed": sum(r["rc"] != 0 for r in par),
            "seq_wall_s": _med([r["wall_s"] for r in seq if r["rc"] == 0]),
            "dag_wall_s": _med([r["wall_s"] for r in dag if r["rc"] == 0]),
            "seq_step_wall_s": _med([x["wall_s"] for r in seq for x in r["steps"]]),
            "critical_path_s": _med(crit),
            "seq_by_rep": [r["wall_s"] for r in seq], "dag_by_rep": [r["wall_s"] for r in dag],
            "others_cores": {"seq": _med([r["others_cores"] for r in seq]),
                             "dag": _med([r["others_cores"] for r in dag])},
            "others_cores_by_rep": {"seq": [r["others_cores"] for r in seq],
                                    "dag": [r["others_cores"] for r in dag]},
            "work_s": {k: _med([_span(t, work) for t in steps_of(rs)])
                       for k, rs in (("seq", seq), ("dag", dag))},
            "work_cpu_s": {k: _med([t["x"].get("work_cpu") for t in steps_of(rs)])
                           for k, rs in (("seq", seq), ("dag", dag))},
            "handoff_s": {"dag": _med([_span(t, handoff) for t in dag_pairs]),
                          "seq": _med([_span(t, handoff) for t in seq_pairs])},
            "handoff_phases": {"dag": _phases(dag_pairs, HANDOFF, "ours"),
                               "seq": _phases(seq_pairs, HANDOFF, "bare")},
            # from the command's start to the first work cell, and from the last one to the end
            "lead_in_s": {
                "dag": _med([min(pts[(r["rep"], st)]["work_start"] for st in ("a", "c"))
                             - r["t0"] for r in dag
                             if all(pts.get((r["rep"], st), {}).get("work_start")
                                    for st in ("a", "c"))]),
                "seq": _med([_span({"x": pts.get((r["rep"], "a"), {})},
                                   (("x", "t0"), ("x", "work_start"))) for r in seq])},
            "tail_s": {
                "dag": _med([r["t1"] - max(pts[(r["rep"], st)]["work_end"] for st in ("b", "d"))
                             for r in dag if all(pts.get((r["rep"], st), {}).get("work_end")
                                                 for st in ("b", "d"))]),
                "seq": _med([_span({"x": pts.get((r["rep"], "d"), {})},
                                   (("x", "work_end"), ("x", "t1"))) for r in seq])},
            "slow_ends": {
                "dag": sum((_span(t, (("x", "work_end"), ("x", "step_end"))) or 0) > SLOW_END_S
                           for t in steps_of(dag)),
                "seq": sum((_span(t, (("x", "work_end"), ("x", "t1"))) or 0) > SLOW_END_S
                           for t in steps_of(seq)),
                "steps": {"dag": len(dag) * len(DAG), "seq": len(seq) * len(DAG)}},
            # did the branches overlap? the gap between the work starts of a and c
            "branch_start_gap_s": _med([abs(_span(
                {"x": pts.get((r["rep"], "a"), {}), "y": pts.get((r["rep"], "c"), {})},
                (("x", "work_start"), ("y", "work_start"))) or 0) for r in dag]),
        }
        seq_by = {r["rep"].split("-")[0]: r for r in seq}  # in the same repetition
        pairs = [d["wall_s"] / seq_by[k]["wall_s"] for d in dag
                 if (k := d["rep"].split("-")[0]) in seq_by]
        p["paired_ratios"] = pairs
        p["paired_ratio_median"] = _med(pairs)
        p["ratio"] = (None if not p["dag_wall_s"] or not p["seq_wall_s"]
                      else p["dag_wall_s"] / p["seq_wall_s"])
        p["ideal_ratio"] = (None if not p["critical_path_s"] or not p["seq_wall_s"]
                            else p["critical_path_s"] / p["seq_wall_s"])
        p["target_met"] = p["ratio"] is not None and p["ratio"] <= TARGET_PARALLEL
        out["parallel"] = p
    n = (res.get("calibration") or {}).get("n_chosen")
    xs = [k["x"] for k in res.get("kernels", []) if k["n"] == n]
    out["same_result"] = len(set(xs)) <= 1
    out["kernels"] = len(res.get("kernels", []))
    out["single_threaded"] = all(k.get("threads_env", {}).get(v) == "1"
                                 for k in res.get("kernels", []) for v in THREADS)
    return out


def _pct(r: float | None) -> str:
    return "" if r is None else f"{r:.2f}×"


def _plus(extra: float | None, ratio: float | None) -> str:
    if extra is None or ratio is None:
        return ""
    return f"{extra:+.2f} s ({(ratio - 1) * 100:+.1f} %)"


def _breakdown(add, phases: list, ours: dict, bare: dict, indent: str,
               notes: dict | None = None) -> None:
    for label, _, _, subs in phases:
        add(f"{indent}{label}", _secs(ours.get(label)), _secs(bare.get(label)),
            _pct(None if not bare.get(label) or ours.get(label) is None
                 else ours[label] / bare[label]))
        for sub, _ in subs:
            add(f"{indent}  {sub}", _secs(ours.get(sub)), note=(notes or {}).get(sub, ""))


def render(res: dict) -> str:
    summ = res["summary"]
    meta = res["meta"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, ours: str = "", peer: str = "", ratio: str = "", note: str = "") -> None:
        rows.append((what, ours, peer, ratio, note))

    cal = res.get("calibration") or {}
    work = f"~{cal.get('work_s', 0):g} s"
    o = summ.get("overhead")
    if o:
        c, a, b = o["cli"], o["api"], o["bare"]
        add(f"1. one step, {work} of work (median of {c['n']}, alternating)",
            note=f"pure-Python integer loop, n = {cal.get('n_chosen', 0):,}; a fresh kernel "
                 "each run")
        add("  wall: `jupyter mlops pipeline run` / papermill CLI", _secs(c["wall_s"]),
            _secs(b["wall_s"]), _pct(c["ratio"]),
            _plus(c["extra_s"], c["ratio"]) + f"; target ≤ +{TARGET_OVERHEAD:.0%}: "
            + _check(c["target_met"]) + "; ratio within each repetition: median "
            + _pct(c["paired_ratio_median"]))
        add("  outside the work cell (wall − the loop's wall)", _secs(c["outside_work_s"]),
            _secs(b["outside_work_s"]), _pct(c["outside_ratio"]),
            f"{c['outside_extra_s']:+.2f} s: the extra time without the loop's own noise; "
            "ratio = (papermill's wall + that) / papermill's wall")
        add("  wall: mlops.run_pipeline() in a ready process", _secs(a["wall_s"]),
            _secs(b["wall_s"]), _pct(a["ratio"]),
            _plus(a["extra_s"], a["ratio"]) + "; the call alone (jupyter_mlops imported, "
            "store open), as from a notebook")
        add("  other processes' CPU meanwhile", f"{c['others_cores']:.2f} cores",
            f"{b['others_cores']:.2f} cores", "", f"run_pipeline(): {a['others_cores']:.2f} "
            "cores; machine busy time minus ours (/proc/stat)")
        add("  where the time goes (medians of each phase, CLI run)",
            note="points: the driver, /proc start times, the kernel's clock, the store's rows")
        inline = c.get("inline_steps", 0)
        notes = {} if not inline else {
            "runner: start, imports, spec → step process starts":
                f"the step ran in the runner's own process in {inline} of {c['n']} runs: there "
                "“step process” is the runner, and its start is the runner's",
            "step run closed → pipeline run closed (step process exits, runner records)":
                "in the runner's process: no step process to exit"}
        _breakdown(add, ONE_STEP, c["phases"], b["phases"], "    ", notes)
        add("  stalled ends (> 2 s from work end to step closed / exit)", f"{c['slow_ends']}",
            f"{b['slow_ends']}", "", f"of {c['n']} / {b['n']} runs (run_pipeline(): "
            f"{a['slow_ends']})")
    p = summ.get("parallel")
    if p:
        if rows:
            add("")
        add(f"2. four steps, a → b and c → d (median of {p['n']['dag']}, alternating)",
            note=f"each {work} of single-threaded work; {meta['machine']['cpus']} cores; "
                 + ", ".join(f"{k}=1" for k in THREADS) + " for every process")
        add("  wall: pipeline / the 4 notebooks in a row, papermill CLI", _secs(p["dag_wall_s"]),
            _secs(p["seq_wall_s"]), _pct(p["ratio"]),
            f"target ≤ {TARGET_PARALLEL}×: {_check(p['target_met'])}; ratio within each "
            f"repetition: median {_pct(p['paired_ratio_median'])}")
        add("  perfect overlap of the 4 bare runs (critical path)", "",
            _secs(p["critical_path_s"]), _pct(p["ideal_ratio"]),
            "max(a + b, c + d) of the bare runs' own walls: what 2 branches could reach")
        add("  one papermill CLI run (process wall)", "", _secs(p["seq_step_wall_s"]))
        add("  work cell per step (wall)", _secs(p["work_s"]["dag"]), _secs(p["work_s"]["seq"]),
            "", f"CPU time of the loop: {_secs(p['work_cpu_s']['dag'])} / "
                f"{_secs(p['work_cpu_s']['seq'])}; wall above CPU = waiting for a core")
        add("  start → first work cell starts", _secs(p["lead_in_s"]["dag"]),
            _secs(p["lead_in_s"]["seq"]), "", "pipeline: a and c start together; gap between "
            f"their work starts {_secs(p['branch_start_gap_s'])}")
        add("  dependent step: upstream work ends → its work starts", _secs(p["handoff_s"]["dag"]),
            _secs(p["handoff_s"]["seq"]), _pct(None if not p["handoff_s"]["seq"] else
                                               p["handoff_s"]["dag"] / p["handoff_s"]["seq"]),
            "pipeline: a → b, c → d; papermill: each run → the next")
        _breakdown(add, HANDOFF, p["handoff_phases"]["dag"], p["handoff_phases"]["seq"], "    ")
        add("  last work cell ends → command returns", _secs(p["tail_s"]["dag"]),
            _secs(p["tail_s"]["seq"]))
        add("  stalled ends (> 2 s from work end to step closed / exit)",
            f"{p['slow_ends']['dag']}", f"{p['slow_ends']['seq']}", "",
            f"of {p['slow_ends']['steps']['dag']} / {p['slow_ends']['steps']['seq']} steps")
        add("  other processes' CPU meanwhile", f"{p['others_cores']['dag']:.2f} cores",
            f"{p['others_cores']['seq']:.2f} cores", "",
            "machine busy time minus ours (/proc/stat)")
    imp = res.get("imports")
    if imp:
        add("")
        add("3. imports (-X importtime, one run each)",
            note="each process's top-level imports, by cumulative time")
        for name, label in (("runner", "runner (python -m jupyter_mlops.cli pipeline run)"),
                            ("step", "step process (… pipeline run-step)"),
                            ("papermill", "papermill CLI"),
                            ("launcher", "`jupyter` launcher, before it execs jupyter-mlops"),
                            ("kernel", "kernel (import ipykernel.kernelapp), both sides")):
            d = imp.get(name)
            if not d:
                continue
            ours = _secs(d["total_s"]) if name in ("runner", "step", "launcher") else ""
            peer = _secs(d["total_s"]) if name == "papermill" else ""
            if name == "kernel":
                ours = peer = _secs(d["total_s"])
            add(f"  {label}", ours, peer, "",
                ", ".join(f"{n} {_secs(c)}" for n, c in d["top"][:4]))
        named = {k: imp[k]["named"] for k in ("runner", "step", "papermill") if k in imp}
        add("  of which nbformat (its rfc3987_syntax)", _secs(named.get("runner", {}).get(
            "nbformat")), _secs(named.get("papermill", {}).get("nbformat")), "", "; ".join(
            f"{k}: {_secs(v.get('nbformat'))} ({_secs(v.get('rfc3987_syntax'))})"
            for k, v in named.items()) + " (the first importer pays)")
        for mods, samples in (imp.get("teardown") or {}).items():
            add(f"  import {mods}, in a fresh process", note=(
                f"import {_secs(_med([x['import_s'] for x in samples]))}, then at exit "
                f"{_secs(_med([x['exit_s'] for x in samples]))}" + (
                    " (median of 3; at exit: from the last atexit handler until the parent "
                    "sees the process gone)" if mods == EXIT_COST[0] else "")))
    add("")
    failed = sum((o or {}).get(k, {}).get("failed", 0) for k in ("bare", "cli", "api"))
    failed += (p or {}).get("failed", 0)
    add("checks", note=_check(summ["same_result"] and not failed and summ["single_threaded"])
        + f" every run finished ({failed} failed); {summ['kernels']} kernel records, the "
          "loop's result the same in every one; the thread variables reached every kernel")
    lines = _table(_HEADER, rows)
    v = meta.get("versions", {})
    head = (f"pipelines benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{v.get('jupyter-mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) vs papermill {v.get('papermill')}; "
            f"{meta['machine']['cpus']} CPUs, shared (noisy); ratio = pipeline time / bare "
            "papermill time (below 1: the pipeline is faster)")
    stack = "  " + ", ".join(f"{k} {val}" for k, val in v.items()
                             if k not in ("jupyter-mlops", "jupyter_mlops_path"))
    tail = [f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"] if e]
    return "\n".join([head, stack, "", *lines, "", *tail])


_HEADER = ("figure", "pipeline", "papermill", "ratio", "notes")




def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    ap.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)} (default all)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/pipelines-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    results = Bench(args).run()
    save(results, render, "pipelines", args.quick, args.out)


if __name__ == "__main__":
    main()
