#!/usr/bin/env python
"""Drift benchmark: `drift_report` (both presets) beside Evidently and a numpy/scipy floor.

    bash benchmarks/setup_peer.sh evidently     # once: builds Evidently's own venv outside the repo
    python benchmarks/bench_drift.py [--quick]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH); Evidently runs in its venv's Python, once per size at 100k
and 1M rows (minutes each), in the same run as ours. The data (reference and current frames of
N rows × 50 columns, 5 of them shifted) is generated once per size from a seed and kept as
parquet outside the repo; every measurement is a fresh process that reads it and then times
the drift computation alone (wall, and CPU: user + sys of the process), its peak memory
counting the data it loaded. Ours runs with `method="auto"` (the default) and
`method="evidently"`. Prints a table (which of the five shifts each finds, false alarms among
the 45 unchanged columns) and writes benchmarks/results/drift-<date>.json and .txt. See
benchmarks/README.md.

The same file is the worker the driver starts: `bench_drift.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import inspect
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Driver, peer_python, run_worker, save, versions
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import ratio as _ratio
from _common import secs as _secs
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
DATA_HOME = Path.home() / ".cache" / "jupyter-mlops" / "bench-drift-data"
SEED = 20261123
M = 1_000_000

# rows → repetitions of ours and the floor (each a fresh process); Evidently runs once per size
FULL = {"sizes": [100_000, M, 10 * M], "reps": {100_000: 5, M: 5, 10 * M: 3},
        "evidently": [100_000, M]}
QUICK = {"sizes": [100_000], "reps": {100_000: 1}, "evidently": [100_000]}
EVIDENTLY_MAX_ROWS = M  # beyond this it needs more memory than the machine has (see render)
THRESHOLD = 0.1  # the floor's: normalized Wasserstein and Jensen-Shannon distance (Evidently's)
PRESETS = ("auto", "evidently")  # ours, from raw frames; with a summarized reference: auto
KS_ALPHA = 0.05
WARM_ROWS = 5_000  # each tool runs once on this many rows first, untimed (see Probe.warm_up)


# -- the data -----------------------------------------------------------------------------------
def _zipf(levels: int, s: float) -> list[float]:
    w = [(k + 1) ** -s for k in range(levels)]
    return [x / sum(w) for x in w]


def _clear_shift() -> tuple[list[float], list[float]]:
    """6 levels; the top level's share 0.40 → 0.30, the others gain in proportion."""
    ref = [0.40, 0.25, 0.15, 0.10, 0.06, 0.04]
    cur = [0.30] + [p * 0.70 / 0.60 for p in ref[1:]]
    return ref, cur


def _subtle_shift() -> tuple[list[float], list[float]]:
    """12 Zipf(1.2) levels; 3 points of share move from the 2nd level (0.17) to the 5th (0.06)."""
    ref = _zipf(12, 1.2)
    cur = list(ref)
    cur[1] -= 0.03
    cur[4] += 0.03
    return ref, cur


def spec() -> list[dict]:
    """The 50 columns: name, kind, and how reference (`ref`) and current (`cur`) are drawn.
    Exactly five differ between the two: the `*_shift_*` columns."""
    cols: list[dict] = []

    def num(name: str, dist: str, ref: dict, cur: dict | None = None) -> None:
        cols.append({"name": name, "kind": "numeric", "dist": dist, "ref": ref,
                     "cur": cur if cur is not None else ref})

    def cat(name: str, ref: list[float], cur: list[float] | None = None) -> None:
        cols.append({"name": name, "kind": "categorical", "ref": ref,
                     "cur": cur if cur is not None else ref})

    # the three shifted numeric columns (shifts in units of the reference's sd)
    num("num_shift_mean", "normal", {"loc": 50.0, "scale": 10.0}, {"loc": 51.0, "scale": 10.0})
    num("num_shift_scale", "normal", {"loc": 0.0, "scale": 1.0}, {"loc": 0.0, "scale": 1.2})
    num("num_shift_mix", "normal", {"loc": 100.0, "scale": 15.0},  # 10 % moved by +2 sd
        {"loc": 100.0, "scale": 15.0, "mix_share": 0.1, "mix_shift": 30.0})
    for i in range(10):
        num(f"num_normal_{i:02d}", "normal", {"loc": [0, 5, -3, 100, 1e3, 0.5, -50, 20, 7, 0][i],
                                              "scale": [1, 2, 0.5, 15, 250, 0.1, 10, 4, 3, 30][i]})
    for i in range(8):
        num(f"num_lognormal_{i:02d}", "lognormal",
            {"mean": [0, 1, 2, 0.5, 3, 0, 1.5, 4][i], "sigma": [1, 0.5, 0.8, 1.2, 0.3, 0.25, 1, 0.6][i]})
    for i in range(6):
        num(f"num_uniform_{i:02d}", "uniform", {"low": [0, -1, 10, 0, -100, 5][i],
                                                "high": [1, 1, 20, 1000, 100, 6][i]})
    for i in range(4):
        num(f"num_exponential_{i:02d}", "exponential", {"scale": [1, 10, 0.2, 300][i]})
    for i in range(3):
        num(f"num_gamma_{i:02d}", "gamma", {"shape": [2, 0.5, 9][i], "scale": [2, 1, 0.5][i]})
    for i in range(3):  # integer-valued, many levels
        num(f"num_int_poisson20_{i:02d}", "poisson", {"lam": 20})
    num("num_int_uniform_00", "integers", {"low": 0, "high": 1000})
    num("num_int_uniform_01", "integers", {"low": 18, "high": 91})
    num("num_int_binomial_00", "binomial", {"n": 200, "p": 0.3})
    # categorical: 3–30 levels, skewed; two shifted
    cat("cat_shift_clear", *_clear_shift())
    cat("cat_shift_subtle", *_subtle_shift())
    for levels, s in [(3, 1.0), (4, 1.5), (5, 0.8), (8, 1.2), (10, 1.0), (15, 1.1), (20, 0.9),
                      (30, 1.3)]:
        cat(f"cat_{levels:02d}_levels", _zipf(levels, s))
    return cols


