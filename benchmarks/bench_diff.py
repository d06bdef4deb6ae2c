#!/usr/bin/env python
"""Run diff benchmark: `diff_runs(a, b)` of two runs with 200-cell notebook snapshots and 500
installed distributions each, warm and cold, beside nbdime's own `diff_notebooks` on the same
two snapshots (what `nbdiff a.ipynb b.ipynb` computes), and the worst case: two snapshots
whose every cell differs.

    python benchmarks/bench_diff.py [--quick]

Run it with the Python of jupyter-mlops's environment; the working tree is measured (the repo
root first on PYTHONPATH of every worker). Each repetition builds its runs in a fresh project
(embedded SQLite store): each run from an IPython InteractiveShell session of its own process
(history in memory, the extension loaded), its cells printing, displaying and showing values
while the run is active. Run b's session edits ~10 % of run a's cells, adds 2, removes 2, and
differs in one param, one metric and the dataset version it loads; run c's edits every cell.

The package list is generated: the venv has ~300 distributions, so the benchmark replaces
each run's recorded environment in the store with 500 generated ones (b and c: ~5 % of the
versions changed, 3 added, 2 removed), keeping the real Python and platform.

Prints a table and writes benchmarks/results/diff-<date>.json and .txt. See
benchmarks/README.md. The same file is the worker the driver starts:
`bench_diff.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import MARK, ROOT, Driver, loads, quiet, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import ratio as _ratio
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
FULL = {"reps": 5, "cells": 200, "packages": 500, "calls": 15, "slow_calls": 3}
QUICK = {"reps": 1, "cells": 60, "packages": 500, "calls": 5, "slow_calls": 2}
TARGET = 1.0  # diff_runs of two 200-cell snapshots and 500 packages: under 1 s
SETUP = ["%load_ext jupyter_mlops", "import jupyter_mlops as mlops\n"
         "from IPython.display import display"]
# the run's own first and last cells (start with params, the dataset, the metrics, the end)
START = "%track start -n {name} lr={lr} depth=6 seed=0"
LOAD = "df = mlops.load_dataset('points@{version}')\nprint(df.describe().round(3))"
METRICS = ("mlops.log_metric('accuracy', {accuracy})\nmlops.log_metric('loss', 0.3125)\n"
           "print('logged')")
END = "%track end"


# --- the sessions ---------------------------------------------------------------------------

def work_cell(i: int, k: int) -> str:
    """Work cell number i, with the constant k (an edit changes k): five kinds of cells of a
    few to a dozen lines that print, display or show a value, all deterministic."""
    kind = i % 5
    if kind == 0:
        return (f"values_{i} = [((j * {k}) % 97) / 10 for j in range(200)]\n"
                f"mean_{i} = sum(values_{i}) / len(values_{i})\n"
                f"spread_{i} = max(values_{i}) - min(values_{i})\n"
                f"print(f'cell {i}: n={{len(values_{i})}} mean={{mean_{i}:.3f}} "
                f"spread={{spread_{i}:.2f}}')")
    if kind == 1:
        return (f"# feature scores, step {i}\n"
                f"rows_{i} = [(f'feature_{{j}}', round((j * {k}) % 13 / 7, 3)) for j in range(8)]\n"
                f"for name, score in sorted(rows_{i}, key=lambda r: -r[1]):\n"
                f"    print(f'{{name:<12}} {{score:>8.3f}}')")
    if kind == 2:
        return (f"config_{i} = {{'depth': {k} % 7 + 2, 'rate': {k} / 1000,\n"
                f"            'features': [f'f{{j}}' for j in range(5)]}}\n"
                f"config_{i}['score'] = round(config_{i}['depth'] * config_{i}['rate'], 4)\n"
                f"config_{i}")
    if kind == 3:
        return (f"def transform_{i}(xs, scale={k}):\n"
                f"    \"\"\"Scale and clip a list of numbers.\"\"\"\n"
                f"    out = []\n"
                f"    for x in xs:\n"
                f"        y = x * scale / 100\n"
                f"        out.append(min(max(y, -1.0), 1.0))\n"
                f"    return out\n\n"
                f"transform_{i}(list(range(-5, 6)))")
    return (f"summary_{i} = {{'step': {i}, 'seen': {k} * 3, 'kept': {k} * 2}}\n"
            f"display({{'text/plain': '\\n'.join(f'{{key}}: {{value}}' "
            f"for key, value in summary_{i}.items())}}, raw=True)\n"
            f"print('kept ratio', round(summary_{i}['kept'] / summary_{i}['seen'], 3))")


def session(variant: str, cells: int) -> list[str]:
    """The sources of one session: a (the original), b (~10 % of the work cells edited, 2
    added, 2 removed, lr, accuracy and the dataset version changed), c (every cell edited)."""
    n_work = cells - len(SETUP) - 4
    work = [(i, 7 + i) for i in range(n_work)]
    lr, accuracy, version = 0.01, 0.8125, 1
    if variant == "b":
        work = [(i, k + 1 if i % 10 == 5 else k) for i, k in work]
        del work[n_work // 3], work[2 * n_work // 3]
        work.insert(n_work // 4, (n_work, 11))
        work.insert(3 * n_work // 4, (n_work + 1, 13))
        lr, accuracy, version = 0.02, 0.84375, 2
    elif variant == "c":
        work = [(i, k + 1) for i, k in work]
        lr, accuracy, version = 0.02, 0.84375, 2
    return [*SETUP, START.format(name=variant, lr=lr), LOAD.format(version=version),
            *[work_cell(i, k) for i, k in work], METRICS.format(accuracy=accuracy), END]


class Sink(io.TextIOBase):
    """Where the shell's stdout goes: a Python stream object, as a kernel's OutStream is."""

    def write(self, text: str) -> int:
        return len(text)


def task_datasets(args: dict) -> dict:
    """Two versions of the dataset the sessions load (a loads @1, b and c @2)."""
    import numpy as np
    import pandas as pd

    import jupyter_mlops as mlops

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=1000), "y": rng.normal(size=1000)})
    mlops.version_dataset(frame, "points")
    mlops.version_dataset(frame.assign(y=frame.y + 0.1), "points")
    return {}


def task_session(args: dict) -> dict:
    """One session (see `session`) in an in-process IPython shell; the run's id."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.tracking import fluent

    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=cfg)
    run_id = None
    sys.stdout = Sink()
    try:
        for source in session(args["variant"], args["cells"]):
            result = shell.run_cell(source, store_history=True)
            if not result.success:
                raise RuntimeError(f"cell failed: {source[:60]!r}: {result.error_in_exec}")
            run_id = run_id or getattr(fluent.active_run(), "id", None)
    finally:
        sys.stdout = sys.__stdout__
    return {"run_id": run_id}


