#!/usr/bin/env python
"""Drift at scale: `drift_report` over partitioned parquet (50,000,000 rows × 50 columns) on a
Dask cluster of two 2 GB workers, beside ours in memory at 1M rows and Evidently at 1M and 5M.

    bash benchmarks/setup_peer.sh evidently     # once: Evidently's own venv, outside the repo
    python benchmarks/bench_dask_drift.py [--quick] [--quiet-lock /tmp/quiet.lock]

Run it with the Python of jupyter-mlops's environment (with the dask extra). The data is
bench_drift.py's (its 50 columns, five of them shifted in the current side), drawn by its
generator: a partitioned dataset kept outside the repo at ~/.cache/jupyter-mlops/
bench-dask-drift-<digest>/ (reference/ and current/, 500,000 rows a file, each file from
streams of its own), written once (resumable) on both cores. Every figure is a fresh process:

- ours on Dask: a `distributed.LocalCluster(n_workers=2, threads_per_worker=1,
  processes=True, memory_limit="2GB")` started in the process, then `drift_report(
  "<reference>/", "<current>/", executor=client)` timed (median of 3, each a new cluster,
  between in-memory runs; before each, the share of the files the page cache holds, since the
  rest is read from disk), the workers' memory sampled every 0.5 s and their exact peak
  (VmHWM) read after;
- ours in memory: bench_drift.py's own worker, `drift_report(ref_df, cur_df)` on its 1M-row
  frames (median of 5), CPU time beside the wall to tell the cores it used;
- Evidently: bench_drift.py's worker in Evidently's venv, at 1M and 5M rows, once each,
  stopped after 15 minutes (or when the machine runs short of memory: both are reported).

Writes benchmarks/results/dask-drift-<date>.json and .txt. See benchmarks/README.md.
The same file is the worker the driver starts: `bench_dask_drift.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import inspect
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
    peer_python,
    quiet_flock,
    run_worker,
    save,
    versions,
    worker_result,
)
from _common import secs as _secs
from _common import worker_main as _worker_main
from bench_drift import (
    DATA_HOME,
    SEED,
    SHIFTED,
    M,
    _busy_seconds,
    _grid,
    _ours_columns,
    _verdicts,
    data_ready,
    make_column,
    spec,
)

HERE = Path(__file__).resolve().parent
DRIFT_SCRIPT = HERE / "bench_drift.py"
CACHE = Path.home() / ".cache" / "jupyter-mlops"
PART_ROWS = 500_000  # rows of one parquet file (one partition, one Dask task)
STRIDE = 1000  # partition p's column i is make_column's stream (p + 1) * STRIDE + i
SIDES = {"reference": "ref", "current": "cur"}  # folder → make_column's side
WORKERS, THREADS, MEMORY_LIMIT = 2, 1, "2GB"
SAMPLE_S = 0.5  # the workers' memory is sampled this often during the timed call
EVIDENTLY_TIMEOUT_S = 15 * 60
MEMORY_HEADROOM = 2 << 30  # Evidently is stopped when the machine has less memory left
DISK_MARGIN = 5 << 30  # free disk to leave after writing the data
GOAL = 0.5  # throughput per core on Dask over ours in memory

FULL = {"parts": {"reference": 10, "current": 100}, "memory_rows": M, "memory_reps": 5,
        "dask_reps": 3, "evidently": [M, 5 * M]}
QUICK = {"parts": {"reference": 2, "current": 4}, "memory_rows": 100_000, "memory_reps": 1,
         "dask_reps": 1, "evidently": [100_000]}


# -- the data -----------------------------------------------------------------------------------
def write_partition(folder: str, side: str, part: int, rows: int) -> dict:
    """File `part` of one side: bench_drift's 50 columns drawn by its `make_column`, column i
    from stream (part + 1) · STRIDE + i (no two files, nor bench_drift's frames, which use
    streams 0–49, share one). Written under a hidden name, then renamed: a file under its
    final name is whole."""
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.DataFrame({c["name"]: make_column(c, side, rows, (part + 1) * STRIDE + i)
                          for i, c in enumerate(spec())})
    final = Path(folder) / f"part-{part:05d}.parquet"
    temp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    frame.to_parquet(temp, index=False)
    os.replace(temp, final)
    return {"bytes": final.stat().st_size, "seconds": time.perf_counter() - t0}


def dataset_digest(parts: dict[str, int]) -> str:
    """What the partitioned dataset is made from: the spec, seed, sizes and generating code."""
    text = json.dumps({"seed": SEED, "spec": spec(), "rows": PART_ROWS, "stride": STRIDE,
                       "parts": parts}, sort_keys=True)
    text += inspect.getsource(make_column) + inspect.getsource(write_partition)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _whole(path: Path) -> bool:
    """A partition file that reads as parquet with the rows and columns it should have."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (OSError, ValueError):
        return False
    return meta.num_rows == PART_ROWS and meta.num_columns == len(spec())