SHIFTED = [c["name"] for c in spec() if "_shift_" in c["name"]]


def make_column(col: dict, side: str, rows: int, index: int):
    """One column of one frame, drawn from its own seeded generator (seed, column, side)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([SEED, index, 0 if side == "ref" else 1])
    p = col[side]
    if col["kind"] == "categorical":
        codes = rng.choice(len(p), size=rows, p=np.asarray(p) / sum(p)).astype("int8")
        return pd.Categorical.from_codes(codes, categories=[f"L{k:02d}" for k in range(len(p))])
    dist = col["dist"]
    if dist == "normal":
        x = rng.normal(p["loc"], p["scale"], rows)
        if "mix_share" in p:  # a mixture: this share of the rows comes from the moved component
            x[rng.random(rows) < p["mix_share"]] += p["mix_shift"]
        return x
    if dist == "lognormal":
        return rng.lognormal(p["mean"], p["sigma"], rows)
    if dist == "uniform":
        return rng.uniform(p["low"], p["high"], rows)
    if dist == "exponential":
        return rng.exponential(p["scale"], rows)
    if dist == "gamma":
        return rng.gamma(p["shape"], p["scale"], rows)
    if dist == "poisson":
        return rng.poisson(p["lam"], rows).astype("int64")
    if dist == "integers":
        return rng.integers(p["low"], p["high"], rows, dtype="int64")
    if dist == "binomial":
        return rng.binomial(p["n"], p["p"], rows).astype("int64")
    raise ValueError(dist)


def data_digest(rows: int) -> str:
    """What the data of `rows` rows is made from: the spec, the seed and the generator's code."""
    text = json.dumps({"rows": rows, "seed": SEED, "spec": spec()}, sort_keys=True)
    text += inspect.getsource(make_column)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def population_values() -> dict[str, float]:
    """The statistic each shifted column has between the two populations (what ever larger
    samples converge to): Wasserstein / reference sd, and Jensen-Shannon distance (natural log)."""
    from scipy.spatial.distance import jensenshannon

    return {"num_shift_mean": 0.1,  # W1 of a shift is the shift
            "num_shift_scale": 0.2 * math.sqrt(2 / math.pi),  # W1(N(0,1), N(0,1.2)) = 0.2 E|Z|
            "num_shift_mix": 0.1 * 2.0,  # 10 % moved by 2 sd, all in one direction
            "cat_shift_clear": float(jensenshannon(*_clear_shift())),
            "cat_shift_subtle": float(jensenshannon(*_subtle_shift()))}


def task_make_data(a: dict) -> dict:
    """Write ref.parquet and cur.parquet of `rows` rows into `dir` (then spec.json, last)."""
    import pandas as pd

    folder = Path(a["dir"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").unlink(missing_ok=True)
    out: dict = {"rows": a["rows"], "files": {}}
    t0 = time.perf_counter()
    for side in ("ref", "cur"):
        df = pd.DataFrame({c["name"]: make_column(c, side, a["rows"], i)
                           for i, c in enumerate(spec())})
        path = folder / f"{side}.parquet"
        df.to_parquet(path, index=False)  # snappy; one file a frame
        out["files"][side] = {"bytes": path.stat().st_size,
                              "frame_mb": float(df.memory_usage(deep=True).sum()) / 2**20}
        del df
    out["seconds"] = time.perf_counter() - t0
    (folder / "spec.json").write_text(json.dumps({"digest": data_digest(a["rows"]),
                                                  "rows": a["rows"], "seed": SEED}) + "\n")
    return out


def data_ready(folder: Path, rows: int) -> bool:
    """Whether `folder` holds the frames of `rows` rows that the generator makes now (its
    spec.json, written last, names the same digest)."""
    marker = folder / "spec.json"
    return (marker.exists() and json.loads(marker.read_text()).get("digest") == data_digest(rows)
            and (folder / "ref.parquet").exists() and (folder / "cur.parquet").exists())


# -- measuring inside a worker ------------------------------------------------------------------
def _status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])
    return out


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _maxrss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the process's peak RSS (VmHWM, and with it ru_maxrss) to its current RSS: Linux's
    `clear_refs` 5. So the peak measured after it is the computation's, not the loading's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _maxrss_kb() <= _status()["VmRSS"] + 1024


class Probe:
    """Loads the two frames (pd.read_parquet, as a user would), then times blocks of work: wall
    (perf_counter), CPU (process_time: every thread of the process) and the peak RSS during the
    block (ru_maxrss after resetting the peak) above the RSS when it started."""

    def __init__(self, rows_dir: str):
        import gc

        import pandas as pd

        self.t_import = time.perf_counter()
        t0 = time.perf_counter()
        self.ref = pd.read_parquet(Path(rows_dir) / "ref.parquet")
        self.cur = pd.read_parquet(Path(rows_dir) / "cur.parquet")
        gc.collect()
        self.load = {"seconds": time.perf_counter() - t0, "rss_after_load_kb": _status()["VmRSS"],
                     "peak_kb": _maxrss_kb(), "shape": list(self.ref.shape),
                     "dtypes": sorted({str(t) for t in self.ref.dtypes})}
        self.peaks = [self.load["peak_kb"]]

    def warm_up(self, fn) -> None:
        """Run `fn(ref, cur)` once on the first WARM_ROWS rows, untimed: the tool's lazy imports
        and first-call setup stay out of the timed call, as the floor's imports do."""
        t0 = time.perf_counter()
        fn(self.ref.head(WARM_ROWS), self.cur.head(WARM_ROWS))
        self.load["warm_up_s"] = time.perf_counter() - t0
        self.load["warm_up_peak_kb"] = _maxrss_kb()

    def timed(self, fn):
        import gc

        gc.collect()
        reset = _reset_peak()
        rss0 = _status()["VmRSS"]
        busy0 = _busy_seconds()
        c0, t0 = time.process_time(), time.perf_counter()
        value = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        busy = _busy_seconds() - busy0
        peak = _maxrss_kb()
        self.peaks.append(peak)
        return value, {"wall_s": wall, "cpu_s": cpu, "rss_before_kb": rss0, "peak_kb": peak,
                       "working_kb": peak - rss0, "peak_reset": reset,
                       "others_cores": max(busy - cpu, 0.0) / wall if wall > 0 else None}

    def finish(self, out: dict) -> dict:
        out["load"] = self.load
        out["process_peak_kb"] = max(self.peaks)  # loading included
        return out


