#!/usr/bin/env python
"""Data-versioning benchmark: jupyter-mlops beside DVC, side by side in one run.

    bash benchmarks/setup_peer.sh dvc        # once: builds DVC's own venv outside the repo
    python benchmarks/bench_data.py [--quick]

Run it with the Python of jupyter-mlops's environment. The working tree is measured (the repo
root is put first on PYTHONPATH); DVC runs in its venv's Python, in subprocesses. Every
measurement runs in a fresh process with a fresh store (or a fresh DVC repository); figures are
medians over repetitions. Prints a table and writes benchmarks/results/data-<date>.json and
.txt. See benchmarks/README.md.

The same file is the worker the driver starts: `bench_data.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import MARK, ROOT, peer_python
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import ratio as _ratio
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main

HERE = Path(__file__).resolve().parent
MIB = 1 << 20

FULL = {
    "file_bytes": 1 << 30, "file_reps": 7,
    "folder_files": 10_000, "folder_reps": 3,
    "frame_rows": 10_000_000, "frame_distinct": 1_000_000, "frame_reps": 3,
}
QUICK = {  # 320 MiB keeps the file above digest_file's 256 MiB multi-threaded threshold
    "file_bytes": 320 * MIB, "file_reps": 2,
    "folder_files": 2_000, "folder_reps": 2,
    "frame_rows": 1_000_000, "frame_distinct": 100_000, "frame_reps": 1,
}
FOLDER_SUBDIRS = 10  # the small files are spread over this many subfolders


# -- worker tasks (run in subprocesses; each imports what it measures) ---------------------------
def task_make_file(a: dict) -> dict:
    """`a["size"]` random bytes (seeded) at `a["path"]`."""
    import numpy as np

    rng = np.random.default_rng(a["seed"])
    left = a["size"]
    with open(a["path"], "wb") as fh:
        while left:
            n = min(left, 64 * MIB)
            fh.write(rng.bytes(n))
            left -= n
    return {"size": os.path.getsize(a["path"])}


def task_make_folder(a: dict) -> dict:
    """`a["files"]` files of 1–10 KB random bytes (seeded), spread over subfolders."""
    import numpy as np

    rng = np.random.default_rng(a["seed"])
    root = Path(a["path"])
    total = 0
    for i in range(a["files"]):
        sub = root / f"part-{i % FOLDER_SUBDIRS:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        n = int(rng.integers(1024, 10 * 1024 + 1))
        (sub / f"item-{i:06d}.bin").write_bytes(rng.bytes(n))
        total += n
    return {"files": a["files"], "bytes": total}


def task_ours_version(a: dict) -> dict:
    """version_dataset(path, name) once; the store is opened first, outside the timing."""
    t_open = time.perf_counter()
    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store

    get_store()
    t0 = time.perf_counter()
    v = mlops.version_dataset(a["path"], a["name"])
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "import_open_s": t0 - t_open, "version": v.version,
            "digest": v.digest, "size": v.size}


def task_peer_add(a: dict) -> dict:
    """DVC: `Repo(root).add(target)` once (what `dvc add target` runs), timed in process; the
    repository is initialised first (`dvc init --no-scm`) when asked, outside the timing."""
    t_import = time.perf_counter()
    from dvc.repo import Repo

    if a.get("init"):
        Repo.init(a["repo"], no_scm=True).close()
    repo = Repo(a["repo"])
    t0 = time.perf_counter()
    stages = repo.add(a["target"])
    seconds = time.perf_counter() - t0
    md5 = stages[0].outs[0].hash_info.value
    cache_type = repo.config["cache"].get("type")
    repo.close()
    return {"seconds": seconds, "import_open_s": t0 - t_import, "md5": md5,
            "cache_type": cache_type or "default (reflink, else copy)"}


def task_floor(a: dict) -> dict:
    """The floor for one file: blake3 (multi-threaded, mmap: as digest_file does for large
    files) and one copy (shutil.copyfile); for context blake3 on one thread, md5 (what DVC
    computes), and xxh3 when this environment has xxhash."""
    import hashlib

    from blake3 import blake3

    path, dest = a["path"], a["dest"]
    out: dict = {}
    t0 = time.perf_counter()
    h = blake3(max_threads=blake3.AUTO)
    h.update_mmap(path)
    out["blake3_digest"] = h.hexdigest()
    out["blake3_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    shutil.copyfile(path, dest)
    out["copy_s"] = time.perf_counter() - t0
    os.unlink(dest)
    t0 = time.perf_counter()
    h = blake3()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * MIB):
            h.update(chunk)
    out["blake3_1thread_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * MIB):
            m.update(chunk)
    out["md5_s"] = time.perf_counter() - t0
    try:
        import xxhash
    except ImportError:
        out["xxh3_s"] = None
    else:
        t0 = time.perf_counter()
        x = xxhash.xxh3_128()
        with open(path, "rb") as fh:
            while chunk := fh.read(4 * MIB):
                x.update(chunk)
        out["xxh3_s"] = time.perf_counter() - t0
    return out


def make_frame(rows: int, distinct: int, strings: str):
    """rows × 5 columns, seeded: id int64, value float64, count int32, ts datetime64[ns] and
    key, a string column with exactly `distinct` distinct values, as `strings` dtype
    ("string[pyarrow]" or "object")."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    rng = np.random.default_rng(42)
    codes = rng.integers(0, distinct, rows)
    codes[:distinct] = np.arange(distinct)  # every distinct value occurs
    rng.shuffle(codes)
    words = pa.array([f"key-{i * 7919 % 10_000_019:08d}" for i in range(distinct)],
                     type=pa.string())
    if strings == "object":
        key = pd.Series(np.asarray(words.to_pylist(), dtype=object)[codes], dtype=object)
    else:
        key = pd.Series(pd.arrays.ArrowStringArray(words.take(pa.array(codes))),
                        dtype=strings)
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "value": rng.normal(size=rows),
        "count": rng.integers(0, 1000, rows, dtype=np.int32),
        "ts": pd.to_datetime(1_700_000_000 + rng.integers(0, 86400 * 365, rows), unit="s")
        .astype("datetime64[ns]"),
        "key": key,
    })