def _page_cache_share(folders: list[Path]) -> float | None:
    """What share of the files' bytes the page cache holds (util-linux's fincore; None
    without it): the Dask run reads what is not there from disk."""
    files = sorted(str(p) for folder in folders for p in folder.glob("*.parquet"))
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "-o", "RES,SIZE",
                              *files], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    return sum(r for r, _ in pairs) / max(1, sum(t for _, t in pairs)) if pairs else None


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# -- measuring inside a worker ------------------------------------------------------------------
def _kb(pid: int, field: str) -> int:
    """VmRSS / VmHWM (field) of process `pid`, in KB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak(pid: int) -> bool:
    """Reset the peak RSS (VmHWM) of process `pid` to its current RSS (Linux clear_refs 5)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _kb(pid, "VmHWM") <= _kb(pid, "VmRSS") + 1024


class Sampler:
    """Samples the RSS of the given processes every SAMPLE_S on a thread: the largest seen per
    process and the series (seconds from the start, MB each)."""

    def __init__(self, pids: dict[str, int]):
        import psutil

        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self.gone: dict[str, float] = {}
        self.series: list[list[float]] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.perf_counter()

    def _run(self) -> None:
        import psutil

        while not self.stop_event.is_set():
            row = [round(time.perf_counter() - self.t0, 2)]
            for name, proc in self.procs.items():
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:  # the process ended (a worker restarted by its nanny)
                    self.gone.setdefault(name, row[0])
                    rss = 0
                self.peak[name] = max(self.peak[name], rss)
                row.append(round(rss / 2**20, 1))
            self.series.append(row)
            self.stop_event.wait(SAMPLE_S)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()


def _import_on_worker() -> list[str]:
    """Run on every worker before the timed call: the imports a partition's task needs."""
    import importlib

    names = ["numpy", "pandas", "pyarrow.parquet", "pyarrow.compute", "datasketches",
             "fsspec", "jupyter_mlops", "jupyter_mlops.drift"]
    for name in names:
        importlib.import_module(name)
    return names