def _verdicts(columns: dict[str, dict]) -> dict:
    drifted = sorted(c for c, v in columns.items() if v["drifted"])
    return {"drifted_columns": drifted, "n_columns": len(columns)}


# -- worker tasks -------------------------------------------------------------------------------
def task_floor(a: dict) -> dict:
    """The floor, on one thread: per numeric column the exact Wasserstein distance over the
    reference's sd (sorted samples; scipy for unequal sizes), per categorical column the
    Jensen-Shannon distance of the level shares (natural log); drift at >= 0.1 (Evidently's
    defaults). Then, timed apart and after the floor's figures are taken, plain KS per numeric
    column (scipy ks_2samp, p < 0.05) when asked."""
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    probe = Probe(a["dir"])

    def floor(ref_df, cur_df) -> dict:
        out = {}
        for name in ref_df.columns:
            r, c = ref_df[name], cur_df[name]
            if isinstance(r.dtype, pd.CategoricalDtype):
                cats = r.cat.categories.union(c.cat.categories)
                rc, cc = r.cat.codes.to_numpy(), c.cat.codes.to_numpy()
                rmap = cats.get_indexer(r.cat.categories)
                cmap = cats.get_indexer(c.cat.categories)
                p = np.bincount(rmap[rc[rc >= 0]], minlength=len(cats))
                q = np.bincount(cmap[cc[cc >= 0]], minlength=len(cats))
                stat, method = float(jensenshannon(p, q)), "jensenshannon"
            else:
                x, y = r.to_numpy(), c.to_numpy()
                sd = max(float(np.std(x)), 0.001)
                if len(x) == len(y):
                    w = float(np.mean(np.abs(np.sort(x) - np.sort(y))))
                else:
                    w = float(stats.wasserstein_distance(x, y))
                stat, method = w / sd, "wasserstein"
            out[name] = {"method": method, "statistic": stat, "threshold": THRESHOLD,
                         "drifted": stat >= THRESHOLD}
        return out

    ref_df, cur_df = probe.ref, probe.cur
    probe.warm_up(floor)
    columns, timing = probe.timed(lambda: floor(ref_df, cur_df))
    out = {"timing": timing, "columns": columns, **_verdicts(columns),
           "drifted": len(_verdicts(columns)["drifted_columns"]) / len(columns) >= 0.5}
    probe.finish(out)
    if a.get("ks"):
        def ks() -> dict:
            return {n: float(stats.ks_2samp(ref_df[n].to_numpy(), cur_df[n].to_numpy()).pvalue)
                    for n in ref_df.columns if not isinstance(ref_df[n].dtype, pd.CategoricalDtype)}

        pvalues, ks_timing = probe.timed(ks)
        out["ks"] = {"timing": ks_timing, "pvalues": pvalues, "alpha": KS_ALPHA,
                     "drifted_columns": sorted(n for n, p in pvalues.items() if p < KS_ALPHA)}
    return out


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _ours_columns(rep) -> dict:
    frame = rep.to_frame()
    out = {}
    for row in frame.itertuples(index=False):
        out[str(row.column)] = {"method": row.method, "type": row.type,
                                "statistic": _finite(row.statistic),
                                "threshold": float(row.threshold),
                                "pvalue": _finite(getattr(row, "pvalue", None)),
                                "drifted": bool(row.drifted), "note": row.note or ""}
    return out


def task_ours(a: dict) -> dict:
    """jupyter-mlops: `drift_report(ref_df, cur_df, method=preset)` (variant "raw": the
    reference summarized inside the call), or `summarize(ref_df)` timed on its own and then
    `drift_report(ref, cur_df, method=preset)` (variant "summarized"). The report's verdicts
    are read with `to_frame()`, timed apart ("extract")."""
    t0 = time.perf_counter()
    import jupyter_mlops as mlops
    from jupyter_mlops.drift import summarize

    import_s = time.perf_counter() - t0
    probe = Probe(a["dir"])
    ref_df, cur_df = probe.ref, probe.cur
    preset = a.get("preset", "auto")
    out: dict = {"variant": a["variant"], "preset": preset, "import_s": import_s}
    probe.warm_up(lambda r, c: mlops.drift_report(summarize(r), c, method=preset).to_frame())
    if a["variant"] == "summarized":
        ref, out["summarize"] = probe.timed(lambda: summarize(ref_df))
    else:
        ref = ref_df
    rep, out["timing"] = probe.timed(lambda: mlops.drift_report(ref, cur_df, method=preset))
    (columns, drifted, listed), out["extract"] = probe.timed(
        lambda: (_ours_columns(rep), bool(rep.drifted), list(rep.drifted_columns)))
    out.update(columns=columns, **_verdicts(columns), drifted=drifted,
               listed_drifted_columns=sorted(listed), summary=rep.summary())
    return probe.finish(out)