def packages(n: int, variant: str) -> dict:
    """Generated distributions (name: {"version"}): n for a; for b, ~5 % of the versions
    changed, 3 added, 2 removed; a few local (editable) installs in both."""
    rng = random.Random(0)
    words = ["data", "ml", "py", "fast", "json", "http", "sql", "plot", "test", "async", "geo",
             "text", "image", "cloud", "auth", "cache", "lint", "stats", "graph", "time"]
    names = sorted({f"{rng.choice(words)}-{rng.choice(words)}-{i}" for i in range(n)})
    out = {name: {"version": f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"}
           for name in names}
    for name in names[::97]:
        out[name]["direct_url"] = {"url": f"file:///src/{name}", "dir_info": {"editable": True}}
    if variant != "a":
        for name in names[3::20]:  # every 20th: 5 %
            v = out[name]["version"].split(".")
            out[name] = {**out[name], "version": ".".join([v[0], v[1], str(int(v[2]) + 1)])}
        for name in names[7:9]:
            del out[name]
        for i in range(3):
            out[f"added-{i}"] = {"version": f"1.{i}.0"}
    return dict(sorted(out.items()))


def task_prepare(args: dict) -> dict:
    """Replace each run's recorded distributions with the generated ones (keeping the real
    python and platform), and write each run's snapshot to <variant>.ipynb for nbdime."""
    import nbformat
    from sqlalchemy import update

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import runs
    from jupyter_mlops.tracking import records
    from jupyter_mlops.tracking.fluent import get_run

    store = get_store()
    out = {}
    for variant, run_id in args["runs"].items():
        run = get_run(run_id)
        env = {**run.environment, "distributions": packages(args["packages"], variant)}
        with store.write() as conn:
            digest = records.put_text(conn, json.dumps(env, sort_keys=True), store.dialect)
            conn.execute(update(runs).where(runs.c.id == run_id)
                         .values(environment_digest=digest))
        nb = run.notebook()
        nbformat.write(nb, f"{variant}.ipynb")
        out[variant] = {"cells": len(nb.cells),
                        "run_cells": sum(1 for c in nb.cells if c.metadata.get("jupyter_mlops")),
                        "bytes": os.path.getsize(f"{variant}.ipynb"),
                        "distributions": len(env["distributions"])}
    return out


# --- the measurements -----------------------------------------------------------------------

def _summary(d) -> dict:
    """What the diff found, to check both sides diffed what they should."""
    return {"code": d.code["summary"], "params": [c.key for c in d.params],
            "metrics": [c.key for c in d.metrics],
            "packages": {k: len(v) for k, v in d.packages.items()},
            "inputs": [i["change"] for i in d.inputs]}


def task_ours_cold(args: dict) -> dict:
    """A fresh process's first diff_runs, its imports included."""
    t0 = time.perf_counter()
    import jupyter_mlops as mlops

    t1 = time.perf_counter()
    d = mlops.diff_runs(args["a"], args["b"])
    t2 = time.perf_counter()
    return {"total": t2 - t0, "import": t1 - t0, "call": t2 - t1, "found": _summary(d),
            "modules": sorted(m for m in ("nbformat", "nbdime", "jsonschema", "rfc3987_syntax",
                                          "pandas", "sqlalchemy", "plotly") if m in sys.modules)}


def task_ours_warm(args: dict) -> dict:
    """diff_runs over and over in one process (after untimed warm-up calls), and its parts:
    reading the two runs' cells (the snapshots), aligning and diffing them, the rest."""
    import jupyter_mlops as mlops
    from jupyter_mlops.repro import celldiff

    for _ in range(args["warmup"]):
        d = mlops.diff_runs(args["a"], args["b"])
    calls = []
    for _ in range(args["calls"]):
        t0 = time.perf_counter()
        mlops.diff_runs(args["a"], args["b"])
        calls.append(time.perf_counter() - t0)
    a, b = mlops.get_run(args["a"]), mlops.get_run(args["b"])
    t0 = time.perf_counter()
    cells_a, cells_b = celldiff.cells_of(a)[1], celldiff.cells_of(b)[1]
    t1 = time.perf_counter()
    celldiff.diff_cells(cells_a, cells_b)
    t2 = time.perf_counter()
    return {"calls": calls, "cells_of": t1 - t0, "diff_cells": t2 - t1, "found": _summary(d)}


def _read(path: str, ids: bool):
    """A snapshot file as nbdime gets it; without `ids`, its cells' ids removed (nbdime then
    aligns the cells by content, as diff_runs does, instead of pairing equal ids)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if not ids:
        for cell in nb.cells:
            cell.pop("id", None)
    return nb


def _peer_found(diff: list) -> dict:
    """The cells part of nbdime's diff: how many cells it saw added, removed and patched."""
    ops = next((op["diff"] for op in diff if op["key"] == "cells"), [])
    return {"added": sum(len(op["valuelist"]) for op in ops if op["op"] == "addrange"),
            "removed": sum(op["length"] for op in ops if op["op"] == "removerange"),
            "patched": sum(1 for op in ops if op["op"] == "patch")}


def task_peer_cold(args: dict) -> dict:
    """A fresh process's nbdime diff of the two snapshot files, its imports included."""
    t0 = time.perf_counter()
    import nbdime
    import nbformat  # noqa: F401 - timed with nbdime: what nbdiff imports

    t1 = time.perf_counter()
    diff = nbdime.diff_notebooks(_read(args["a"], args["ids"]), _read(args["b"], args["ids"]))
    t2 = time.perf_counter()
    return {"total": t2 - t0, "import": t1 - t0, "call": t2 - t1, "found": _peer_found(diff)}


def task_peer_warm(args: dict) -> dict:
    """nbdime's diff of the two files over and over in one process (after untimed warm-up
    calls): reading both and diffing (what nbdiff does), and the diff alone."""
    import nbdime

    def once():
        return nbdime.diff_notebooks(_read(args["a"], args["ids"]), _read(args["b"], args["ids"]))

    for _ in range(args["warmup"]):
        diff = once()
    calls = []
    for _ in range(args["calls"]):
        t0 = time.perf_counter()
        once()
        calls.append(time.perf_counter() - t0)
    nb_a, nb_b = _read(args["a"], args["ids"]), _read(args["b"], args["ids"])
    t0 = time.perf_counter()
    nbdime.diff_notebooks(nb_a, nb_b)
    return {"calls": calls, "diff_alone": time.perf_counter() - t0, "found": _peer_found(diff)}


TASKS = {"datasets": task_datasets, "session": task_session, "prepare": task_prepare,
         "ours_cold": task_ours_cold, "ours_warm": task_ours_warm,
         "peer_cold": task_peer_cold, "peer_warm": task_peer_warm}


# --- the driver -----------------------------------------------------------------------------

CASES = {"typical": ("a", "b"), "worst": ("a", "c")}
# the contenders: diff_runs; nbdime on the snapshot files as stored (their cells carry ids,
# `cell-<execution count>`, so nbdime pairs cells by id); nbdime on the same files without
# the ids (it then aligns cells by content, the work diff_runs's alignment does)
SIDES = {"ours": ("ours", None), "nbdime": ("peer", True), "nbdime_content": ("peer", False)}
SLOW = {("ours", "worst"), ("nbdime_content", "typical"), ("nbdime_content", "worst")}


class Bench(Driver):
    def __init__(self, opts: dict):
        self.opts, self.errors, self.t_start = opts, [], time.perf_counter()

    def env(self, project: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_PROJECT_ROOT": project,
               "MLOPS_NOTEBOOK": os.path.join(project, "analysis.ipynb"),
               "IPYTHONDIR": os.path.join(project, ".ipython")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's machine: see the README
        return {k: v for k, v in env.items() if not k.startswith("JPY_")}

    def work(self, project: str, task: str, args: dict) -> dict | None:
        return self.attempt(task, lambda: run_worker(
            sys.executable, str(Path(__file__)), task, args, env=self.env(project), cwd=project,
            timeout=900))

    def build(self, project: str) -> dict | None:
        """The three runs of one repetition: {variant: run id}, and what prepare found."""
        o = self.opts
        if self.work(project, "datasets", {}) is None:
            return None
        ids = {}
        for variant in "abc":
            done = self.work(project, "session", {"variant": variant, "cells": o["cells"]})
            if done is None:
                return None
            ids[variant] = done["run_id"]
        prepared = self.work(project, "prepare", {"runs": ids, "packages": o["packages"]})
        return prepared and {"runs": ids, "notebooks": prepared}

    def measure(self, project: str, built: dict, rep: int) -> dict:
        """Every contender on both cases, cold then warm, the order rotating by repetition."""
        o, ids = self.opts, built["runs"]
        r: dict = {"built": built, "load": [os.getloadavg()[0]]}
        sides = list(SIDES)
        sides = sides[rep % 3:] + sides[:rep % 3]
        for case, (x, y) in CASES.items():
            for mode in ("cold", "warm"):
                for side in sides:
                    task, ids_kept = SIDES[side]
                    slow = (side, case) in SLOW
                    args = {"calls": o["slow_calls"] if slow else o["calls"],
                            "warmup": 1 if slow else 2}
                    if task == "ours":
                        args.update(a=ids[x], b=ids[y])
                    else:
                        args.update(a=os.path.join(project, f"{x}.ipynb"),
                                    b=os.path.join(project, f"{y}.ipynb"), ids=ids_kept)
                    r[f"{case}_{side}_{mode}"] = self.work(project, f"{task}_{mode}", args)
        r["load"].append(os.getloadavg()[0])
        return r

    def importtime(self, project: str, runs: dict) -> dict | None:
        """`-X importtime` of a cold diff_runs: the largest imports (cumulative µs)."""
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", str(Path(__file__)), "--worker", "ours_cold",
             json.dumps({"a": runs["a"], "b": runs["b"]})],
            env=self.env(project), cwd=project, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or MARK not in proc.stdout:
            self.errors.append(f"importtime failed: {proc.stderr[-500:]}")
            return None
        rows: dict[str, tuple[int, int]] = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
            if m:
                rows.setdefault(m.group(4), (int(m.group(2)), len(m.group(3))))
        top = sorted(((n, us) for n, (us, depth) in rows.items() if depth == 0),
                     key=lambda r: -r[1])[:6]
        named = {n: rows[n][0] for n in ("nbformat", "jsonschema", "rfc3987_syntax", "nbdime",
                                         "sqlalchemy", "pandas") if n in rows}
        return {"top": top, "named": named}

    def run(self, lock: str | None) -> dict:
        """Build every repetition's project first, then measure them all (under `lock`)."""
        o = self.opts
        digest = _code_digest()
        reps = []
        imports = None
        with tempfile.TemporaryDirectory(prefix="mlops-bench-diff-") as tmp:
            built = []
            for rep in range(o["reps"]):
                self.log(f"repetition {rep + 1}/{o['reps']}: building the runs")
                project = os.path.join(tmp, f"rep{rep}")
                os.mkdir(project)
                built.append((project, self.build(project)))
            with quiet(lock, self.log):
                load = {"before": os.getloadavg()}
                t0 = time.perf_counter()
                for rep, (project, runs) in enumerate(built):
                    if runs is None:
                        continue
                    self.log(f"repetition {rep + 1}/{o['reps']}: measuring")
                    reps.append(self.measure(project, runs, rep))
                    if rep == 0:
                        imports = self.importtime(project, runs["runs"])
                load.update(after=os.getloadavg(),
                            seconds=time.perf_counter() - t0)
        if _code_digest() != digest:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran")
        import nbdime
        import nbformat

        return {"when": datetime.datetime.now().isoformat(timespec="seconds"),
                "git": _git_describe(), "python": platform.python_version(),
                "versions": {"nbdime": nbdime.__version__, "nbformat": nbformat.__version__},
                "cpus": os.cpu_count(), "options": o, "quiet_lock": lock, "load": load,
                "reps": reps, "imports": imports, "errors": self.errors}


def render(r: dict) -> str:
    reps = r["reps"]

    def pick(key: str, field: str) -> list:
        return [x[key][field] for x in reps if x.get(key)]

    def warm(case: str, side: str) -> float | None:
        return _med([_med(c) for c in pick(f"{case}_{side}_warm", "calls")])

    def cold(case: str, side: str, field: str = "total") -> float | None:
        return _med(pick(f"{case}_{side}_cold", field))

    rows = []
    for case, label in (("typical", "~10 % of cells changed"), ("worst", "every cell changed")):
        ours_w = warm(case, "ours")
        goal = "" if ours_w is None else (
            f"{_check(ours_w < TARGET)} goal < 1 s" if case == "typical"
            else ("OVER 1 s" if ours_w >= TARGET else "under 1 s"))
        for mode, fn in (("warm", warm), ("cold", cold)):
            ours = fn(case, "ours")
            for side, what in (("nbdime", "nbdime, files as stored (pairs cells by id)"),
                               ("nbdime_content", "nbdime, cell ids removed (aligns by content)")):
                peer = fn(case, side)
                rows.append((f"{label}, {mode}: diff_runs | {what}", _secs(ours), _secs(peer),
                             _ratio(peer, ours), goal if mode == "warm" and
                             side == "nbdime" else ""))
        rows += [
            ("    cold: the imports (lazy facade | nbdime + nbformat)", _secs(cold(case, "ours",
             "import")), _secs(cold(case, "nbdime", "import")), "", ""),
            ("    cold: the first call (its imports inside | read + diff)",
             _secs(cold(case, "ours", "call")), _secs(cold(case, "nbdime", "call")), "", ""),
            ("    warm: reading both snapshots (cells_of) | the diff alone",
             _secs(_med(pick(f"{case}_ours_warm", "cells_of"))),
             _secs(_med(pick(f"{case}_nbdime_warm", "diff_alone"))), "", ""),
            ("    warm: aligning and diffing the cells (diff_cells) | same, ids removed",
             _secs(_med(pick(f"{case}_ours_warm", "diff_cells"))),
             _secs(_med(pick(f"{case}_nbdime_content_warm", "diff_alone"))), "", ""),
        ]
    o = r["options"]
    lines = [f"Run diff, {r['when']}, git {r['git']['commit'][:8]}"
             f"{' (dirty)' if r['git']['dirty'] else ''}, Python {r['python']}, "
             f"nbdime {r['versions']['nbdime']}, {len(reps)} repetitions (medians; warm: "
             f"{o['calls']} calls a process, {o['slow_calls']} for those over ~1 s)", ""]
    if reps:
        first = reps[0]
        nbs = first["built"]["notebooks"]
        lines.append("snapshots: " + ", ".join(
            f"{v} {n['cells']} cells ({n['bytes'] / 1e3:,.0f} KB, {n['distributions']} "
            f"distributions)" for v, n in nbs.items()))
        for case in CASES:
            found = {s: (first.get(f"{case}_{s}_warm") or {}).get("found") for s in SIDES}
            lines.append(f"{case}: diff_runs found {found['ours']}")
            lines.append(f"    nbdime's cells as stored {found['nbdime']}, ids removed "
                         f"{found['nbdime_content']}")
        lo = r["load"]
        lines.append(f"load average while measuring: {loads(lo['before'])} before, "
                     f"{loads(lo['after'])} after ({lo['seconds']:.0f} s, {r['cpus']} cores, "
                     f"quiet lock {'held' if r['quiet_lock'] else 'not taken'})")
        lines.append("")
    lines += _table(("figure", "diff_runs", "nbdime", "nbdime/ours", "notes"), rows)
    if r.get("imports"):
        lines += ["", "cold diff_runs, -X importtime (cumulative, one run): " + ", ".join(
            f"{n} {us / 1e6:.2f} s" for n, us in r["imports"]["named"].items())]
        lines.append("  largest top-level imports: " + ", ".join(
            f"{n} {us / 1e6:.2f} s" for n, us in r["imports"]["top"]))
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
    parser.add_argument("--quiet-lock", metavar="PATH",
                        help="hold this lock file while measuring (e.g. /tmp/quiet.lock)")
    opts = parser.parse_args()
    if opts.render:
        print(render(json.loads(Path(opts.render).read_text())))
        return
    results = Bench(QUICK if opts.quick else FULL).run(opts.quiet_lock)
    save(results, render, "diff", opts.quick, opts.out)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