def task_cluster(a: dict) -> dict:
    """Start a LocalCluster here, warm it up (imports on every worker, and one report over the
    first file of each side), then time `drift_report(reference, current, executor=client)`
    while sampling the workers' memory. Every process's CPU and peak are taken around the
    call alone (peaks reset before it)."""
    import psutil
    from distributed import Client, LocalCluster

    import jupyter_mlops as mlops

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=a["workers"], threads_per_worker=a["threads"],
                           processes=True, memory_limit=a["memory_limit"],
                           dashboard_address=None)
    client = Client(cluster)
    out: dict = {"cluster_start_s": time.perf_counter() - t0}
    info = client.scheduler_info(n_workers=-1)["workers"]
    out["memory_limit_bytes"] = {addr: int(w["memory_limit"]) for addr, w in info.items()}
    out["nthreads"] = {addr: int(w["nthreads"]) for addr, w in info.items()}
    pids = client.run(os.getpid)
    t = time.perf_counter()
    client.run(_import_on_worker)
    warm = mlops.drift_report(a["warm"][0], a["warm"][1], executor=client)
    out["warm_up"] = {"seconds": time.perf_counter() - t, "rows": [warm.reference.rows,
                                                                   warm.current.rows]}
    out["worker_peak_before_kb"] = {addr: _kb(pid, "VmHWM") for addr, pid in pids.items()}
    me = os.getpid()
    out["peak_reset"] = all(_reset_peak(pid) for pid in [*pids.values(), me])
    rss0 = {addr: _kb(pid, "VmRSS") for addr, pid in pids.items()}
    client_rss0 = _kb(me, "VmRSS")
    cpu0 = {addr: psutil.Process(pid).cpu_times() for addr, pid in pids.items()}
    with Sampler({**pids, "client": me}) as sampler:
        busy0 = _busy_seconds()
        c0, w0 = time.process_time(), time.perf_counter()
        rep = mlops.drift_report(a["reference"], a["current"], executor=client)
        wall, client_cpu = time.perf_counter() - w0, time.process_time() - c0
        busy = _busy_seconds() - busy0
    after = client.run(os.getpid)
    out["workers_restarted"] = sorted(w for w in pids if after.get(w) != pids[w]) + sorted(
        set(after) - set(pids))
    workers: dict[str, dict] = {}
    for addr, pid in pids.items():
        entry = {"pid": pid, "rss_before_kb": rss0[addr],
                 "sampled_peak_kb": sampler.peak[addr] // 1024}
        if addr not in out["workers_restarted"]:
            cpu = psutil.Process(pid).cpu_times()
            entry.update(peak_kb=_kb(pid, "VmHWM"),
                         cpu_s=(cpu.user + cpu.system) - (cpu0[addr].user + cpu0[addr].system))
        workers[addr] = entry
    out["workers"] = workers
    out["client"] = {"cpu_s": client_cpu, "rss_before_kb": client_rss0,
                     "peak_kb": _kb(me, "VmHWM"), "sampled_peak_kb": sampler.peak["client"] // 1024}
    ours_cpu = client_cpu + sum(w.get("cpu_s", 0.0) for w in workers.values())
    out["others_cores"] = max(busy - ours_cpu, 0.0) / wall  # the machine's other work meanwhile
    out["sampler"] = {"interval_s": SAMPLE_S, "names": [*pids, "client"],
                      "series_mb": sampler.series, "gone": sampler.gone}
    logs = client.get_worker_logs()
    out["memory_warnings"] = {addr: [msg for level, msg in lines if "memory" in msg.lower()
                                     and level in ("WARNING", "ERROR", "CRITICAL")]
                              for addr, lines in logs.items()}
    columns = _ours_columns(rep)
    out.update(wall_s=wall, rows={"reference": rep.reference.rows, "current": rep.current.rows},
               columns=columns, **_verdicts(columns), drifted=bool(rep.drifted),
               summary=rep.summary())
    client.close()
    cluster.close()
    return out


def task_versions(a: dict) -> dict:
    return versions(["distributed", "dask", "datasketches", "pandas", "numpy", "pyarrow",
                     "scipy", "psutil"], ours=True)


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver ---------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.plan = QUICK if args.quick else FULL
        self.code = Path(args.code).resolve() if args.code else ROOT
        self.python = args.python or sys.executable
        self.peer_py = args.peer_python
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-dask-drift-"))
        self.results: dict = {}
        self.errors: list[str] = []

    # -- environments and processes --
    def env_ours(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.work / "code"), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.work / "project")  # nothing should be stored
        env["MLOPS_EXECUTOR"] = "local"
        return env

    def env_peer(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MLOPS_") and k != "PYTHONPATH"}
        env.update(DO_NOT_TRACK="1")
        return env

    def measured(self, what: str, fn, *fn_args) -> dict | None:
        """One measurement in a fresh process, holding the quiet lock; the load averages before
        and after and the times it ran beside its result."""
        with quiet_flock(self.args.quiet_lock, self.log):
            load0, started = os.getloadavg(), _now()
            t0 = time.perf_counter()
            out = self.attempt(what, fn, *fn_args)
            if out is not None:
                out.update(process_wall_s=time.perf_counter() - t0, started=started,
                           finished=_now(), load_before=list(load0),
                           load_after=list(os.getloadavg()))
            return out

    def watched(self, label: str, args: dict) -> dict:
        """bench_drift.py's Evidently task in a fresh process of Evidently's venv, its RSS
        sampled; killed (its process group) after EVIDENTLY_TIMEOUT_S, or when the machine's
        available memory falls under MEMORY_HEADROOM: then the result says so."""
        import psutil

        out_path, err_path = self.work / f"{label}.out", self.work / f"{label}.err"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([self.peer_py, str(DRIFT_SCRIPT), "--worker", "evidently",
                                     json.dumps(args)], env=self.env_peer(), cwd=self.work,
                                    stdout=out, stderr=err, start_new_session=True)
        t0, peak, low, stopped = time.perf_counter(), 0, None, None
        handle = psutil.Process(proc.pid)
        while proc.poll() is None:
            time.sleep(SAMPLE_S)
            try:
                peak = max(peak, handle.memory_info().rss)
            except psutil.Error:
                continue
            available = psutil.virtual_memory().available
            low = available if low is None else min(low, available)
            elapsed = time.perf_counter() - t0
            if elapsed > EVIDENTLY_TIMEOUT_S:
                stopped = f"stopped after {EVIDENTLY_TIMEOUT_S // 60} min"
            elif available < MEMORY_HEADROOM:
                stopped = (f"stopped after {elapsed:.0f} s: the machine had "
                           f"{available / 2**30:.1f} GB of memory left")
            if stopped:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
        elapsed = time.perf_counter() - t0
        watch = {"sampled_peak_kb": peak // 1024, "min_available_kb": (low or 0) // 1024,
                 "elapsed_s": elapsed}
        if stopped:
            tail = err_path.read_text().strip().splitlines()[-5:]
            return {"stopped": stopped, "watch": watch, "stderr_tail": tail}
        result = worker_result(proc.returncode, out_path.read_text(), err_path.read_text(),
                               f"Evidently {label}")
        result["watch"] = watch
        return result

    def snapshot(self) -> dict:
        """Copy the measured checkout's package into the scratch folder, which every process
        of ours imports: an edit to the checkout during the run cannot mix two versions of the
        code into the figures. What was copied: the checkout's commit, its uncommitted files
        and the copy's digest."""
        shutil.copytree(self.code / "jupyter_mlops", self.work / "code" / "jupyter_mlops",
                        ignore=shutil.ignore_patterns("__pycache__"))
        if (self.code / "package.json").exists():  # where a source tree's version is declared
            shutil.copy2(self.code / "package.json", self.work / "code")
        return {"path": str(self.code), **git_describe(self.code), "changed": _changed(self.code),
                "digest": code_digest(self.work / "code")}

    # -- data --
    def dataset(self) -> dict:
        """The partitioned dataset: files already whole are kept, the others written on both
        cores (in a pool of processes), each under a temporary name first."""
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        parts = self.plan["parts"]
        digest = dataset_digest(parts)
        folder = CACHE / f"bench-dask-drift-{digest}"
        for side in SIDES:
            (folder / side).mkdir(parents=True, exist_ok=True)
            for stale in (folder / side).glob(".part-*.tmp"):
                stale.unlink()
        todo = [(side, p) for side, n in parts.items() for p in range(n)
                if not _whole(folder / side / f"part-{p:05d}.parquet")]
        total = sum(parts.values())
        self.log(f"data: {folder} ({total - len(todo)} of {total} files there)")
        df = subprocess.run(["df", "-h", str(CACHE)], capture_output=True, text=True).stdout
        self.log("disk before:\n" + df.strip())
        info: dict = {"dir": str(folder), "digest": digest, "part_rows": PART_ROWS,
                      "parts": parts, "written": len(todo), "df_before": df.strip()}
        if todo:
            have = [p for p in folder.rglob("part-*.parquet")]
            each = (sum(p.stat().st_size for p in have) / len(have)) if have else 150e6
            need, free = each * len(todo), shutil.disk_usage(CACHE).free
            if free - need < DISK_MARGIN:
                raise SystemExit(f"not enough disk at {CACHE}: the data needs about "
                                 f"{need / 2**30:.1f} GB more and {free / 2**30:.1f} GB are "
                                 f"free (keeping {DISK_MARGIN >> 30} GB)")
            t0 = time.perf_counter()
            written = 0
            with ProcessPoolExecutor(os.cpu_count() or 2, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(write_partition, str(folder / side), SIDES[side], p,
                                       PART_ROWS) for side, p in todo]
                for i, fut in enumerate(as_completed(futures), 1):
                    written += fut.result()["bytes"]
                    spent = time.perf_counter() - t0
                    if i % 10 and i != len(todo):
                        continue
                    self.log(f"data: {i}/{len(todo)} files written ({written / 2**30:.2f} GB, "
                             f"{spent:.0f} s, ~{spent / i * (len(todo) - i):.0f} s left)")
            info["write_s"] = time.perf_counter() - t0
        (folder / "spec.json").write_text(json.dumps(
            {"digest": digest, "seed": SEED, "part_rows": PART_ROWS, "stride": STRIDE,
             "parts": parts}) + "\n")
        info["bytes"] = {side: _du(folder / side) for side in SIDES}
        info["rows"] = {side: n * PART_ROWS for side, n in parts.items()}
        info["first_files"] = [str(folder / side / "part-00000.parquet") for side in SIDES]
        return info

    def frames(self, rows: int) -> str:
        """bench_drift.py's reference and current frames of `rows` rows (its cache: reused when
        its generator has not changed, else written by its own task)."""
        folder = DATA_HOME / str(rows)
        if data_ready(folder, rows):
            self.log(f"{rows:,}-row frames: reusing {folder}")
        else:
            self.log(f"{rows:,}-row frames: writing {folder}")
            run_worker(self.python, DRIFT_SCRIPT, "make_data", {"rows": rows, "dir": str(folder)},
                       env=self.env_ours(), cwd=self.work, timeout=3600, label="data ")
        return str(folder)

    # -- the run --
    def cluster(self, data: dict) -> dict:
        ref, cur = (Path(data["dir"]) / side for side in SIDES)
        args = {"reference": f"{ref}/", "current": f"{cur}/", "warm": data["first_files"],
                "workers": WORKERS, "threads": THREADS, "memory_limit": MEMORY_LIMIT}
        cached = _page_cache_share([ref, cur])
        out = run_worker(self.python, __file__, "cluster", args, env=self.env_ours(),
                         cwd=self.work, timeout=4 * 3600, label="ours on Dask: ")
        out["page_cache_share"] = cached
        return out

    def memory(self, folder: str) -> dict:
        return run_worker(self.python, DRIFT_SCRIPT, "ours",
                          {"dir": folder, "variant": "raw", "preset": "auto"},
                          env=self.env_ours(), cwd=self.work, timeout=3600, label="ours: ")

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        (self.work / "project").mkdir()
        plan = self.plan
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full",
            "plan": {**plan, "workers": WORKERS, "threads_per_worker": THREADS,
                     "memory_limit": MEMORY_LIMIT, "part_rows": PART_ROWS,
                     "evidently_timeout_s": EVIDENTLY_TIMEOUT_S},
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "mem_total_gb": _mem_total_gb(),
                        "note": "2 noisy cores, shared with other agents' test runs"},
            "bench_git": git_describe(),
            "code": self.snapshot(),
            "quiet_lock": self.args.quiet_lock, "seed": SEED, "shifted": SHIFTED,
            "ours": run_worker(self.python, __file__, "versions", {}, env=self.env_ours(),
                               cwd=self.work, timeout=300),
        }
        if self.peer_py:
            meta["peer"] = run_worker(self.peer_py, DRIFT_SCRIPT, "versions",
                                      {"side": "evidently"}, env=self.env_peer(),
                                      cwd=self.work, timeout=300)
        self.results.update(meta=meta, memory=[], evidently={})
        try:
            data = self.results["data"] = self.dataset()
            frames = self.frames(plan["memory_rows"])
            peer_frames = {rows: self.frames(rows) for rows in plan["evidently"]} \
                if self.peer_py else {}
            reps, dask_reps = plan["memory_reps"], plan["dask_reps"]
            # in memory, then Dask and in memory in turn, in memory last
            before = list(range(1, dask_reps + 1)) if reps > dask_reps else [0] * dask_reps
            runs = self.results["cluster_runs"] = []
            for rep in range(reps):
                for _ in range(before.count(rep)):
                    self.log(f"ours on Dask: {sum(data['rows'].values()):,} rows "
                             f"({len(runs) + 1}/{dask_reps})")
                    got = self.measured("ours on Dask", self.cluster, data)
                    if got:
                        runs.append(got)
                        self.show_cluster(got)
                if runs and len(runs) == len(before) and "cluster" not in self.results:
                    self.results["cluster"] = sorted(runs, key=lambda r: r["wall_s"])[
                        len(runs) // 2]  # the median run
                self.log(f"ours in memory, {plan['memory_rows']:,} rows: {rep + 1}/{reps}")
                got = self.measured("ours in memory", self.memory, frames)
                if got:
                    self.results["memory"].append(got)
                    self.log(f"  {got['timing']['wall_s']:.2f} s (CPU {got['timing']['cpu_s']:.2f} s)")
            for rows, folder in peer_frames.items():
                self.log(f"Evidently, {rows:,} rows (once; up to {EVIDENTLY_TIMEOUT_S // 60} min)")
                got = self.measured(f"Evidently {rows:,}", self.watched, str(rows),
                                    {"dir": folder})
                if got:
                    self.results["evidently"][str(rows)] = got
                    self.log("  " + (got.get("stopped") or f"{got['timing']['wall_s']:.1f} s"))
        finally:
            if self.args.keep:
                print(f"kept {self.work}", file=sys.stderr)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        meta["code"]["changed_during_run"] = code_digest(self.code) != meta["code"]["digest"]
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results

    def show_cluster(self, c: dict) -> None:
        if c:
            peaks = ", ".join(f"{w.get('peak_kb', 0) / 1024:,.0f} MB" for w in c["workers"].values())
            self.log(f"  {c['wall_s']:.1f} s; worker peaks {peaks}; found "
                     f"{len([s for s in SHIFTED if s in c['drifted_columns']])}/5")


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _mem_total_gb() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            return round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        return None


def _changed(root: Path) -> list[str]:
    """The package's files that differ from the commit (untracked ones included), read-only."""
    proc = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                           "jupyter_mlops"], capture_output=True, text=True,
                          env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    return proc.stdout.splitlines()