def task_evidently(a: dict) -> dict:
    """Evidently with its defaults: `Report([DataDriftPreset()])` on two `Dataset`s that only
    declare the column types. Timed: building the two Datasets, `Report.run`, and
    `snapshot.dict()` (where the per-column results are read: one `ValueDrift` metric a column,
    its value against its threshold, and `DriftedColumnsCount`)."""
    t0 = time.perf_counter()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - t0
    probe = Probe(a["dir"])
    ref_df, cur_df = probe.ref, probe.cur
    cats = [c for c in ref_df.columns if str(ref_df[c].dtype) == "category"]
    nums = [c for c in ref_df.columns if c not in cats]
    parts: dict = {}

    def run(ref, cur):
        t = time.perf_counter()
        definition = DataDefinition(numerical_columns=nums, categorical_columns=cats)
        ref_ds = Dataset.from_pandas(ref, data_definition=definition)
        cur_ds = Dataset.from_pandas(cur, data_definition=definition)
        parts["datasets_s"] = time.perf_counter() - t
        t = time.perf_counter()
        snap = Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds)
        parts["run_s"] = time.perf_counter() - t
        t = time.perf_counter()
        d = snap.dict()
        parts["dict_s"] = time.perf_counter() - t
        return d

    probe.warm_up(run)
    d, timing = probe.timed(lambda: run(ref_df, cur_df))
    timing["parts"] = parts
    columns, count = {}, None
    for m in d["metrics"]:
        cfg = m.get("config", {})
        kind = str(cfg.get("type", ""))
        if kind.endswith("ValueDrift"):
            method, threshold, value = cfg.get("method"), cfg.get("threshold"), m["value"]
            pvalue = "p_value" in str(method).lower() or "p-value" in str(method).lower()
            drifted = value <= threshold if pvalue else value >= threshold
            columns[cfg["column"]] = {"method": method, "statistic": float(value),
                                      "threshold": threshold, "drifted": bool(drifted),
                                      "pvalue": pvalue}
        elif kind.endswith("DriftedColumnsCount"):
            count = {"count": m["value"]["count"], "share": m["value"]["share"],
                     "drift_share": cfg.get("drift_share", 0.5)}
    out = {"timing": timing, "import_s": import_s, "columns": columns, **_verdicts(columns),
           "drifted_columns_count": count, "tests": len(d.get("tests") or [])}
    # DatasetDriftMetric's rule: the dataset drifted when share >= drift_share
    out["drifted"] = bool(count and count["share"] >= count["drift_share"])
    return probe.finish(out)


def task_versions(a: dict) -> dict:
    names = (["evidently", "pandas", "numpy", "scipy", "pyarrow"] if a["side"] == "evidently"
             else ["pandas", "numpy", "scipy", "pyarrow"])
    return versions(names, ours=a["side"] == "ours")


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver ----------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.plan = dict(QUICK if args.quick else FULL)
        if args.sizes:
            sizes = [_parse_rows(s) for s in args.sizes.split(",")]
            self.plan = {"sizes": sizes,
                         "reps": {n: FULL["reps"].get(n, 3) if not args.quick else 1
                                  for n in sizes},
                         "evidently": [n for n in sizes if n <= EVIDENTLY_MAX_ROWS
                                       and not (args.quick and n > 100_000)]}
        if args.reps:
            self.plan["reps"] = {n: args.reps for n in self.plan["sizes"]}
        self.presets = [p.strip() for p in args.presets.split(",") if p.strip()]
        unknown = sorted(set(self.presets) - set(PRESETS))
        if unknown:
            raise SystemExit(f"--presets takes {', '.join(PRESETS)}; got {', '.join(unknown)}")
        self.python = args.python or sys.executable
        self.peer_py = args.peer_python
        self.data_home = Path(args.data_dir) if args.data_dir else DATA_HOME
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-drift-"))
        self.reused = _load_reuse(args.reuse_evidently) if args.reuse_evidently else None
        self.results: dict = {}
        self.errors: list[str] = []

    def env_ours(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.work / "project")  # nothing should be stored
        return env

    def env_peer(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MLOPS_") and k != "PYTHONPATH"}
        env.update(DO_NOT_TRACK="1")  # no usage telemetry (Evidently's only sends from its UI)
        return env

    def worker(self, side: str, task: str, args: dict, timeout: float = 3600) -> dict:
        python = self.peer_py if side == "evidently" else self.python
        env = self.env_peer() if side == "evidently" else self.env_ours()
        load1 = os.getloadavg()[0]
        started = _now()
        t0 = time.perf_counter()
        out = run_worker(python, __file__, task, args, env=env, cwd=self.work,
                         timeout=timeout, label=f"{side} ")
        out["process_wall_s"] = time.perf_counter() - t0
        out.update(load1_before=load1, started=started, finished=_now())
        return out

    def data(self, rows: int) -> dict:
        """The folder of the data of `rows` rows: reused when its spec.json matches the
        generator, else (re)written."""
        folder = self.data_home / str(rows)
        digest = data_digest(rows)
        if data_ready(folder, rows):
            self.log(f"{rows:,} rows: reusing the data in {folder}")
            info = {"reused": True}
        else:
            self.log(f"{rows:,} rows: writing the data to {folder}")
            info = {"reused": False, **self.worker("ours", "make_data",
                                                   {"rows": rows, "dir": str(folder)})}
        info.update(dir=str(folder), digest=digest,
                    bytes={s: (folder / f"{s}.parquet").stat().st_size for s in ("ref", "cur")})
        return info

    def size(self, rows: int) -> None:
        sec: dict = {"rows": rows, "floor": [], "ours_raw": [], "ours_raw_evidently": [],
                     "ours_summarized": []}
        self.results["sizes"][str(rows)] = sec
        sec["data"] = self.data(rows)
        d = sec["data"]["dir"]
        reps = self.plan["reps"][rows]
        tools = self.args.tools
        for rep in range(reps):
            self.log(f"{rows:,} rows: repetition {rep + 1}/{reps}")
            if "floor" in tools:
                r = self.attempt(f"floor {rows:,} rep {rep + 1}", self.worker, "ours", "floor",
                                 {"dir": d, "ks": rep == 0})
                if r:
                    sec["floor"].append(r)
            if "ours" in tools:
                runs = [("raw", "auto", "ours_raw"), ("raw", "evidently", "ours_raw_evidently"),
                        ("summarized", "auto", "ours_summarized")]
                for variant, preset, key in runs:
                    if preset not in self.presets:
                        continue
                    r = self.attempt(f"ours ({variant}, {preset}) {rows:,} rep {rep + 1}",
                                     self.worker, "ours", "ours",
                                     {"dir": d, "variant": variant, "preset": preset})
                    if r:
                        sec[key].append(r)
        if "evidently" not in tools:
            return
        if rows not in self.plan["evidently"]:
            sec["evidently_skipped"] = "over 40 GB" if rows > EVIDENTLY_MAX_ROWS else "--quick"
            return
        if self.reused is not None:
            old = self.reused["sizes"].get(str(rows), {})
            ev = old.get("evidently")
            if ev and old.get("data", {}).get("digest") == sec["data"]["digest"]:
                sec["evidently"] = ev
                sec["evidently_reused"] = {"file": self.args.reuse_evidently,
                                           "date": self.reused["meta"]["date"],
                                           "started": ev.get("started"),
                                           "git": self.reused["meta"]["git"],
                                           "peer": self.reused["meta"].get("peer")}
                self.log(f"{rows:,} rows: Evidently reused from {self.args.reuse_evidently}")
                return
            self.errors.append(f"no Evidently result for {rows:,} rows on the same data in "
                               f"{self.args.reuse_evidently}: "
                               + ("running it" if self.peer_py else "Evidently not measured"))
        if not self.peer_py:
            return
        self.log(f"{rows:,} rows: Evidently (once; minutes)")
        r = self.attempt(f"Evidently {rows:,}", self.worker, "evidently", "evidently",
                         {"dir": d}, 7200)
        if r:
            sec["evidently"] = r

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        (self.work / "project").mkdir()
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full",
            "plan": {"sizes": self.plan["sizes"], "reps": {str(k): v for k, v in
                                                           self.plan["reps"].items()},
                     "evidently": self.plan["evidently"], "tools": sorted(self.args.tools),
                     "presets": self.presets},
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine(),
                        "mem_total_gb": _mem_total_gb(),
                        "note": "2 noisy cores, shared with other agents' test runs"},
            "git": _git_describe(),
            "code_digest": _code_digest(),
            "seed": SEED, "spec": spec(), "shifted": SHIFTED,
            "population": population_values(),
            "ours": self.worker("ours", "versions", {"side": "ours"}),
        }
        if self.peer_py:
            meta["peer"] = self.worker("evidently", "versions", {"side": "evidently"})
        elif self.reused is not None:
            meta["peer"] = self.reused["meta"].get("peer")
        self.results["meta"] = meta
        self.results["sizes"] = {}
        try:
            for rows in self.plan["sizes"]:
                self.attempt(f"{rows:,} rows", self.size, rows)
        finally:
            if self.args.keep:
                print(f"kept {self.work}", file=sys.stderr)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: the figures mix "
                               "two versions of the code; run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _parse_rows(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1_000, "m": M}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def _mem_total_gb() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            return round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        return None


