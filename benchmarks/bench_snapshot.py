#!/usr/bin/env python
"""Notebook snapshot benchmark: what a run's snapshot costs while the run is active, per cell,
what writing it costs when the run ends, and what the fuller `run.environment` costs at a
run's start.

    python benchmarks/bench_snapshot.py [--quick]

Run it with the Python of jupyter-mlops's environment; the working tree is measured (the repo
root first on PYTHONPATH of every worker). Each repetition is a fresh process with a fresh
project (embedded SQLite store). Prints a table and writes
benchmarks/results/snapshot-<date>.json and .txt. See benchmarks/README.md.

The same file is the worker the driver starts: `bench_snapshot.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
FULL = {"reps": 7, "cells": 2000, "session": 200}
QUICK = {"reps": 2, "cells": 300, "session": 50}
TARGET_PER_CELL = 1e-3  # the snapshot's cost while a run is active: under 1 ms per cell
MODES = ("no run", "run, snapshot capture off", "run")
# a typical cell: a print, a display, a value shown as the cell's result
CELL = "print('step', i)\ndisplay({'text/plain': f'value {i}'}, raw=True)\ni += 1\ni * 2"


class Sink(io.TextIOBase):
    """Where the shell's stdout goes: a Python stream object, as a kernel's OutStream is."""

    def write(self, text: str) -> int:
        return len(text)


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=cfg)
    shell.run_line_magic("load_ext", "jupyter_mlops")
    shell.run_cell("from IPython.display import display\ni = 0", store_history=True)
    return shell


def task_cells(args: dict) -> dict:
    """Seconds per cell for `cells` cells in one mode (see MODES)."""
    from jupyter_mlops.tracking import fluent, outputs

    if args["mode"] == "run, snapshot capture off":
        outputs.OutputCapture.install = lambda self: None
        outputs.OutputCapture.install_streams = lambda self: None
    spent = _time_inside(outputs.OutputCapture, ("_text", "_bundle", "install_streams",
                                                 "remove_streams", "_echo", "count"))
    shell = _shell()
    sys.stdout = Sink()
    try:
        if args["mode"] != "no run":
            shell.run_cell("%track start -n bench", store_history=True)
        for _ in range(50):  # warm up
            shell.run_cell(CELL, store_history=True)
        spent[0] = 0.0
        t0 = time.perf_counter()
        for _ in range(args["cells"]):
            shell.run_cell(CELL, store_history=True)
        elapsed = time.perf_counter() - t0
        inside = spent[0]
        t1 = time.perf_counter()
        if args["mode"] != "no run":
            fluent.end_run()
        end = time.perf_counter() - t1
    finally:
        sys.stdout = sys.__stdout__
    return {"per_cell": elapsed / args["cells"], "capture_per_cell": inside / args["cells"],
            "end_run": end}


def _time_inside(cls, names: tuple[str, ...]) -> list[float]:
    """Wrap methods of `cls` to add the seconds spent in them (outermost calls) to a total."""
    total = [0.0]
    depth = [0]

    def timed(fn):
        def wrapper(*a, **k):
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    total[0] += time.perf_counter() - t0
        return wrapper

    for name in names:
        setattr(cls, name, timed(getattr(cls, name)))
    return total


def task_end(args: dict) -> dict:
    """A session of `session` cells with outputs, all inside one run: what ending the run
    costs with the snapshot (build, JSON, blob, artifact row) and what building it costs."""
    from jupyter_mlops.tracking import cells, fluent, snapshot

    shell = _shell()
    sys.stdout = Sink()
    try:
        shell.run_cell("%track start -n bench", store_history=True)
        for _ in range(args["session"]):
            shell.run_cell(CELL, store_history=True)
        recorder = cells.recorder_for(fluent.active_run())
        t0 = time.perf_counter()
        nb = snapshot.build(recorder)
        build = time.perf_counter() - t0
        t1 = time.perf_counter()
        run = fluent.end_run()
        end = time.perf_counter() - t1
    finally:
        sys.stdout = sys.__stdout__
    size = run.artifacts["snapshot.ipynb"].size
    return {"build": build, "end_run": end, "bytes": size, "cells": len(nb["cells"])}


def task_environment(args: dict) -> dict:
    """run.environment's parts at a run's start: the installed distributions (cold, then
    cached), and the whole environment JSON (cold, then cached)."""
    from jupyter_mlops.tracking import capture, installed

    t = time.perf_counter()
    capture._distributions()  # the imported-packages map (importlib's packages_distributions)
    imported_map = time.perf_counter() - t
    t0 = time.perf_counter()
    dists = installed.distributions()
    t1 = time.perf_counter()
    installed.distributions()
    t2 = time.perf_counter()
    capture.environment()
    t3 = time.perf_counter()
    capture.environment()
    t4 = time.perf_counter()
    return {"imported_map": imported_map, "dists_cold": t1 - t0, "dists_warm": t2 - t1, "env_cold": t3 - t2,
            "env_warm": t4 - t3, "distributions": len(dists),
            "editable": sum(1 for d in dists.values() if d.get("direct_url", {}).get(
                "dir_info", {}).get("editable"))}


TASKS = {"cells": task_cells, "end": task_end, "environment": task_environment}


class Bench(Driver):
    def __init__(self, opts: dict):
        self.opts, self.errors, self.t_start = opts, [], time.perf_counter()

    def work(self, task: str, args: dict) -> dict | None:
        with tempfile.TemporaryDirectory(prefix="mlops-bench-snapshot-") as tmp:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_PROJECT_ROOT": tmp,
                   "IPYTHONDIR": os.path.join(tmp, ".ipython")}
            env = {k: v for k, v in env.items() if not k.startswith("JPY_")}
            return self.attempt(task, lambda: run_worker(
                sys.executable, str(Path(__file__)), task, args, env=env, cwd=tmp, timeout=900))

    def run(self) -> dict:
        o = self.opts
        digest = _code_digest()
        samples: dict[str, list] = {m: [] for m in MODES}
        for rep in range(o["reps"]):
            self.log(f"repetition {rep + 1}/{o['reps']}")
            for mode in MODES[rep % 3:] + MODES[:rep % 3]:  # rotate who goes first
                samples[mode].append(self.work("cells", {"mode": mode, "cells": o["cells"]}))
        ends = [self.work("end", {"session": o["session"]}) for _ in range(o["reps"])]
        envs = [self.work("environment", {}) for _ in range(o["reps"])]
        if _code_digest() != digest:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran")
        return {"when": datetime.datetime.now().isoformat(timespec="seconds"),
                "git": _git_describe(), "python": platform.python_version(),
                "options": o, "cell": CELL, "cells": samples, "ends": ends,
                "environments": envs, "errors": self.errors}


def render(r: dict) -> str:
    def per_cell(mode: str) -> float | None:
        return _med([s["per_cell"] for s in r["cells"][mode] if s])

    def us(x: float | None) -> str:
        return "—" if x is None else f"{x * 1e6:,.0f} µs"

    def ms(x: float | None) -> str:
        return "—" if x is None else f"{x * 1e3:,.1f} ms"

    base, off, on = (per_cell(m) for m in MODES)
    snap = None if on is None or off is None else on - off
    rows = [(f"per cell, {m}", us(v), "", "", "") for m, v in zip(MODES, (base, off, on),
                                                                   strict=True)]
    inside = _med([s["capture_per_cell"] for s in r["cells"]["run"] if s])
    rows.append(("per cell: time inside the snapshot's capture", us(inside), "", "",
                 _check(inside is not None and inside < TARGET_PER_CELL) + " goal < 1 ms"))
    paired = _med([b["per_cell"] - a["per_cell"] for a, b in zip(
        r["cells"][MODES[1]], r["cells"]["run"], strict=True) if a and b])
    rows.append(("per cell: the snapshot's capture (run − capture off)", us(snap), "", "",
                 f"wall-time difference, noisy at this scale; paired by repetition {us(paired)}"))
    rows.append(("per cell: recording and capture (run − no run)",
                 us(None if on is None or base is None else on - base), "", "", ""))
    ends = [e for e in r["ends"] if e]
    if ends:
        rows += [
            (f"snapshot build, {ends[0]['cells']} cells", ms(_med([e["build"] for e in ends])),
             "", "", f"{_med([e['bytes'] for e in ends]):,.0f} bytes"),
            ("end_run with the snapshot written", ms(_med([e["end_run"] for e in ends])), "",
             "", ""),
            (f"end_run after {r['options']['cells']} cells, capture off / on",
             " / ".join(ms(_med([s["end_run"] for s in r["cells"][m] if s])) for m in MODES[1:]),
             "", "", ""),
        ]
    envs = [e for e in r["environments"] if e]
    if envs:
        rows += [
            (f"installed distributions ({envs[0]['distributions']}), first scan",
             ms(_med([e["dists_cold"] for e in envs])), "", "", ""),
            ("installed distributions, cached", us(_med([e["dists_warm"] for e in envs])),
             "", "", ""),
            ("imported-packages map (as before: packages_distributions)",
             ms(_med([e["imported_map"] for e in envs])), "", "", ""),
            ("environment JSON at the first run start, after that map",
             ms(_med([e["env_cold"] for e in envs])), "", "", ""),
            ("environment JSON, cached", us(_med([e["env_warm"] for e in envs])), "", "", ""),
        ]
    lines = [f"Notebook snapshot, {r['when']}, git {r['git']['commit'][:8]}"
             f"{' (dirty)' if r['git']['dirty'] else ''}, Python {r['python']}, "
             f"{r['options']['reps']} repetitions of {r['options']['cells']} cells (medians)", ""]
    lines += _table(("figure", "value", "", "", "notes"), rows)
    lines += [f"error: {e}" for e in r["errors"]]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--render", metavar="FILE", help="print the table of a results file")
    opts = parser.parse_args()
    if opts.render:
        print(render(json.loads(Path(opts.render).read_text())))
        return
    results = Bench(QUICK if opts.quick else FULL).run()
    save(results, render, "snapshot", opts.quick, opts.out)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