# -- summary and table --------------------------------------------------------------------------
def _detect(drifted: list[str]) -> dict:
    found = [c for c in SHIFTED if c in drifted]
    return {"found": found, "missed": [c for c in SHIFTED if c not in drifted],
            "false_alarms": sorted(set(drifted) - set(SHIFTED))}


def summarize(res: dict) -> dict:
    """The figures the table prints, kept in the JSON too."""
    out: dict = {}
    c = res.get("cluster")
    if c:
        rows = sum(c["rows"].values())
        cores = WORKERS * THREADS
        workers_cpu = sum(w.get("cpu_s", 0.0) for w in c["workers"].values())
        limit = min(c["memory_limit_bytes"].values())
        peaks = {a: w.get("peak_kb") or w["sampled_peak_kb"] for a, w in c["workers"].items()}
        runs = res.get("cluster_runs") or [c]
        out["cluster"] = {
            "runs": len(runs), "walls": [r["wall_s"] for r in runs],
            "page_cache": [r.get("page_cache_share") for r in runs],
            "rows": rows, "rows_side": c["rows"], "wall_s": c["wall_s"],
            "rows_per_s": rows / c["wall_s"], "cores": cores,
            "per_core": rows / c["wall_s"] / cores,
            "workers_cpu_s": workers_cpu, "client_cpu_s": c["client"]["cpu_s"],
            "per_cpu_s": rows / (workers_cpu + c["client"]["cpu_s"]),
            "worker_peaks_kb": peaks, "limit_bytes": limit,
            "under_limit": all(p * 1024 < limit for p in peaks.values())
            and not c["workers_restarted"],
            "client_peak_kb": c["client"]["peak_kb"], **_detect(c["drifted_columns"]),
            "statistics": {s: c["columns"][s]["statistic"] for s in SHIFTED},
        }
    mem = [r for r in res.get("memory", []) if r]
    if mem:
        rows = 2 * mem[0]["load"]["shape"][0]
        wall = med([r["timing"]["wall_s"] for r in mem])
        cpu = med([r["timing"]["cpu_s"] for r in mem])
        used = med([r["timing"]["cpu_s"] / r["timing"]["wall_s"] for r in mem])
        sets = {tuple(r["drifted_columns"]) for r in mem}
        out["memory"] = {
            "rows": rows, "n": len(mem), "wall_s": wall, "cpu_s": cpu,
            "wall_range": [min(r["timing"]["wall_s"] for r in mem),
                           max(r["timing"]["wall_s"] for r in mem)],
            "cores_used": used, "rows_per_s": rows / wall,
            "per_core": med([2 * r["load"]["shape"][0] / r["timing"]["cpu_s"] for r in mem]),
            "per_machine_core": rows / wall / (res["meta"]["machine"]["cpus"] or 1),
            "read_s": med([r["load"]["seconds"] for r in mem]),
            "rows_per_s_with_read": med([2 * r["load"]["shape"][0] / (r["load"]["seconds"]
                                                                     + r["timing"]["wall_s"])
                                         for r in mem]),
            "peak_kb": med([r["process_peak_kb"] for r in mem]),
            "after_load_kb": med([r["load"]["rss_after_load_kb"] for r in mem]),
            "same_verdicts": len(sets) == 1, **_detect(mem[0]["drifted_columns"]),
            "statistics": {s: mem[0]["columns"][s]["statistic"] for s in SHIFTED},
        }
    if "cluster" in out and "memory" in out:
        cl, me = out["cluster"], out["memory"]
        out["ratio_per_core"] = cl["per_core"] / me["per_core"]
        out["ratio_per_cpu_s"] = cl["per_cpu_s"] / me["per_core"]
        out["ratio_per_machine_core"] = cl["per_core"] / me["per_machine_core"]
        cpus = res["meta"]["machine"]["cpus"] or 1
        out["ratio_with_read"] = cl["per_core"] / (me["rows_per_s_with_read"] / cpus)
        out["goal_met"] = out["ratio_per_core"] >= GOAL
    out["evidently"] = {}
    for rows, r in res.get("evidently", {}).items():
        if r.get("stopped"):
            out["evidently"][rows] = {"stopped": r["stopped"],
                                      "peak_kb": r["watch"]["sampled_peak_kb"]}
        else:
            out["evidently"][rows] = {"wall_s": r["timing"]["wall_s"],
                                      "cpu_s": r["timing"]["cpu_s"],
                                      "rows_per_s": 2 * int(rows) / r["timing"]["wall_s"],
                                      "peak_kb": r["process_peak_kb"],
                                      **_detect(r["drifted_columns"])}
    return out