def _load_reuse(path: str) -> dict:
    res = json.loads(Path(path).read_text())
    if not any(s.get("evidently") for s in res.get("sizes", {}).values()):
        raise SystemExit(f"{path} holds no Evidently results")
    return res


# -- summary and table -----------------------------------------------------------------------------
def _tool_summary(runs: list[dict], timing_key: str = "timing") -> dict | None:
    runs = [r for r in runs if r and r.get(timing_key)]
    if not runs:
        return None
    sets = {tuple(r["drifted_columns"]) for r in runs}
    first = runs[0]
    drifted = set(first["drifted_columns"])
    return {
        "n": len(runs),
        "wall_s": _med([r[timing_key]["wall_s"] for r in runs]),
        "cpu_s": _med([r[timing_key]["cpu_s"] for r in runs]),
        "wall_range": [min(r[timing_key]["wall_s"] for r in runs),
                       max(r[timing_key]["wall_s"] for r in runs)],
        "process_peak_mb": _med([r["process_peak_kb"] / 1024 for r in runs]),
        "working_mb": _med([r[timing_key]["working_kb"] / 1024 for r in runs]),
        "after_load_mb": _med([r["load"]["rss_after_load_kb"] / 1024 for r in runs]),
        "load_peak_mb": _med([r["load"]["peak_kb"] / 1024 for r in runs]),
        "warm_up_s": _med([r["load"].get("warm_up_s") for r in runs]),
        "others_cores": [r[timing_key].get("others_cores") for r in runs],
        "peak_reset": all(r[timing_key].get("peak_reset") for r in runs),
        "found": [c for c in SHIFTED if c in drifted],
        "missed": [c for c in SHIFTED if c not in drifted],
        "false_alarms": sorted(drifted - set(SHIFTED)),
        "n_columns": first.get("n_columns"),
        "drifted": first.get("drifted"),
        "same_verdicts_every_run": len(sets) == 1,
        "statistics": {c: v["statistic"] for c, v in first["columns"].items()},
        "pvalues": {c: v.get("pvalue") for c, v in first["columns"].items()},
        "methods": sorted({str(v["method"]) for v in first["columns"].values()}),
        # results from before presets existed ran the default of then: Evidently's
        "preset": first.get("preset", "evidently (the default before presets)"),
    }