class PeakRSS:
    """The process's resident set, sampled every 2 ms on a thread while a block runs: the
    peak above what it was when the block started, and ru_maxrss."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.002)

    def __enter__(self):
        import gc

        gc.collect()
        self.before = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    def report(self) -> dict:
        import resource

        return {"rss_before_mb": self.before / MIB, "rss_peak_mb": self.peak / MIB,
                "rss_extra_mb": (self.peak - self.before) / MIB,
                "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def task_frame(a: dict) -> dict:
    """One DataFrame measurement on a freshly built frame: op = digest (frame_digest alone),
    version (version_dataset: fingerprint, schema, profile, parquet zstd, store), baseline
    (pandas: hash_pandas_object + to_parquet zstd), or parts (version_dataset's steps timed
    one by one, the way versions.py runs them: where its time goes)."""
    df = make_frame(a["rows"], a["distinct"], a["strings"])
    out: dict = {"dtypes": {str(k): str(v) for k, v in df.dtypes.items()},
                 "frame_mb": df.memory_usage(deep=a["strings"] != "object").sum() / MIB}
    op = a["op"]
    if op == "digest":
        from jupyter_mlops.data.fingerprint import frame_digest

        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out["digest"] = frame_digest(df)
            out["seconds"] = time.perf_counter() - t0
    elif op == "version":
        import jupyter_mlops as mlops
        from jupyter_mlops.store import get_store

        get_store()
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            v = mlops.version_dataset(df, "frame")
            out["seconds"] = time.perf_counter() - t0
        out.update(digest=v.digest, version=v.version, stored_bytes=v.size)
    elif op == "baseline":
        import pandas as pd

        with PeakRSS() as mem:
            t0 = time.perf_counter()
            hashes = pd.util.hash_pandas_object(df, index=False).values
            t1 = time.perf_counter()
            df.to_parquet(a["dest"], compression="zstd", index=False)
            t2 = time.perf_counter()
        out.update(seconds=t2 - t0, hash_s=t1 - t0, parquet_s=t2 - t1,
                   rows_hashed=len(hashes), stored_bytes=os.path.getsize(a["dest"]))
        os.unlink(a["dest"])
    elif op == "parts":
        import io

        from blake3 import blake3

        from jupyter_mlops.data.fingerprint import frame_digest
        from jupyter_mlops.data.profile import describe

        parts = {}
        with PeakRSS() as mem:
            for name, fn in (("frame_digest", lambda: frame_digest(df)),
                             ("describe (schema + profile)", lambda: describe(df))):
                t0 = time.perf_counter()
                fn()
                parts[name] = time.perf_counter() - t0
            t0 = time.perf_counter()
            buf = io.BytesIO()
            df.to_parquet(buf, compression="zstd", index=False)
            parts["to_parquet_zstd"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            data = buf.getvalue()
            blake3(data).hexdigest()
            parts["getvalue_and_blob_digest"] = time.perf_counter() - t0
        out["parts"] = parts
        out["seconds"] = sum(parts.values())
    else:
        raise ValueError(op)
    out.update(mem.report())
    return out


def task_versions(a: dict) -> dict:
    out = {"python": platform.python_version()}
    if a["side"] == "peer":
        import dvc.version

        out["dvc"] = dvc.version.__version__
    else:
        import blake3
        import numpy
        import pandas
        import pyarrow

        import jupyter_mlops

        out.update(jupyter_mlops=jupyter_mlops.__version__, pandas=pandas.__version__,
                   pyarrow=pyarrow.__version__, numpy=numpy.__version__,
                   blake3=getattr(blake3, "__version__", "?"),
                   path=str(Path(jupyter_mlops.__file__).parent))
        try:
            import xxhash

            out["xxhash"] = xxhash.VERSION
        except ImportError:
            out["xxhash"] = None
    return out


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}




# -- the driver ------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = dict(QUICK if args.quick else FULL)
        self.ours_py = args.python or sys.executable
        self.peer_py = args.peer_python
        base = Path(args.scratch) if args.scratch else None
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-data-", dir=base))
        self.results: dict = {}
        self.errors: list[str] = []

    def env_ours(self, root: Path | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["TQDM_DISABLE"] = "1"  # progress bars go nowhere in a subprocess
        if root is not None:
            env["MLOPS_PROJECT_ROOT"] = str(root)
        return env

    def env_peer(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLOPS_", "DVC_")) and k != "PYTHONPATH"}
        # no network: no usage analytics; DVC's per-machine state (its stat cache) goes to the
        # scratch folder, so every fresh repository starts cold and nothing is left behind
        env.update(DVC_NO_ANALYTICS="1", DO_NOT_TRACK="1",
                   DVC_SITE_CACHE_DIR=str(self.work / "dvc-site"))
        return env

    def worker(self, side: str, task: str, args: dict, env: dict | None = None,
               timeout: float = 1200) -> dict:
        python = self.ours_py if side == "ours" else self.peer_py
        env = env if env is not None else (self.env_ours() if side == "ours" else self.env_peer())
        t0 = time.perf_counter()
        proc = subprocess.run(
            [python, str(Path(__file__).resolve()), "--worker", task, json.dumps(args)],
            env=env, cwd=self.work, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
        if proc.returncode != 0 or not lines:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"{side} {task} failed (exit {proc.returncode}):\n{tail}")
        out = json.loads(lines[-1][len(MARK):])
        out["process_wall_s"] = wall
        return out

    def measure(self, what: str, side: str, task: str, args: dict, env: dict | None = None):
        """One measurement in a fresh process, after the page cache's dirty pages of the
        previous one are written out (neither tool fsyncs: writeback is nobody's time). A
        failure is recorded and reported, not fatal."""
        os.sync()
        try:
            return self.worker(side, task, args, env)
        except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON
            msg = f"{what}: {exc}"
            print(f"  !! {msg}", file=sys.stderr)
            self.errors.append(msg)
            return None

    def log(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t_start:6.0f}s] {text}", file=sys.stderr, flush=True)

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    # 1. one large file -------------------------------------------------------------------------
    def bench_file(self) -> None:
        s = self.sizes
        size = s["file_bytes"]
        need = 5 * size + 512 * MIB  # the file, our blob, DVC's copy + cache, the floor's copy
        free = shutil.disk_usage(self.work).free
        if free < need:
            raise RuntimeError(f"{free / MIB:,.0f} MiB free under {self.work}, "
                               f"{need / MIB:,.0f} MiB needed")
        src = self.work / "big.bin"
        self.log(f"file: writing {size / MIB:,.0f} MiB of random bytes")
        self.worker("ours", "make_file", {"path": str(src), "size": size, "seed": 1})
        sec: dict = {"bytes": size, "reps": []}
        self.results["file"] = sec
        for rep in range(s["file_reps"]):
            self.log(f"file: repetition {rep + 1}/{s['file_reps']}")
            r: dict = {}
            ours_root = self.fresh("file-ours")
            env = self.env_ours(ours_root)
            args = {"path": str(src), "name": "big"}
            r["ours_cold"] = self.measure("ours file cold", "ours", "ours_version", args, env)
            r["ours_again"] = self.measure("ours file again", "ours", "ours_version", args, env)
            r["ours_blobs"] = _count_files(ours_root / ".mlops" / "artifacts")
            shutil.rmtree(ours_root)
            if self.peer_py:
                repo = self.fresh("file-dvc")
                shutil.copyfile(src, repo / "big.bin")  # the file inside the repository
                shutil.rmtree(self.work / "dvc-site", ignore_errors=True)
                args = {"repo": str(repo), "target": str(repo / "big.bin")}
                r["peer_cold"] = self.measure("DVC file cold", "peer", "peer_add",
                                              {**args, "init": True})
                r["peer_again"] = self.measure("DVC file again", "peer", "peer_add", args)
                shutil.rmtree(repo)
            r["floor"] = self.measure("floor", "ours", "floor",
                                      {"path": str(src), "dest": str(self.work / "floor.bin")})
            sec["reps"].append(r)
        src.unlink()

    # 2. a folder of small files --------------------------------------------------------------------
    def bench_folder(self) -> None:
        s = self.sizes
        master = self.work / "folder-master"
        self.log(f"folder: writing {s['folder_files']:,} files of 1–10 KB")
        made = self.worker("ours", "make_folder",
                           {"path": str(master), "files": s["folder_files"], "seed": 2})
        sec: dict = {"files": made["files"], "bytes": made["bytes"], "reps": []}
        self.results["folder"] = sec
        middle = s["folder_files"] // 2 // FOLDER_SUBDIRS * FOLDER_SUBDIRS + 3  # in part-03
        changed_rel = f"part-03/item-{middle:06d}.bin"
        for rep in range(s["folder_reps"]):
            self.log(f"folder: repetition {rep + 1}/{s['folder_reps']}")
            r: dict = {}
            ours_root = self.fresh("folder-ours")
            data = ours_root / "data"
            shutil.copytree(master, data)
            env = self.env_ours(ours_root)
            args = {"path": str(data), "name": "folder"}
            r["ours_cold"] = self.measure("ours folder cold", "ours", "ours_version", args, env)
            r["ours_blobs_cold"] = _count_files(ours_root / ".mlops" / "artifacts")
            _change_one(data / changed_rel, rep)
            r["ours_changed"] = self.measure("ours folder one changed", "ours", "ours_version",
                                             args, env)
            r["ours_blobs_changed"] = _count_files(ours_root / ".mlops" / "artifacts")
            shutil.rmtree(ours_root)
            if self.peer_py:
                repo = self.fresh("folder-dvc")
                shutil.copytree(master, repo / "data")
                shutil.rmtree(self.work / "dvc-site", ignore_errors=True)
                args = {"repo": str(repo), "target": str(repo / "data")}
                r["peer_cold"] = self.measure("DVC folder cold", "peer", "peer_add",
                                              {**args, "init": True})
                r["peer_objects_cold"] = _count_files(repo / ".dvc" / "cache")
                _change_one(repo / "data" / changed_rel, rep)
                r["peer_changed"] = self.measure("DVC folder one changed", "peer", "peer_add",
                                                 args)
                r["peer_objects_changed"] = _count_files(repo / ".dvc" / "cache")
                shutil.rmtree(repo)
            sec["reps"].append(r)
        shutil.rmtree(master)

    # 3. a DataFrame --------------------------------------------------------------------------------
    def bench_frame(self) -> None:
        s = self.sizes
        base = {"rows": s["frame_rows"], "distinct": s["frame_distinct"]}
        sec: dict = {**base, "reps": []}
        self.results["frame"] = sec
        for rep in range(s["frame_reps"]):
            self.log(f"frame: repetition {rep + 1}/{s['frame_reps']}")
            r: dict = {}
            r["digest_arrow"] = self.measure("frame_digest string[pyarrow]", "ours", "frame",
                                             {**base, "strings": "string[pyarrow]",
                                              "op": "digest"})
            r["digest_object"] = self.measure("frame_digest object", "ours", "frame",
                                              {**base, "strings": "object", "op": "digest"})
            root = self.fresh("frame-ours")
            r["version"] = self.measure("version_dataset(df)", "ours", "frame",
                                        {**base, "strings": "string[pyarrow]", "op": "version"},
                                        self.env_ours(root))
            shutil.rmtree(root)
            r["baseline"] = self.measure("pandas baseline", "ours", "frame",
                                         {**base, "strings": "string[pyarrow]",
                                          "op": "baseline",
                                          "dest": str(self.work / "baseline.parquet")})
            r["baseline_object"] = self.measure(
                "pandas baseline, object strings", "ours", "frame",
                {**base, "strings": "object", "op": "baseline",
                 "dest": str(self.work / "baseline.parquet")})
            if rep == 0:
                r["parts"] = self.measure("version_dataset parts", "ours", "frame",
                                          {**base, "strings": "string[pyarrow]", "op": "parts"})
            sec["reps"].append(r)

    # ----------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.t_start = time.perf_counter()
        only = set(self.args.only.split(",")) if self.args.only else {"file", "folder", "frame"}
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full",
            "sizes": self.sizes, "sections": sorted(only),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine(),
                        "scratch": str(self.work), "scratch_fs": _fs_type(self.work)},
            "git": _git_describe(),
            "code_digest": _code_digest(),
            "ours": self.worker("ours", "versions", {"side": "ours"}),
        }
        if self.peer_py:
            meta["peer"] = self.worker("peer", "versions", {"side": "peer"})
        self.results["meta"] = meta
        try:
            for name in ("file", "folder", "frame"):
                if name in only:
                    try:
                        getattr(self, f"bench_{name}")()
                    except Exception as exc:  # noqa: BLE001 - reported, the rest still runs
                        self.errors.append(f"{name}: {exc}")
                        print(f"  !! {name}: {exc}", file=sys.stderr)
        finally:
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: the figures mix "
                               "two versions of the code; run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


def _change_one(path: Path, rep: int) -> None:
    """New content, same size, for one file (its mtime moves on too)."""
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    data[-1] = (data[-1] + 1 + rep) % 256
    path.write_bytes(bytes(data))


def _count_files(folder: Path) -> int:
    """Files under `folder`, leaving out temporary ones (names or folders starting .tmp)."""
    return sum(1 for p in folder.rglob("*") if p.is_file()
               and not any(part.startswith(".tmp") for part in p.relative_to(folder).parts))


def _fs_type(path: Path) -> str:
    try:
        out = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True).stdout
        return out.splitlines()[1].split()[1]
    except Exception:  # noqa: BLE001 - informational only
        return "?"


# -- summary and table -----------------------------------------------------------------------------
def _field(reps: list[dict], key: str, field: str) -> list:
    return [r[key][field] for r in reps if r.get(key) and r[key].get(field) is not None]


def summarize(res: dict) -> dict:
    """Medians and ratios: what the table prints, kept in the JSON too."""
    out: dict = {}
    f = res.get("file")
    if f and f["reps"]:
        reps = f["reps"]
        s: dict = {"bytes": f["bytes"], "reps": len(reps)}
        for key in ("ours_cold", "ours_again", "peer_cold", "peer_again"):
            s[f"{key}_s"] = _med(_field(reps, key, "seconds"))
            s[f"{key}_range"] = _range(_field(reps, key, "seconds"))
            s[f"{key}_wall_s"] = _med(_field(reps, key, "process_wall_s"))
        for fl in ("blake3_s", "copy_s", "blake3_1thread_s", "md5_s", "xxh3_s"):
            s[f"floor_{fl}"] = _med(_field(reps, "floor", fl))
        both = [r["floor"]["blake3_s"] + r["floor"]["copy_s"] for r in reps if r.get("floor")]
        s["floor_s"] = _med(both)
        if s["floor_xxh3_s"] is not None:
            s["floor_xxh3_copy_s"] = _med([r["floor"]["xxh3_s"] + r["floor"]["copy_s"]
                                           for r in reps if r.get("floor")])
        s["ours_versions_ok"] = all(r["ours_cold"]["version"] == 1 and r["ours_again"]["version"] == 1
                                    and r["ours_again"]["digest"] == r["ours_cold"]["digest"]
                                    and r["ours_cold"]["digest"] == r["floor"]["blake3_digest"]
                                    for r in reps if r.get("ours_cold") and r.get("ours_again")
                                    and r.get("floor"))
        s["ours_blobs"] = [r.get("ours_blobs") for r in reps]
        s["peer_md5_same"] = len({r["peer_cold"]["md5"] for r in reps if r.get("peer_cold")}
                                 | {r["peer_again"]["md5"] for r in reps if r.get("peer_again")}) <= 1
        out["file"] = s
    d = res.get("folder")
    if d and d["reps"]:
        reps = d["reps"]
        s = {"files": d["files"], "bytes": d["bytes"], "reps": len(reps)}
        for key in ("ours_cold", "ours_changed", "peer_cold", "peer_changed"):
            s[f"{key}_s"] = _med(_field(reps, key, "seconds"))
            s[f"{key}_range"] = _range(_field(reps, key, "seconds"))
            s[f"{key}_wall_s"] = _med(_field(reps, key, "process_wall_s"))
        s["ours_versions"] = [[(r.get(k) or {}).get("version") for k in ("ours_cold", "ours_changed")]
                              for r in reps]
        s["ours_blobs"] = [[r.get("ours_blobs_cold"), r.get("ours_blobs_changed")] for r in reps]
        s["peer_objects"] = [[r.get("peer_objects_cold"), r.get("peer_objects_changed")]
                             for r in reps]
        out["folder"] = s
    fr = res.get("frame")
    if fr and fr["reps"]:
        reps = fr["reps"]
        s = {"rows": fr["rows"], "distinct": fr["distinct"], "reps": len(reps)}
        for key in ("digest_arrow", "digest_object", "version", "baseline", "baseline_object"):
            s[f"{key}_s"] = _med(_field(reps, key, "seconds"))
            s[f"{key}_range"] = _range(_field(reps, key, "seconds"))
            s[f"{key}_extra_mb"] = _med(_field(reps, key, "rss_extra_mb"))
            s[f"{key}_maxrss_mb"] = _med(_field(reps, key, "ru_maxrss_mb"))
            s[f"{key}_before_mb"] = _med(_field(reps, key, "rss_before_mb"))
        for key in ("baseline", "baseline_object"):
            s[f"{key}_hash_s"] = _med(_field(reps, key, "hash_s"))
            s[f"{key}_parquet_s"] = _med(_field(reps, key, "parquet_s"))
        digests = {r[k]["digest"] for r in reps for k in ("digest_arrow", "version")
                   if r.get(k)}
        s["digest_stable"] = len(digests) <= 1
        s["object_digest_differs_from_arrow"] = bool(
            _field(reps, "digest_object", "digest")
            and set(_field(reps, "digest_object", "digest")) != digests)
        s["version_stored_bytes"] = _med(_field(reps, "version", "stored_bytes"))
        s["baseline_stored_bytes"] = _med(_field(reps, "baseline", "stored_bytes"))
        parts = [r["parts"] for r in reps if r.get("parts")]
        if parts:
            s["parts_s"] = parts[0]["parts"]
        dtypes = _field(reps, "version", "dtypes") or _field(reps, "digest_arrow", "dtypes")
        s["dtypes"] = dtypes[0] if dtypes else {}
        out["frame"] = s
    return out


def _range(xs: list) -> list | None:
    return [min(xs), max(xs)] if xs else None
def _spread(rng: list | None) -> str:
    return "" if not rng else f"{_secs(rng[0])}–{_secs(rng[1])}"

def _mb(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} MB"


def render(res: dict) -> str:
    summ = res["summary"]
    meta = res["meta"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, ours: str = "", peer: str = "", ratio: str = "", note: str = "") -> None:
        rows.append((what, ours, peer, ratio, note))

    f = summ.get("file")
    if f:
        gib = f["bytes"] / (1 << 30)
        add(f"1. ONE FILE, {gib:g} GiB random bytes (median of {f['reps']}; vs DVC `add`)")
        cold = (f"fresh store / fresh DVC repo: cold for the tool, the file in page cache; "
                f"spread ours {_spread(f['ours_cold_range'])}, DVC {_spread(f['peer_cold_range'])}")
        add("  cold: version_dataset(path) | dvc add", _secs(f["ours_cold_s"]),
            _secs(f["peer_cold_s"]), _ratio(f["peer_cold_s"], f["ours_cold_s"]),
            "target ≥4× " + _check((f["peer_cold_s"] or 0) >= 4 * (f["ours_cold_s"] or 1e9))
            + "; " + cold)
        add("  again, unchanged (fresh process)", _secs(f["ours_again_s"]),
            _secs(f["peer_again_s"]), _ratio(f["peer_again_s"], f["ours_again_s"]),
            "target <50 ms " + _check((f["ours_again_s"] or 9) < 0.05)
            + f"; stat cache; spread ours {_spread(f['ours_again_range'])}, "
              f"DVC {_spread(f['peer_again_range'])}")
        add("  process wall, cold (import + open + call)", _secs(f["ours_cold_wall_s"]),
            _secs(f["peer_cold_wall_s"]), _ratio(f["peer_cold_wall_s"], f["ours_cold_wall_s"]),
            "DVC: import dvc, dvc init --no-scm, Repo(), add")
        add("  process wall, again", _secs(f["ours_again_wall_s"]), _secs(f["peer_again_wall_s"]),
            _ratio(f["peer_again_wall_s"], f["ours_again_wall_s"]))
        ratio = (f["ours_cold_s"] / f["floor_s"]) if f["ours_cold_s"] and f["floor_s"] else None
        add("  floor: blake3 (all cores, mmap) + one copy", _secs(f["floor_s"]), "", "",
            "ours cold / floor = " + (f"{ratio:.2f} (target ≤1.5 {_check(ratio <= 1.5)})"
                                      if ratio else "—"))
        add("    blake3, all cores (mmap)", _secs(f["floor_blake3_s"]))
        add("    shutil.copyfile", _secs(f["floor_copy_s"]))
        add("    blake3, one thread, 4 MiB reads", _secs(f["floor_blake3_1thread_s"]))
        add("    md5, one thread (DVC's hash)", _secs(f["floor_md5_s"]))
        add("    xxh3-128, one thread", _secs(f["floor_xxh3_s"]) if f["floor_xxh3_s"] else "—",
            "", "", "" if f["floor_xxh3_s"] else "xxhash is not in jupyter-mlops's environment")
        ok = f["ours_versions_ok"] and f["peer_md5_same"]
        add("  checks", "ok" if ok else "MISMATCH", "", "",
            "ours: v1 then v1, digest = blake3 of the file; DVC: the same md5 every time")
    d = summ.get("folder")
    if d:
        add("")
        add(f"2. FOLDER, {d['files']:,} files of 1–10 KB ({d['bytes'] / MIB:,.0f} MiB), "
            f"median of {d['reps']}")
        add("  cold: version_dataset(folder) | dvc add", _secs(d["ours_cold_s"]),
            _secs(d["peer_cold_s"]), _ratio(d["peer_cold_s"], d["ours_cold_s"]),
            f"fresh store / repo, files in page cache; spread ours {_spread(d['ours_cold_range'])}, "
            f"DVC {_spread(d['peer_cold_range'])}")
        add("  one file changed (fresh process)", _secs(d["ours_changed_s"]),
            _secs(d["peer_changed_s"]), _ratio(d["peer_changed_s"], d["ours_changed_s"]),
            f"spread ours {_spread(d['ours_changed_range'])}, "
            f"DVC {_spread(d['peer_changed_range'])}")
        add("  process wall, cold / changed",
            f"{_secs(d['ours_cold_wall_s'])} / {_secs(d['ours_changed_wall_s'])}",
            f"{_secs(d['peer_cold_wall_s'])} / {_secs(d['peer_changed_wall_s'])}")
        blobs = d["ours_blobs"][0] if d["ours_blobs"] else None
        objs = d["peer_objects"][0] if d["peer_objects"] else None
        add("  stored objects after cold / after change",
            "—" if not blobs else f"{blobs[0]:,} / {blobs[1]:,}",
            "—" if not objs or objs[0] is None else f"{objs[0]:,} / {objs[1]:,}", "",
            "ours: blobs (+1 for the changed file); DVC: cache files incl. its .dir manifests; "
            f"ours versions {d['ours_versions'][0]}")
    fr = summ.get("frame")
    if fr:
        add("")
        reps = fr["reps"]
        add(f"3. DATAFRAME {fr['rows']:,} rows × 5 columns, string column with "
            f"{fr['distinct']:,} distinct values ({'once' if reps == 1 else f'median of {reps}'}; "
            "vs pandas)")
        add("  frame_digest, string[pyarrow]", _secs(fr["digest_arrow_s"]), "", "",
            "target <2 s " + _check((fr["digest_arrow_s"] or 9) < 2)
            + f"; +{_mb(fr['digest_arrow_extra_mb'])} peak; spread {_spread(fr['digest_arrow_range'])}")
        add("  frame_digest, object strings", _secs(fr["digest_object_s"]), "", "",
            f"+{_mb(fr['digest_object_extra_mb'])} peak; spread {_spread(fr['digest_object_range'])}")
        add("  hash_pandas_object(index=False), string[pyarrow]", "",
            _secs(fr["baseline_hash_s"]), _ratio(fr["baseline_hash_s"], fr["digest_arrow_s"]),
            "ratio: vs frame_digest, string[pyarrow]")
        add("  hash_pandas_object(index=False), object strings", "",
            _secs(fr["baseline_object_hash_s"]),
            _ratio(fr["baseline_object_hash_s"], fr["digest_object_s"]),
            "ratio: vs frame_digest, object strings")
        add("  version_dataset(df) | hash_pandas_object + to_parquet(zstd)",
            _secs(fr["version_s"]), _secs(fr["baseline_s"]),
            _ratio(fr["baseline_s"], fr["version_s"]),
            "string[pyarrow]; ours also profiles and stores; "
            f"spread ours {_spread(fr['version_range'])}, pandas {_spread(fr['baseline_range'])}")
        add("    peak memory above the frame (RSS sampled)", f"+{_mb(fr['version_extra_mb'])}",
            f"+{_mb(fr['baseline_extra_mb'])}", "",
            f"frame built: {_mb(fr['version_before_mb'])} RSS")
        add("    ru_maxrss of the process", _mb(fr["version_maxrss_mb"]),
            _mb(fr["baseline_maxrss_mb"]), "", "includes building the frame")
        add("    stored parquet (zstd)", _mb((fr["version_stored_bytes"] or 0) / MIB),
            _mb((fr["baseline_stored_bytes"] or 0) / MIB))
        add("  pandas baseline with object strings", "", _secs(fr["baseline_object_s"]), "",
            f"hash {_secs(fr['baseline_object_hash_s'])} + parquet "
            f"{_secs(fr['baseline_object_parquet_s'])}; +{_mb(fr['baseline_object_extra_mb'])} peak")
        if fr.get("parts_s"):
            add("  version_dataset(df) step by step (once)", "", "", "",
                ", ".join(f"{k} {_secs(v)}" for k, v in fr["parts_s"].items()))
        add("  checks", "ok" if fr["digest_stable"] else "MISMATCH", "", "",
            "the same digest from frame_digest and version_dataset in every process")
    lines = _table(_HEADER, rows)
    ours = meta["ours"]
    head = (f"data benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{ours.get('jupyter_mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}) vs DVC "
            f"{meta.get('peer', {}).get('dvc', '— (skipped)')}; pandas {ours.get('pandas')}, "
            f"pyarrow {ours.get('pyarrow')}; {meta['machine']['cpus']} CPUs, scratch on "
            f"{meta['machine']['scratch_fs']}; ratio = how many times jupyter-mlops is ahead")
    tail = [f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    return "\n".join([head, "", *lines, "", *tail])


_HEADER = ("figure", "jupyter-mlops", "DVC / pandas", "ratio", "notes")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--only", help="comma-separated sections: file,folder,frame (default all)")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--peer-python", help="DVC's Python (default: from setup_peer.sh dvc)")
    ap.add_argument("--skip-dvc", action="store_true", help="measure jupyter-mlops only")
    ap.add_argument("--scratch", help="folder for the scratch data (default: the system's temp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/data-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    if args.skip_dvc:
        args.peer_python = None
    elif not args.peer_python:
        args.peer_python = peer_python("dvc")
    results = Bench(args).run()
    table = render(results)
    print(table)
    out = Path(args.out) if args.out else HERE / "results" / (
        f"data-{datetime.date.today().isoformat()}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    out.with_suffix(".txt").write_text(table + "\n")
    print(f"\nresults: {out} and {out.with_suffix('.txt').name}")


if __name__ == "__main__":
    main()