def _mb(kb: float | None) -> str:
    if kb is None:
        return "—"
    mb = kb / 1024
    return f"{mb:,.0f} MB" if mb < 1024 else f"{mb / 1024:,.2f} GB"


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}/s"


def _found(s: dict) -> str:
    return f"{len(s['found'])}/5"


def _alarms(s: dict) -> str:
    return f"{len(s['false_alarms'])}"


def _misses(label: str, s: dict | None) -> list[str]:
    """A line naming what `label` missed and flagged wrongly, if anything."""
    if not s or not (s.get("missed") or s.get("false_alarms")):
        return []
    parts = [f"missed {', '.join(s['missed'])}"] if s["missed"] else []
    parts += [f"false alarms {', '.join(s['false_alarms'])}"] if s["false_alarms"] else []
    return [f"  {label}: {'; '.join(parts)}"]


def render(res: dict) -> str:
    meta, s = res["meta"], res["summary"]
    code, ours, peer = meta["code"], meta.get("ours", {}), meta.get("peer") or {}
    data = res.get("data", {})
    n = len(code.get("changed") or [])
    changed = f", {n} uncommitted file{'s' if n != 1 else ''} in jupyter_mlops/" if n else ""
    lines = [
        f"drift at scale, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
        f"{ours.get('jupyter_mlops')} from {code['path']} (git {code['commit'][:8]}{changed}; "
        f"code digest {code['digest']}), distributed {ours.get('distributed')}, datasketches "
        f"{ours.get('datasketches')}; Evidently {peer.get('evidently', '— (not run)')}; "
        f"{meta['machine']['cpus']} CPUs, {meta['machine'].get('mem_total_gb')} GB, shared "
        f"(noisy); quiet lock {'held around each measurement' if meta.get('quiet_lock') else 'not taken'}",
        "  ours ran from a copy of that package taken at the start"
        + (" (the checkout changed during the run; the copy did not)"
           if code.get("changed_during_run") else ""),
    ]
    if data:
        lines.append(
            f"  data: bench_drift.py's 50 columns (5 shifted in current), partitioned parquet of "
            f"{data['part_rows']:,} rows a file: reference {data['rows']['reference']:,} rows "
            f"({data['parts']['reference']} files, {data['bytes']['reference'] / 2**30:.2f} GB), "
            f"current {data['rows']['current']:,} rows ({data['parts']['current']} files, "
            f"{data['bytes']['current'] / 2**30:.2f} GB) at {data['dir']}")
    lines += [
        f"  Dask: LocalCluster(n_workers={WORKERS}, threads_per_worker={THREADS}, "
        f"processes=True, memory_limit=\"{MEMORY_LIMIT}\") in the timed process; "
        "drift_report(\"reference/\", \"current/\", executor=client), each run a new cluster, "
        "after an untimed report over the first file of each side; runs between in-memory ones",
        "  rows = reference + current rows; per core: Dask rows/s ÷ its 2 worker cores; in "
        "memory rows/s ÷ the cores it used (its CPU time / wall: rows per CPU-second)",
        "",
    ]
    table: list[tuple[str, ...]] = []
    cl, me = s.get("cluster"), s.get("memory")
    if cl:
        peaks = " / ".join(_mb(p) for p in cl["worker_peaks_kb"].values())
        table.append(("ours on Dask, 2 workers × 1 thread "
                      + ("(once)" if cl.get("runs", 1) == 1 else f"(median of {cl['runs']})"),
                      f"{cl['rows_side']['reference']:,} + {cl['rows_side']['current']:,}",
                      _secs(cl["wall_s"]), _rate(cl["rows_per_s"]), _rate(cl["per_core"]),
                      f"workers {_secs(cl['workers_cpu_s'])} + client {_secs(cl['client_cpu_s'])}",
                      f"workers {peaks} (limit {cl['limit_bytes'] / 1e9:.0f} GB); client "
                      f"{_mb(cl['client_peak_kb'])}", _found(cl), _alarms(cl)))
    if me:
        table.append((f"ours in memory, DataFrames (median of {me['n']})",
                      f"{me['rows'] // 2:,} + {me['rows'] // 2:,}", _secs(me["wall_s"]),
                      _rate(me["rows_per_s"]),
                      f"{_rate(me['per_core'])} ({me['cores_used']:.2f} cores)",
                      _secs(me["cpu_s"]), f"{_mb(me['peak_kb'])} (data included)",
                      _found(me), _alarms(me)))
    for rows, e in s.get("evidently", {}).items():
        label = "Evidently DataDriftPreset (once)"
        size = f"{int(rows):,} + {int(rows):,}"
        if e.get("stopped"):
            table.append((label, size, e["stopped"], "—", "—", "—",
                          f"{_mb(e['peak_kb'])} (sampled)", "—", "—"))
        else:
            table.append((label, size, _secs(e["wall_s"]), _rate(e["rows_per_s"]), "—",
                          _secs(e["cpu_s"]), f"{_mb(e['peak_kb'])} (data included)",
                          _found(e), _alarms(e)))
    lines += ["  " + ln for ln in _grid(
        ("tool", "rows", "wall", "rows/s", "rows/s per core", "CPU", "peak memory",
         "shifted found", "false alarms (of 45)"), table, {1, 2, 3, 4, 5, 7, 8})]
    lines += _misses("ours on Dask", cl) + _misses("ours in memory", me)
    for rows, e in s.get("evidently", {}).items():
        lines += _misses(f"Evidently at {int(rows):,} rows", e)
    lines.append("")
    if cl:
        lines.append(f"completed: {check(True)}; every worker's peak under its "
                     f"{cl['limit_bytes'] / 1e9:.0f} GB limit: {check(cl['under_limit'])}")
    elif "cluster" in res:
        lines.append(f"completed: {check(False)} (the Dask run failed: see the errors below)")
    if "ratio_per_core" in s:
        lines.append(f"throughput per core, Dask over in memory: {s['ratio_per_core']:.2f} "
                     f"(goal ≥ {GOAL}: {check(s['goal_met'])}); per CPU-second (Dask's "
                     f"workers + client) {s['ratio_per_cpu_s']:.2f}; both ÷ the machine's "
                     f"{meta['machine']['cpus']} cores {s['ratio_per_machine_core']:.2f}")
        lines.append(f"  Dask's time includes reading the parquet files; ours in memory read its "
                     f"frames before its timed call ({_secs(me['read_s'])}, median): with that "
                     f"read counted, {_rate(me['rows_per_s_with_read'])}, and the ratio per "
                     f"machine core is {s['ratio_with_read']:.2f}")
    c = res.get("cluster")
    if c:
        for addr, w in c["workers"].items():
            limit = c["memory_limit_bytes"][addr]
            lines.append(f"  worker {addr}: peak {_mb(w.get('peak_kb'))} (VmHWM during the call; "
                         f"sampled every {SAMPLE_S} s: {_mb(w['sampled_peak_kb'])}; "
                         f"{(w.get('peak_kb') or 0) * 1024 / limit:.0%} of {limit:,} bytes), "
                         f"RSS before {_mb(w['rss_before_kb'])}, CPU {_secs(w.get('cpu_s'))}")
        lines.append(f"  client process (the scheduler and nannies run in it too): peak "
                     f"{_mb(c['client']['peak_kb'])}, CPU {_secs(c['client']['cpu_s'])}; "
                     f"cluster start {_secs(c['cluster_start_s'])}, warm-up "
                     f"{_secs(c['warm_up']['seconds'])}")
        if c["workers_restarted"]:
            lines.append(f"  !! workers restarted during the call: {', '.join(c['workers_restarted'])}")
        warned = {a: len(m) for a, m in c["memory_warnings"].items() if m}
        if warned:
            lines.append("  workers' log lines about memory: " + ", ".join(
                f"{a} {n}" for a, n in warned.items()))
        lines.append(f"  Dask run (the median one): load averages {loads(c['load_before'])} "
                     f"before, {loads(c['load_after'])} after"
                     + ("" if c.get("others_cores") is None else
                        f"; other processes' CPU during the call {c['others_cores']:.2f} cores"))
        if cl and cl.get("runs", 1) > 1:
            cached = ", ".join("?" if x is None else f"{x:.0%}" for x in cl["page_cache"])
            lines.append(f"  Dask runs in order: {', '.join(_secs(w) for w in cl['walls'])}; "
                         f"the page cache held {cached} of the files' bytes before each")
    mem = [r for r in res.get("memory") or [] if r]
    if mem:
        lines.append("  in-memory runs: 1-min load before→after " + ", ".join(
            f"{r['load_before'][0]:.2f}→{r['load_after'][0]:.2f}" for r in mem)
            + "; other processes' CPU during each call " + " ".join(
            "?" if r["timing"].get("others_cores") is None else f"{r['timing']['others_cores']:.2f}"
            for r in mem) + " cores")
    for rows, r in res.get("evidently", {}).items():
        others = (r.get("timing") or {}).get("others_cores")
        lines.append(f"  Evidently {int(rows):,}: load {loads(r['load_before'])} before, "
                     f"{loads(r['load_after'])} after"
                     + ("" if others is None else f"; other processes' CPU {others:.2f} cores")
                     + f"; RSS sampled up to {_mb(r['watch']['sampled_peak_kb'])}, process "
                     f"{_secs(r['watch']['elapsed_s'])}")
    if cl and me:
        lines.append("  the shifted columns' statistics (Dask over all rows / in memory): " + "; ".join(
            f"{col} {cl['statistics'][col]:.4f} / {me['statistics'][col]:.4f}" for col in SHIFTED))
    lines.append(f"elapsed {res['elapsed_s'] / 60:.1f} min")
    lines += [f"ERROR {e.splitlines()[0]}" for e in res.get("errors", []) if e]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2M rows current, 1M reference; 100k rows in memory and for Evidently")
    ap.add_argument("--code", help="the jupyter-mlops checkout to measure (default: this one)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python", help="Evidently's Python (default: setup_peer.sh evidently)")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--quiet-lock", metavar="PATH",
                    help="hold an flock on this file around each measurement (/tmp/quiet.lock)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default results/dask-drift-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        res = json.loads(Path(args.render).read_text())
        res["summary"] = summarize(res)
        print(render(res))
        return
    if args.skip_evidently:
        args.peer_python = None
    elif not args.peer_python:
        args.peer_python = peer_python("evidently")
    save(Bench(args).run(), render, "dask-drift", args.quick, args.out)


if __name__ == "__main__":
    main()