def _max_diff(a: dict | None, b: dict | None, kind_of: dict) -> dict:
    """The largest |a − b| of the per-column statistic, for numeric and categorical columns."""
    out = {}
    if not a or not b:
        return out
    for kind in ("numeric", "categorical"):
        diffs = [(abs(a[c] - b[c]), c) for c in a if kind_of.get(c) == kind
                 and a.get(c) is not None and b.get(c) is not None]
        if diffs:
            d, c = max(diffs)
            out[kind] = {"max_abs_diff": d, "column": c}
    return out


def summarize(res: dict) -> dict:
    """Medians, detections and ratios per size: what the table prints, kept in the JSON too."""
    kind_of = {c["name"]: c["kind"] for c in res["meta"]["spec"]}
    out: dict = {}
    for key, sec in res.get("sizes", {}).items():
        s: dict = {"rows": sec["rows"]}
        s["floor"] = _tool_summary(sec.get("floor", []))
        s["ours_raw"] = _tool_summary(sec.get("ours_raw", []))
        s["ours_raw_evidently"] = _tool_summary(sec.get("ours_raw_evidently", []))
        s["ours_summarized"] = _tool_summary(sec.get("ours_summarized", []))
        s["summarize_ref"] = _tool_summary(sec.get("ours_summarized", []), "summarize")
        s["evidently"] = _tool_summary([sec["evidently"]] if sec.get("evidently") else [])
        ks = next((r["ks"] for r in sec.get("floor", []) if r.get("ks")), None)
        if ks:
            flagged = set(ks["drifted_columns"])
            numeric = [c for c in ks["pvalues"]]
            s["ks"] = {"wall_s": ks["timing"]["wall_s"], "cpu_s": ks["timing"]["cpu_s"],
                       "found": [c for c in SHIFTED if c in flagged],
                       "false_alarms": sorted(flagged - set(SHIFTED)),
                       "unchanged_numeric": len([c for c in numeric if c not in SHIFTED]),
                       "pvalues": {c: ks["pvalues"][c] for c in SHIFTED if c in ks["pvalues"]}}
        fl, raw, ev = s["floor"], s["ours_raw"], s["evidently"]
        s["ours_vs_floor_statistic"] = _max_diff(raw and raw["statistics"],
                                                 fl and fl["statistics"], kind_of)
        s["ours_summarized_vs_floor_statistic"] = _max_diff(
            s["ours_summarized"] and s["ours_summarized"]["statistics"],
            fl and fl["statistics"], kind_of)
        s["evidently_vs_floor_statistic"] = _max_diff(ev and ev["statistics"],
                                                      fl and fl["statistics"], kind_of)
        s["ratio_evidently_ours"] = (ev["wall_s"] / raw["wall_s"]) if ev and raw else None
        s["ratio_evidently_ours_cpu"] = (ev["cpu_s"] / raw["cpu_s"]) if ev and raw else None
        s["ratio_evidently_ours_peak"] = (ev["process_peak_mb"] / raw["process_peak_mb"]
                                          if ev and raw else None)
        s["ratio_ours_floor"] = (raw["wall_s"] / fl["wall_s"]) if raw and fl else None
        s["ratio_ours_summarized_floor"] = (s["ours_summarized"]["wall_s"] / fl["wall_s"]
                                            if s["ours_summarized"] and fl else None)
        s["evidently_reused"] = sec.get("evidently_reused")
        s["evidently_skipped"] = sec.get("evidently_skipped")
        out[key] = s
    return out


def _mb(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} MB" if x < 1024 else f"{x / 1024:,.2f} GB"


def _found(t: dict) -> str:
    return f"{len(t['found'])}/5" + (f" (missed {', '.join(t['missed'])})" if t["missed"] else "")


def _alarms(t: dict) -> str:
    n = len(t["false_alarms"])
    return f"{n}" + (f" ({', '.join(t['false_alarms'])})" if n else "")


def _verdict(t: dict) -> str:
    k = len(t["found"]) + len(t["false_alarms"])
    return f"{'DRIFT' if t['drifted'] else 'no drift'} ({k}/{t['n_columns']})"


def _grid(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, None, *rows]:
        if r is None:
            lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
            continue
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def _row_adder(table: list[tuple[str, ...]]):
    def row(label: str, t: dict | None, full: bool = True) -> None:
        if not t:
            return
        table.append((label, _secs(t["wall_s"]), _secs(t["cpu_s"]), _mb(t["process_peak_mb"]),
                      f"+{_mb(max(t['working_mb'], 0.0))}", _found(t) if full else "",
                      _alarms(t) if full else "", _verdict(t) if full else ""))

    return row


def _stat(t: dict | None, col: str) -> str:
    if not t:
        return "—"
    v = t["statistics"].get(col)
    if v is None:
        return "—"
    return f"{v:.4f} " + ("✓" if col in t["found"] else "✗")


def render(res: dict) -> str:
    meta, summ = res["meta"], res["summary"]
    ours_v, peer_v = meta.get("ours", {}), meta.get("peer") or {}
    lines = [
        f"drift benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
        f"{ours_v.get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
        f"{', dirty' if meta['git']['dirty'] else ''}) vs Evidently "
        f"{peer_v.get('evidently', '— (skipped)')} vs a numpy/scipy floor; "
        f"{meta['machine']['cpus']} CPUs, {meta['machine'].get('mem_total_gb')} GB, shared (noisy)",
        f"  ours and floor: pandas {ours_v.get('pandas')}, numpy {ours_v.get('numpy')}, scipy "
        f"{ours_v.get('scipy')}, pyarrow {ours_v.get('pyarrow')}; Evidently's venv: pandas "
        f"{peer_v.get('pandas')}, numpy {peer_v.get('numpy')}, scipy {peer_v.get('scipy')}",
        "  data: reference and current, N rows × 50 columns (40 numeric, 10 categorical), seeded; "
        "shifted in current: " + ", ".join(SHIFTED) + "; the other 45 drawn from the same "
        "distribution",
        "  every figure is a fresh process that has read the two frames from parquet and run the "
        f"tool once on their first {WARM_ROWS:,} rows (imports, first-call setup); wall / CPU = "
        "the drift computation alone (CPU: user + sys of the process, all its threads)",
        "  peak RSS = the process's ru_maxrss (reading the data included); working = peak RSS "
        "during the computation above RSS after loading",
        "  ours: method=\"auto\" (the default: effect >= 0.05 normalized Wasserstein / 0.03 "
        "Jensen-Shannon AND a KS / chi-squared test at p < 0.001) and method=\"evidently\" "
        "(Evidently's defaults, as the floor)",
        "",
    ]
    pop = meta.get("population", {})
    for key, s in summ.items():
        rows = s["rows"]
        reps = meta["plan"]["reps"].get(key) or meta["plan"]["reps"].get(str(rows))
        head = (f"{rows:,} rows × 50 columns — ours and floor: median of {reps} fresh "
                f"process{'es' if reps != 1 else ''}; Evidently: ONE run")
        ev_reused = s.get("evidently_reused")
        if ev_reused:
            head += f" (Evidently figures from the run at {ev_reused.get('started') or ev_reused['date']})"
        lines.append(head)
        table: list[tuple[str, ...]] = []
        row = _row_adder(table)
        row("Evidently, DataDriftPreset() (once)", s["evidently"])
        skipped = None
        if not s["evidently"] and s.get("evidently_skipped"):
            skipped = "not run (--quick)"
            if s["evidently_skipped"] == "over 40 GB":
                at_1m = (summ.get(str(M)) or {}).get("evidently")
                grow = (f"{_mb(at_1m['process_peak_mb'])} peak RSS at 1M rows, growing with "
                        "the rows: ~10× that here" if at_1m else "it grows with the rows")
                skipped = (f"not run: it would need over 40 GB of memory ({grow}); this "
                           f"machine has {meta['machine'].get('mem_total_gb')} GB")
            table.append(("Evidently", "—", "—", "—", "—", "—", "—", "—"))
        raw = s["ours_raw"]
        row(f"jupyter-mlops drift_report(ref_df, cur_df) [{raw and raw.get('preset')}]", raw)
        row("jupyter-mlops drift_report(ref_df, cur_df, method=\"evidently\")",
            s.get("ours_raw_evidently"))
        row("jupyter-mlops summarize(ref_df)", s["summarize_ref"], full=False)
        summ_ref = s["ours_summarized"]
        row(f"jupyter-mlops drift_report(ref_sketch, cur_df) [{summ_ref and summ_ref.get('preset')}]",
            summ_ref)
        row("floor: numpy/scipy, exact, one thread", s["floor"])
        ks = s.get("ks")
        if ks:
            table.append(("plain KS p<0.05 (scipy ks_2samp; once)", _secs(ks["wall_s"]),
                          _secs(ks["cpu_s"]), "", "", f"{len(ks['found'])}/3 numeric",
                          f"{len(ks['false_alarms'])} of {ks['unchanged_numeric']} numeric",
                          ""))
        lines += ["  " + ln for ln in _grid(
            ("tool", "wall", "CPU", "peak RSS", "working", "shifted found (of 5)",
             "false alarms (of 45)", "dataset verdict (drifted/50)"),
            table, {1, 2, 3, 4})]
        if skipped:
            lines.append(f"  Evidently {skipped}")
        ratios = []
        if s["ratio_evidently_ours"]:
            r = s["ratio_evidently_ours"]
            wall = _ratio(s['evidently']['wall_s'], s['ours_raw']['wall_s'])
            ratios.append(f"Evidently / ours (auto) = {wall} (goal ≥ 100×: "
                          f"{'✓' if r >= 100 else '✗'})")
        if s["ratio_ours_floor"]:
            r = s["ratio_ours_floor"]
            ratios.append(f"ours / floor = {r:.2f}× (goal ≤ 2×: {'✓' if r <= 2 else '✗'})")
        if s["ratio_ours_summarized_floor"]:
            ratios.append(f"ours with the reference summarized / floor = "
                          f"{s['ratio_ours_summarized_floor']:.2f}×")
        if ratios:
            lines.append("  ratios (wall): " + "; ".join(ratios))
        ev, raw = s["evidently"], s["ours_raw"]
        if ev and raw:
            lines.append(
                f"  Evidently against ours (auto), its one run against our median: wall "
                f"{_secs(ev['wall_s'])} / {_secs(raw['wall_s'])} = {s['ratio_evidently_ours']:.0f}×; "
                f"CPU {_secs(ev['cpu_s'])} / {_secs(raw['cpu_s'])} = "
                f"{s['ratio_evidently_ours_cpu']:.0f}×; peak RSS with the data "
                f"{_mb(ev['process_peak_mb'])} / {_mb(raw['process_peak_mb'])} = "
                f"{s['ratio_evidently_ours_peak']:.1f}× (after loading: "
                f"{_mb(ev['after_load_mb'])} / {_mb(raw['after_load_mb'])})")
        fl = s["floor"]
        if fl and raw:
            lines.append(f"  CPU: ours {_secs(raw['cpu_s'])} against floor {_secs(fl['cpu_s'])} "
                         f"({raw['cpu_s'] / fl['cpu_s']:.2f}×); wall spread ours "
                         f"{_secs(raw['wall_range'][0])}–{_secs(raw['wall_range'][1])}, floor "
                         f"{_secs(fl['wall_range'][0])}–{_secs(fl['wall_range'][1])}")
        for label, key2 in (("ours vs floor", "ours_vs_floor_statistic"),
                            ("ours (summarized reference) vs floor",
                             "ours_summarized_vs_floor_statistic"),
                            ("Evidently vs floor", "evidently_vs_floor_statistic")):
            d = s.get(key2)
            if d:
                lines.append(f"  {label}, max |Δ statistic|: " + "; ".join(
                    f"{k} {v['max_abs_diff']:.2g} ({v['column']})" for k, v in d.items()))
        # the shifted columns, statistic by tool
        det = []
        for col in SHIFTED:
            p = pop.get(col)
            ksp = (ks or {}).get("pvalues", {}).get(col)
            ourp = (raw or {}).get("pvalues", {}).get(col)
            det.append((col, "—" if p is None else f"{p:.4f}", _stat(s["evidently"], col),
                        _stat(raw, col), "—" if ourp is None else f"{ourp:.2g}",
                        _stat(s.get("ours_raw_evidently"), col),
                        _stat(s["ours_summarized"], col), _stat(fl, col),
                        "" if ksp is None else f"{ksp:.2g}"))
        lines.append("  the shifted columns: statistic, ✓ where that tool flagged it (Evidently, "
                     "ours with method=\"evidently\" and the floor: at ≥ 0.1; ours auto: at "
                     "≥ 0.05 numeric / 0.03 categorical with its test's p < 0.001)")
        lines += ["    " + ln for ln in _grid(
            ("column", "population", "Evidently", "ours (auto)", "auto test p",
             "ours (evidently)", "ours (auto, sketch ref)", "floor", "KS p"), det,
            {1, 2, 3, 4, 5, 6, 7, 8})]
        warm = [(n, t) for n, t in (("Evidently", s["evidently"]), ("ours", raw),
                                    ("floor", fl)) if t and t.get("warm_up_s") is not None]
        if warm:
            lines.append(f"  untimed first call on {WARM_ROWS:,} rows (lazy imports, setup): "
                         + ", ".join(f"{n} {_secs(t['warm_up_s'])}" for n, t in warm)
                         + "; RSS after loading: " + ", ".join(
                             f"{n} {_mb(t['after_load_mb'])}" for n, t in warm))
        busy = [(n, t["others_cores"]) for n, t in (("Evidently", s["evidently"]),
                                                    ("ours", raw),
                                                    ("ours (evidently)",
                                                     s.get("ours_raw_evidently")),
                                                    ("ours (sketch ref)", s["ours_summarized"]),
                                                    ("floor", fl))
                if t and any(x is not None for x in t["others_cores"])]
        if busy:
            lines.append("  other processes' CPU during the timed call (cores, per run): " + "; ".join(
                f"{n} " + " ".join("?" if x is None else f"{x:.2f}" for x in xs) for n, xs in busy))
        same = [name for name, t in (("ours raw", raw),
                                     ("ours raw (evidently)", s.get("ours_raw_evidently")),
                                     ("ours summarized", s["ours_summarized"]),
                                     ("floor", fl)) if t and not t["same_verdicts_every_run"]]
        if same:
            lines.append("  !! verdicts differed between repetitions: " + ", ".join(same))
        if any(t and not t["peak_reset"] for t in (raw, fl, s["evidently"])):
            lines.append("  !! the peak RSS could not be reset after loading: 'working' "
                         "includes the loading's peak")
        lines.append("")
    ev_runs = [(k, s["evidently"]) for k, s in summ.items() if s.get("evidently")]
    if ev_runs:
        lines.append("Evidently ran once per size (minutes each), in this run beside ours: "
                     + "; ".join(f"{int(k):,} rows {_secs(t['wall_s'])} (CPU "
                                 f"{_secs(t['cpu_s'])}), peak RSS {_mb(t['process_peak_mb'])}"
                                 for k, t in ev_runs))
    lines.append("found (of 5) / false alarms (of 45), by size: " + "; ".join(
        f"{int(k):,}: " + ", ".join(
            f"{name} {len(t['found'])}/{len(t['false_alarms'])}"
            for name, t in (("Evidently", s.get("evidently")), ("auto", s.get("ours_raw")),
                            ("ours evidently", s.get("ours_raw_evidently")),
                            ("floor", s.get("floor"))) if t)
        for k, s in summ.items()))
    for label, key in (("ours (auto) chose", "ours_raw"),
                       ("ours (evidently) chose", "ours_raw_evidently")):
        methods = {k: s[key]["methods"] for k, s in summ.items() if s.get(key)}
        if methods:
            lines.append(f"{label}: " + "; ".join(f"{int(k):,}: {', '.join(v)}"
                                                  for k, v in methods.items()))
    lines.append(f"elapsed {res['elapsed_s'] / 60:.1f} min")
    lines += [f"ERROR {e.splitlines()[0]}" for e in res.get("errors", []) if e]
    return "\n".join(lines)




def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="100,000 rows only, one repetition each (Evidently included)")
    ap.add_argument("--sizes", help="comma-separated row counts, e.g. 100k,1m,10m")
    ap.add_argument("--reps", type=int, help="repetitions of ours and the floor at every size")
    ap.add_argument("--tools", default="ours,floor,evidently",
                    help="comma-separated: ours,floor,evidently (default all)")
    ap.add_argument("--presets", default=",".join(PRESETS),
                    help="ours's method presets, comma-separated: auto,evidently (default "
                         "both; with a summarized reference only auto runs)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python", help="Evidently's Python (default: setup_peer.sh evidently)")
    ap.add_argument("--skip-evidently", action="store_true", help="measure ours and the floor only")
    ap.add_argument("--reuse-evidently", metavar="JSON",
                    help="take Evidently's figures from an earlier results file (same data) "
                         "instead of running it again")
    ap.add_argument("--data-dir", help=f"where the generated data is kept (default {DATA_HOME})")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/drift-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    args.tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if args.skip_evidently:
        args.tools.discard("evidently")
    if "evidently" not in args.tools or args.reuse_evidently:
        args.peer_python = args.peer_python if "evidently" in args.tools else None
    elif not args.peer_python:
        args.peer_python = peer_python("evidently")
    results = Bench(args).run()
    save(results, render, "drift", args.quick, args.out)


if __name__ == "__main__":
    main()
