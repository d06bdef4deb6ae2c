#!/usr/bin/env python
"""Sidebar benchmark: the REST API under {base_url}mlops/api and the JupyterLab sidebar, with
10,000 runs and a 1,000,000-point metric, in a real JupyterLab driven by headless chromium.

    python benchmarks/bench_sidebar.py [--quick]

Run it with the Python of jupyter-mlops's environment (it needs jupyterlab and Python
`playwright`; the browser is Debian's /usr/bin/chromium, never a downloaded one). The working
tree is measured (the repo root is put first on PYTHONPATH of the driver, the workers and the
JupyterLab server); the sidebar's JavaScript is the labextension installed in that environment.
A scratch project is filled through the Python API in a subprocess, one JupyterLab server
serves it, this process is the REST client (one keep-alive connection) and drives the browser.
Prints a table and writes benchmarks/results/sidebar-<date>.json and .txt. See
benchmarks/README.md.

The same file is the worker the driver starts: `bench_sidebar.py --worker TASK JSON`, and the
live writer it talks to over a pipe: `bench_sidebar.py --live MODE`.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from _common import MARK, ROOT, Driver, run_worker, save
from _common import check as _check
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import med as _med
from _common import secs as _secs
from _common import table as _table
from _common import worker_main as _worker_main
from bench_serving import Connection, free_port, session_cpu
from bench_serving import pct as _pct
from bench_tracking import SEARCH_FILTER, expected_hits, run_values

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
EXPERIMENT = "bench"
LIVE_EXPERIMENT = "bench-live"
WAVE = "wave"  # the long metric's key, in the run named WAVE
ROW_PX, PAGE = 26, 100  # the sidebar's row height and page size (RunsSection.tsx)
ORDER_BY = "start_time DESC"  # the sidebar's default order
# the Experiments view's table with every key as a column, sorted by one metric
COLUMNS = [f"params.p{j}" for j in range(20)] + [f"metrics.m{j}" for j in range(10)]
COLUMNS_ORDER = "metrics.m3 DESC"

FULL = {"runs": 10_000, "wave_points": 1_000_000, "rest_rounds": 30, "history_rounds": 10,
        "full_history_rounds": 3, "paint_loads": 7, "scroll_passes": 3, "scroll_rows_per_frame": 10,
        "slow_scroll_passes": 2, "slow_scroll_rows_per_frame": 2, "slow_scroll_rows": 2_000,
        "live_reps": 7, "profile_reps": 5, "exp_scroll_passes": 3, "chart_reps": 7}
QUICK = {"runs": 1_000, "wave_points": 200_000, "rest_rounds": 10, "history_rounds": 5,
         "full_history_rounds": 1, "paint_loads": 2, "scroll_passes": 1, "scroll_rows_per_frame": 10,
         "slow_scroll_passes": 1, "slow_scroll_rows_per_frame": 2, "slow_scroll_rows": 500,
         "live_reps": 3, "profile_reps": 3, "exp_scroll_passes": 1, "chart_reps": 3}


def pct(xs: list[float], p: int) -> float | None:
    """The p-th percentile; the one sample if there is only one."""
    return _pct(xs, p) if len(xs) > 1 else (xs[0] if xs else None)


TARGETS = {"runs_page_s": 0.300, "columns_page_s": 0.150, "first_paint_s": 1.0,
           "history_s": 0.200, "live_metric_s": 2.0, "exp_scroll_p95_ms": 20.0,
           "parallel_s": 1.0}


# -- worker tasks (run in subprocesses, the working tree first on their path) ------------------
def task_fill(a: dict) -> dict:
    """The scratch store: a["runs"] runs (start, 20 params, 10 metrics, end: the data of the
    tracking benchmark), then one run with a["wave_points"] points of one metric."""
    import jupyter_mlops as mlops

    n = a["runs"]
    data = [run_values(i) for i in range(n)]
    t0 = time.perf_counter()
    for i in range(n):
        params, metrics = data[i]
        with mlops.start_run(name=f"run-{i}", experiment=EXPERIMENT, params=params):
            mlops.log_metrics(metrics)
    runs_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with mlops.start_run(name=WAVE, experiment=EXPERIMENT) as run:
        for i in range(a["wave_points"]):
            mlops.log_metric(WAVE, math.sin(i / 1000) + (i % 97) / 970, step=i)
    wave_s = time.perf_counter() - t0
    best = max(range(n), key=lambda i: data[i][1][COLUMNS_ORDER.split()[0].split(".")[1]])
    return {"runs": n, "runs_s": runs_s, "wave_run_id": run.id, "wave_points": a["wave_points"],
            "wave_s": wave_s, "expected_filter_hits": expected_hits(n),
            "expected_columns_top": f"run-{best}"}


def _timed(fn, reps: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def _profile(fn, top: int = 22) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(top)
    lines = [ln.rstrip() for ln in text.getvalue().splitlines() if ln.strip()]
    # keep the header line with the totals and the table; paths shortened to the package
    return "\n".join(ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
                     for ln in lines[lines.index(next(ln for ln in lines if "function calls" in ln)):])


def task_profile(a: dict) -> dict:
    """Where the REST handlers' time goes, in process through the Python API the handlers call:
    search_runs and count_runs (a page, a deep page, a filtered page), the JSON encoding the
    handler does, the metric history (full, downsampled, and the handler's own function), and
    one cProfile of the slowest of them."""
    import json as _json

    import jupyter_mlops as mlops
    from jupyter_mlops.server.handlers.base import to_json
    from jupyter_mlops.server.handlers.runs import _history, _runs_page
    from jupyter_mlops.tracking.search import count_runs, search_runs

    reps, n, wave = a["reps"], a["total_runs"], a["wave_run_id"]
    out: dict = {"reps": reps}
    t0 = time.perf_counter()
    search_runs(limit=PAGE, order_by=ORDER_BY)
    out["first_search_s"] = time.perf_counter() - t0  # imports pandas, opens the store
    cases = {"page": {"offset": 0}, "deep": {"offset": n - PAGE},
             "filter": {"offset": 0, "filter": SEARCH_FILTER},
             "columns": {"offset": 0, "columns": COLUMNS, "order_by": COLUMNS_ORDER}}
    for name, kw in cases.items():
        flt, cols, order = kw.get("filter"), kw.get("columns"), kw.get("order_by", ORDER_BY)
        s, _ = _timed(lambda flt=flt, cols=cols, order=order, kw=kw: search_runs(
            limit=PAGE, order_by=order, offset=kw["offset"], filter=flt, columns=cols,
            nested=True), reps)
        c, total = _timed(lambda flt=flt: count_runs(filter=flt, nested=True), reps)
        p, page = _timed(lambda kw=kw, flt=flt, cols=cols, order=order: _runs_page(
            None, flt, [order], PAGE, kw["offset"], False, cols, None, False), reps)
        e, body = _timed(lambda page=page: _json.dumps(to_json(page), allow_nan=False,
                                                        default=str), reps)
        out[name] = {"search_s": s, "count_s": c, "handler_fn_s": p, "encode_s": e,
                     "total": total, "body_bytes": len(body)}
    run = mlops.get_run(wave)
    full, frame = _timed(lambda: run.metric_history(WAVE), reps)
    down, _ = _timed(lambda: run.metric_history(WAVE, 2000), reps)
    hist, h = _timed(lambda: _history(wave, WAVE, 2000), reps)
    enc, _ = _timed(lambda: _json.dumps(to_json(h), allow_nan=False, default=str), reps)
    from jupyter_mlops.tracking.downsample import downsample

    ds, _ = _timed(lambda: downsample(frame, 2000), reps)
    out["history"] = {"points": len(frame), "metric_history_full_s": full,
                      "metric_history_2000_s": down, "downsample_only_s": ds,
                      "handler_fn_s": hist, "encode_s": enc, "shown": len(h["step"])}
    out["cprofile"] = {
        "history_2000": _profile(lambda: _history(wave, WAVE, 2000)),
        "runs_page_filter": _profile(lambda: _runs_page(None, SEARCH_FILTER, [ORDER_BY], PAGE,
                                                        0, False, None, None, False)),
        "runs_page_columns": _profile(lambda: _runs_page(None, None, [COLUMNS_ORDER], PAGE, 0,
                                                         False, COLUMNS, None, False)),
    }
    return out


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


def live_main(mode: str) -> None:
    """The live writer, a process of its own talking JSON lines over stdin/stdout. `metric`:
    holds a run open (LIVE_EXPERIMENT) and logs a point of `live` + flush() on each command;
    `runs`: starts (and ends) a new run on each command. Replies carry the wall-clock time
    (time.time()) when the write had committed."""
    import jupyter_mlops as mlops

    def reply(obj: dict) -> None:
        print(MARK + json.dumps(obj), flush=True)

    run = None
    if mode == "metric":
        run = mlops.start_run(name="live-run", experiment=LIVE_EXPERIMENT)
        mlops.log_metric("live", 1000.0, step=0)
        mlops.flush()
        reply({"run_id": run.id})
    else:
        reply({"ready": True})
    step = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "exit":
            break
        t0 = time.time()
        if cmd["op"] == "metric":
            step += 1
            mlops.log_metric("live", float(cmd["value"]), step=step)
            mlops.flush()
            reply({"t_commit": time.time(), "write_s": time.time() - t0})
        elif cmd["op"] == "run":
            new = mlops.start_run(name=cmd["name"], experiment=LIVE_EXPERIMENT)
            t_commit = time.time()  # start_run returned: the run's row is committed
            mlops.log_metric("x", 1.0)
            mlops.end_run()
            reply({"t_commit": t_commit, "write_s": t_commit - t0, "run_id": new.id})
    if run is not None:
        mlops.end_run()
    reply({"bye": True})


# -- the browser side ------------------------------------------------------------------------------
# Installed before any page script runs: timestamps (performance.now(), ms from navigation
# start) of JupyterLab's dock panel, the sidebar tab, the pointerdown on it, the first run row
# in the DOM and the first one visible; long tasks from the start.
INIT_JS = """
(() => {
  const b = window.__bench = {dock: null, tab: null, click: null, firstRow: null,
                              firstRowVisible: null, longtasks: []};
  try { performance.setResourceTimingBufferSize(100000); } catch (e) {}
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { b.longtaskError = String(e); }
  addEventListener('pointerdown', e => {
    if (b.click === null && e.target instanceof Element &&
        e.target.closest('li[data-id="jp-mlops-sidebar"]')) b.click = performance.now();
  }, true);
  const mo = new MutationObserver(() => {
    const now = performance.now();
    if (b.dock === null && document.getElementById('jp-main-dock-panel')) b.dock = now;
    if (b.tab === null && document.querySelector('li[data-id="jp-mlops-sidebar"]')) b.tab = now;
    const row = document.querySelector('.jp-mlops-row[data-run-id]');
    if (row && b.firstRow === null) b.firstRow = now;
    if (row && b.firstRowVisible === null && row.getClientRects().length) {
      b.firstRowVisible = now;
      requestAnimationFrame(t => { b.firstRowFrame = t; });
      mo.disconnect();
    }
  });
  mo.observe(document, {childList: true, subtree: true, attributes: true,
                        attributeFilter: ['class', 'style']});
})();
"""

API_ENTRIES_JS = """
(since) => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/mlops/api/') && e.startTime >= since)
  .map(e => ({path: e.name.split('/mlops/api/')[1].replace(/&?\\d{13}$/, ''),
              start: e.startTime, request: e.requestStart, response: e.responseStart,
              end: e.responseEnd, bytes: e.encodedBodySize}))
"""

# Scrolls .jp-mlops-body `step` px per animation frame, to the end or to `limitPx`; records
# every frame's timestamp, the placeholder rows ('…', no data-run-id) inside the viewport at
# each frame (the rendered overscan rows outside it do not count), long tasks, and after the
# end how long until no placeholder is left in view. `sel` names the scroller, its rows, a
# row's name and the footer in another table (the Experiments view's: EXP_SELECTORS).
SCROLL_JS = """
async ({step, settleMs, limitPx, sel}) => {
  sel = sel || {body: '.jp-mlops-body', row: '.jp-mlops-row', name: '.jp-mlops-col-name',
                footer: '.jp-mlops-footer'};
  const body = document.querySelector(sel.body);
  const blank = () => {
    const top = body.scrollTop, bottom = top + body.clientHeight;
    let n = 0;
    for (const r of body.querySelectorAll(sel.row + ':not([data-run-id])')) {
      if (r.offsetTop + r.offsetHeight > top && r.offsetTop < bottom) n++;
    }
    return n;
  };
  const longtasks = [];
  const po = new PerformanceObserver(list => {
    for (const e of list.getEntries()) longtasks.push([e.startTime, e.duration]);
  });
  po.observe({type: 'longtask'});
  const frames = [], blanks = [];
  const t0 = performance.now();
  await new Promise(resolve => {
    const tick = ts => {
      frames.push(ts);
      blanks.push(blank());
      const max = Math.min(limitPx ?? Infinity, body.scrollHeight - body.clientHeight);
      if (body.scrollTop >= max - 1) { resolve(); return; }
      body.scrollTop = Math.min(max, body.scrollTop + step);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const tEnd = performance.now();
  const blankAtEnd = blank();
  const rowsAtEnd = body.querySelectorAll(sel.row).length;
  let filled = blankAtEnd ? null : tEnd;
  while (filled === null && performance.now() - tEnd < settleMs) {
    await new Promise(r => requestAnimationFrame(r));
    if (!blank()) filled = performance.now();
  }
  await new Promise(r => setTimeout(r, 100));
  longtasks.push(...po.takeRecords().map(e => [e.startTime, e.duration]));
  po.disconnect();
  const names = [...body.querySelectorAll(sel.row + '[data-run-id] ' + sel.name)]
    .map(s => s.textContent);
  const footer = document.querySelector(sel.footer);
  return {t0, tEnd, frames, blanks, longtasks, blankAtEnd, rowsAtEnd,
          filledAfterEndMs: filled === null ? null : filled - tEnd,
          scrollTop: body.scrollTop, scrollHeight: body.scrollHeight,
          clientHeight: body.clientHeight, lastNames: names.slice(-3),
          footer: footer ? footer.textContent : null};
}
"""

# Before a live write: watch for the value (a metric cell) or the run (a row's name).
LIVE_WATCH_JS = """
([kind, needle]) => {
  window.__live = null;
  const test = kind === 'metric'
    ? () => [...document.querySelectorAll('.jp-mlops-run-metrics td')]
              .some(td => td.textContent === needle)
    : () => [...document.querySelectorAll('.jp-mlops-row[data-run-id] .jp-mlops-col-name')]
              .some(s => s.textContent === needle);
  if (window.__liveMo) window.__liveMo.disconnect();
  const mo = window.__liveMo = new MutationObserver(() => {
    if (window.__live === null && test()) {
      window.__live = {epoch: performance.timeOrigin + performance.now(), now: performance.now()};
      mo.disconnect();
    }
  });
  mo.observe(document.body, {childList: true, subtree: true, characterData: true});
  return {timeOrigin: performance.timeOrigin, now: performance.now(), already: test()};
}
"""


# The Experiments view's table (labextension/src/experiments/Table.tsx: 26 px rows too).
EXP_SELECTORS = {"body": ".jp-mlops-exp-body", "row": ".jp-mlops-exp-row",
                 "name": ".jp-mlops-exp-name", "footer": ".jp-mlops-exp-count"}
CHART_RUNS = 1000  # the Experiments view's charts draw at most this many runs

# The first chart of a fresh page: click Charts (parallel coordinates, the first params and
# metric, the first CHART_RUNS runs) and wait, frame by frame, until the plot holds `n` values
# per axis and a frame has been painted after it; plotly.js is fetched then (its first use).
FIRST_CHART_JS = """
async ({n, timeoutMs}) => {
  const t0 = performance.now();
  document.querySelector('.jp-mlops-exp-charts-toggle').click();
  const full = () => {
    const gd = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');
    const dims = gd && gd.data && gd.data[0] && gd.data[0].dimensions;
    return dims && dims.length && dims.every(d => d.values.length === n) && gd._fullLayout;
  };
  while (!full()) {
    if (performance.now() - t0 > timeoutMs) return {timeout: true};
    await new Promise(r => requestAnimationFrame(r));
  }
  const tDrawn = performance.now();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const req = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/mlops/api/charts/runs') && e.startTime >= t0).pop();
  const gd = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');
  return {t0, tDrawn, tPainted: performance.now(),
          dims: gd.data[0].dimensions.map(d => [d.label, d.values.length]),
          request: req ? {start: req.startTime, response: req.responseStart, end: req.responseEnd,
                          bytes: req.encodedBodySize} : null};
}
"""

# A redraw: pick `metric` as the parallel coordinates' colour axis (the select's change, as a
# user makes it), wait for plotly_afterplot with that axis, then one painted frame. The view
# waits 150 ms after a change before asking (a debounce), so request → painted is given too.
REDRAW_CHART_JS = """
async ({metric, n, timeoutMs}) => {
  const gd = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');
  const select = document.querySelector('.jp-mlops-exp-charts select[aria-label="metric"]');
  let done;
  const drawn = new Promise(resolve => { done = resolve; });
  const listener = () => {
    if (gd.data[0].dimensions.some(d => d.label === metric)) done(performance.now());
  };
  gd.on('plotly_afterplot', listener);
  const t0 = performance.now();
  Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(select, metric);
  select.dispatchEvent(new Event('change', {bubbles: true}));
  const tDrawn = await Promise.race([drawn, new Promise(r => setTimeout(() => r(null), timeoutMs))]);
  gd.removeListener('plotly_afterplot', listener);
  if (tDrawn === null) return {timeout: true};
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const req = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/mlops/api/charts/runs') && e.startTime >= t0).pop();
  return {t0, tDrawn, tPainted: performance.now(),
          dims: gd.data[0].dimensions.map(d => [d.label, d.values.length]),
          request: req ? {start: req.startTime, response: req.responseStart, end: req.responseEnd,
                          bytes: req.encodedBodySize} : null};
}
"""


class Lab:
    """JupyterLab serving the scratch project, with the news pop-up off, on a free port."""

    def __init__(self, python: str, env: dict, project: Path, work: Path):
        settings = work / "lab-settings"
        notification = settings / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        for d in ("lab-workspaces", "lab-runtime"):
            (work / d).mkdir()
        self.port, self.token = free_port(), uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{self.port}/"
        env = {**env, "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(work / "lab-workspaces"),
               "JUPYTER_RUNTIME_DIR": str(work / "lab-runtime")}
        self.argv = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                     f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                     "--allow-root", f"--ServerApp.root_dir={project}"]
        self.log_path = work / "lab.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=env, cwd=project, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.startup_s = self._wait(t0)
        except Exception:
            self.stop()
            raise

    def _wait(self, t0: float, timeout: float = 120) -> float:
        url = f"{self.base}mlops/api/changes?token={self.token}"
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"JupyterLab not answering after {timeout:.0f} s:\n{self.tail()}")

    def cpu(self) -> float:
        return session_cpu(self.proc.pid)

    def tail(self, n: int = 15) -> str:
        if not self.log.closed:
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-n:])

    def stop(self) -> int | None:
        """SIGTERM (Jupyter shuts down), SIGKILL after 20 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class LiveWriter:
    """A `--live MODE` process: send a command, get the reply."""

    def __init__(self, python: str, mode: str, env: dict, cwd: Path):
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--live", mode], env=env, cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            bufsize=1)
        self.hello = self._read()

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise RuntimeError(f"live writer exited ({self.proc.wait()})")

    def send(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(op="exit")
                self.proc.wait(timeout=30)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# -- the driver ----------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = dict(QUICK if args.quick else FULL)
        self.python = args.python or sys.executable
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-sidebar-"))
        self.project = Path(args.store).resolve() if args.store else self.work / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.results: dict = {}
        self.errors: list[str] = []
        self.lab: Lab | None = None
        self.rng = random.Random(0)

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MLOPS_") and k != "JPY_SESSION_NAME"}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.project)
        return env

    def worker(self, task: str, args: dict, timeout: float = 1800) -> dict:
        return run_worker(self.python, __file__, task, args, env=self.env(), cwd=self.project,
                          timeout=timeout)

    # the store ----------------------------------------------------------------------------------
    def fill(self) -> dict:
        s = self.sizes
        marker = self.project / "bench-fill.json"
        if marker.exists():  # --store: a folder this benchmark filled before, with these sizes
            fill = json.loads(marker.read_text())
            if fill["runs"] == s["runs"] and fill["wave_points"] == s["wave_points"]:
                self.log(f"reusing the store in {self.project}")
                return {**fill, "reused": True}
            raise SystemExit(f"{self.project} holds a store of other sizes: use another folder")
        if any(self.project.iterdir()):
            raise SystemExit(f"{self.project} is not empty and was not filled by this benchmark")
        self.log(f"filling the store: {s['runs']:,} runs, then a {s['wave_points']:,}-point metric")
        fill = self.worker("fill", {"runs": s["runs"], "wave_points": s["wave_points"]})
        marker.write_text(json.dumps(fill))
        self.log(f"  {fill['runs'] / fill['runs_s']:,.0f} runs/s; wave in {fill['wave_s']:.1f} s")
        return fill

    # REST ---------------------------------------------------------------------------------------
    def get(self, conn: Connection, path: str) -> tuple[float, int, bytes]:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"token {self.lab.token}"})
        resp = conn.getresponse()
        data = resp.read()
        return time.perf_counter() - t0, resp.status, data

    def rest(self, fill: dict) -> dict:
        s, lab = self.sizes, self.lab
        expected_total = fill["runs"] + 1  # and the wave run (more if --store was reused)

        def runs_path(offset: int, flt: str | None = None, columns: list[str] | None = None,
                      order: str = ORDER_BY) -> str:
            q = {"filter": flt, "order_by": order, "limit": PAGE, "offset": offset,
                 "columns": ",".join(columns) if columns else None}
            return "/mlops/api/runs?" + urllib.parse.urlencode(
                {k: v for k, v in q.items() if v is not None})

        latest = json.loads(urllib.request.urlopen(
            f"{lab.base}mlops/api/changes?since=0&limit=1&token={lab.token}", timeout=30).read()
        )["latest"]
        t0 = time.perf_counter()  # the first runs request since the server started
        total = json.loads(urllib.request.urlopen(
            f"{lab.base}mlops/api/runs?limit=1&token={lab.token}", timeout=120).read())["total"]
        first_s = time.perf_counter() - t0
        paths = {"page": runs_path(0), "deep": runs_path(total - PAGE),
                 "filter": runs_path(0, SEARCH_FILTER),
                 "columns": runs_path(0, columns=COLUMNS, order=COLUMNS_ORDER),
                 "changes": f"/mlops/api/changes?since={latest}"}
        wave = fill["wave_run_id"]
        hist = f"/mlops/api/runs/{wave}/metrics/{WAVE}?max_points="
        out: dict = {"first_request_s": first_s, "paths": {**paths, "history": hist + "2000",
                               "history_full": hist + str(fill["wave_points"])}}
        conn = Connection("127.0.0.1", lab.port, timeout=300)
        checks: dict = {}
        for name in ("page", "deep", "filter", "columns"):  # warm-up, what each answers
            _, status, data = self.get(conn, paths[name])
            body = json.loads(data)
            checks[name] = {"status": status, "rows": len(body["runs"]), "total": body["total"],
                            "bytes": len(data), "columns": len(body["runs"][0]) if body["runs"] else 0,
                            "first": body["runs"][0]["name"] if body["runs"] else None,
                            "last": body["runs"][-1]["name"] if body["runs"] else None}
        samples: dict[str, list[float]] = {k: [] for k in paths}
        statuses: list[int] = []
        cpu0 = lab.cpu()
        self.log(f"REST: {s['rest_rounds']} rounds of {', '.join(paths)}")
        for _ in range(s["rest_rounds"]):
            for name, path in paths.items():
                t, status, _ = self.get(conn, path)
                samples[name].append(t)
                statuses.append(status)
        out["server_cpu_s"] = lab.cpu() - cpu0
        self.log(f"REST: metric history, {s['history_rounds']} × max_points=2000 and "
                 f"{s['full_history_rounds']} × full resolution")
        _, status, data = self.get(conn, hist + "2000")  # warm-up
        h = json.loads(data)
        checks["history"] = {"status": status, "total": h["total"], "shown": len(h["step"]),
                             "bytes": len(data)}
        for _ in range(s["history_rounds"]):
            t, status, _ = self.get(conn, hist + "2000")
            samples.setdefault("history", []).append(t)
            statuses.append(status)
        for i in range(s["full_history_rounds"]):
            t, status, data = self.get(conn, hist + str(fill["wave_points"]))
            samples.setdefault("history_full", []).append(t)
            statuses.append(status)
            if i == 0:
                h = json.loads(data)
                checks["history_full"] = {"status": status, "total": h["total"],
                                          "shown": len(h["step"]), "bytes": len(data)}
        conn.close()
        out.update(samples=samples, checks=checks, connections=conn.connects,
                   non_200=sum(st != 200 for st in statuses), total=total,
                   expected_total=expected_total,
                   expected_filter_hits=fill["expected_filter_hits"],
                   expected_columns_top=fill.get("expected_columns_top"))
        for name, xs in samples.items():
            self.log(f"  {name}: median {_secs(_med(xs))}, p95 {_secs(pct(xs, 95))}")
        return out

    # browser ------------------------------------------------------------------------------------
    def open_lab(self, browser, click: str = "eager"):
        """A fresh browser context on a fresh workspace (so the sidebar starts closed); click
        the sidebar's tab as soon as it exists ("eager") or once the lab has settled (network
        idle, then 1 s), or not at all (None). Returns (context, page, record)."""
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(INIT_JS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        lab = self.lab
        page.goto(f"{lab.base}lab/workspaces/bench-{uuid.uuid4().hex[:8]}?token={lab.token}")
        page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        tab = page.locator('li[data-id="jp-mlops-sidebar"]')
        tab.wait_for(timeout=60_000)
        rec: dict = {"mode": click, "open_before_click": page.locator("#jp-mlops-sidebar").is_visible()}
        if click == "settled":
            page.wait_for_load_state("networkidle", timeout=60_000)
            page.wait_for_timeout(1000)
        if click and not rec["open_before_click"]:
            tab.click()
        page.wait_for_function("window.__bench.firstRowVisible !== null", timeout=60_000)
        page.wait_for_timeout(300)  # the first row's frame
        rec.update(page.evaluate("window.__bench"))
        nav = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return n ? {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}"
                            " : null; })()")
        rec["navigation"] = nav
        rec["api"] = page.evaluate(API_ENTRIES_JS, 0)
        rec["page_errors"] = errors
        return context, page, rec

    def paint(self, browser) -> dict:
        s = self.sizes
        loads = []
        modes = ["eager", "settled"] * s["paint_loads"]
        for i, mode in enumerate(modes):
            context, _, rec = self.open_lab(browser, mode)
            context.close()
            loads.append(rec)
            runs = [e for e in rec["api"] if e["path"].startswith("runs?")]
            first = runs[0] if runs else None
            self.log(f"  paint {i + 1}/{len(modes)} ({mode}): nav→row visible "
                     f"{rec['firstRowVisible']:.0f} ms, click→row "
                     f"{(rec['firstRowVisible'] - rec['click']) if rec['click'] else float('nan'):.0f} ms, "
                     f"first runs request {first['start']:.0f}→{first['end']:.0f} ms"
                     if first else "no runs request")
        return {"loads": loads}

    def scroll(self, browser) -> dict:
        """Fast passes through all runs, then slower passes through the first
        `slow_scroll_rows` (a steady wheel, not a fling), each on a fresh page load."""
        s = self.sizes
        step = s["scroll_rows_per_frame"] * ROW_PX
        slow_step = s["slow_scroll_rows_per_frame"] * ROW_PX
        out: dict = {"step_px": step, "slow_step_px": slow_step,
                     "slow_limit_rows": s["slow_scroll_rows"]}
        for kind in ("passes", "slow_passes"):
            fast = kind == "passes"
            out[kind] = self._scroll(browser, step if fast else slow_step,
                                     None if fast else s["slow_scroll_rows"] * ROW_PX,
                                     s["scroll_passes"] if fast else s["slow_scroll_passes"])
        return out

    def _scroll(self, browser, step: int, limit_px: int | None, n: int) -> list[dict]:
        passes = []
        for i in range(n):
            context, page, rec = self.open_lab(browser, "eager")
            try:
                page.wait_for_load_state("networkidle", timeout=60_000)
                page.wait_for_timeout(1000)
                since = page.evaluate("performance.now()")
                cpu0 = self.lab.cpu()
                self.log(f"  scroll {i + 1}/{n}: {step} px a frame to "
                         + ("the end" if limit_px is None else f"{limit_px:,} px"))
                res = page.evaluate(SCROLL_JS, {"step": step, "settleMs": 120_000,
                                                "limitPx": limit_px})
                res["server_cpu_s"] = self.lab.cpu() - cpu0
                res["api"] = page.evaluate(API_ENTRIES_JS, since)
                res["page_errors"] = rec["page_errors"]
            finally:
                context.close()
            iv = [b - a for a, b in zip(res["frames"], res["frames"][1:], strict=False)]
            self.log(f"    {len(res['frames'])} frames in {(res['tEnd'] - res['t0']) / 1e3:.1f} s, "
                     f"p95 interval {pct(iv, 95):.1f} ms, {len(res['longtasks'])} long tasks, "
                     f"{res['blankAtEnd']} blank rows at the end, filled after "
                     f"{res['filledAfterEndMs']} ms; runs requests "
                     f"{sum(e['path'].startswith('runs?') for e in res['api'])}")
            passes.append(res)
        return passes

    def live(self, browser) -> dict:
        s = self.sizes
        env = self.env()
        metric = LiveWriter(self.python, "metric", env, self.project)
        runs = LiveWriter(self.python, "runs", env, self.project)
        out: dict = {"metric": [], "run": [], "run_id": metric.hello["run_id"]}
        context = None
        try:
            context, page, rec = self.open_lab(browser, "eager")
            run_id = metric.hello["run_id"]
            page.wait_for_selector(f'.jp-mlops-row[data-run-id="{run_id}"]', timeout=30_000)
            page.click(f'.jp-mlops-row[data-run-id="{run_id}"] .jp-mlops-col-name')
            page.wait_for_function(
                "[...document.querySelectorAll('.jp-mlops-run-metrics td')]"
                ".some(td => td.textContent === '1000')", timeout=30_000)
            page.wait_for_timeout(1500)
            for rep in range(s["live_reps"]):
                for kind in ("metric", "run"):
                    # a random phase against the sidebar's 1 s poll
                    page.wait_for_timeout(self.rng.uniform(0, 1000))
                    needle = str(1001 + rep) if kind == "metric" else f"live-new-{rep}"
                    watch = page.evaluate(LIVE_WATCH_JS, [kind, needle])
                    writer = metric if kind == "metric" else runs
                    reply = (writer.send(op="metric", value=1001 + rep) if kind == "metric"
                             else writer.send(op="run", name=needle))
                    page.wait_for_function("window.__live !== null", timeout=30_000)
                    seen = page.evaluate("window.__live")
                    t_commit_page = (reply["t_commit"] * 1e3) - watch["timeOrigin"]
                    api = page.evaluate(API_ENTRIES_JS, t_commit_page - 2000)
                    sample = {"latency_s": (seen["epoch"] / 1e3) - reply["t_commit"],
                              "write_s": reply["write_s"], "t_commit_page_ms": t_commit_page,
                              "seen_page_ms": seen["now"], "already": watch["already"],
                              "api": api}
                    polls = [e for e in api if e["path"].startswith("changes?since=")
                             and e["start"] >= t_commit_page]
                    sample["first_poll_after_commit_ms"] = (polls[0]["start"] - t_commit_page
                                                            if polls else None)
                    out[kind].append(sample)
                    self.log(f"  live {kind} {rep + 1}/{s['live_reps']}: visible after "
                             f"{sample['latency_s'] * 1e3:.0f} ms (next poll after "
                             f"{sample['first_poll_after_commit_ms'] or float('nan'):.0f} ms)")
        finally:
            if context is not None:
                context.close()
            metric.close()
            runs.close()
        return out

    def open_experiments(self, browser):
        """open_lab, then the sidebar's Open Experiments: the view on every experiment, once
        its first rows show. Returns (context, page, record)."""
        context, page, rec = self.open_lab(browser, "eager")
        page.locator(".jp-mlops-open-experiments").click(timeout=30_000)
        page.wait_for_selector(".jp-mlops-exp-row[data-run-id]", timeout=60_000)
        return context, page, rec

    def experiments(self, browser) -> dict:
        """The Experiments view, on a fresh page each pass: a fast scroll through every run
        (.jp-mlops-exp-body), then parallel coordinates of CHART_RUNS runs: the page's first
        chart (plotly.js fetched on first use), and redraws with another colour metric."""
        s = self.sizes
        step = s["scroll_rows_per_frame"] * ROW_PX
        out: dict = {"step_px": step, "passes": [], "first_chart": [], "redraws": []}
        metrics = [f"metrics.m{j}" for j in range(1, 10)]
        for i in range(s["exp_scroll_passes"]):
            context, page, rec = self.open_experiments(browser)
            try:
                page.wait_for_load_state("networkidle", timeout=60_000)
                page.wait_for_timeout(1000)
                since = page.evaluate("performance.now()")
                cpu0 = self.lab.cpu()
                self.log(f"  experiments scroll {i + 1}/{s['exp_scroll_passes']}: {step} px a frame")
                res = page.evaluate(SCROLL_JS, {"step": step, "settleMs": 120_000,
                                                "limitPx": None, "sel": EXP_SELECTORS})
                res["server_cpu_s"] = self.lab.cpu() - cpu0
                res["api"] = page.evaluate(API_ENTRIES_JS, since)
                res["page_errors"] = rec["page_errors"]
                out["passes"].append(res)
                iv = [b - a for a, b in zip(res["frames"], res["frames"][1:], strict=False)]
                self.log(f"    {len(res['frames'])} frames, p95 interval {pct(iv, 95):.1f} ms, "
                         f"{len(res['longtasks'])} long tasks, runs requests "
                         f"{sum(e['path'].startswith('runs?') for e in res['api'])}")
                first = page.evaluate(FIRST_CHART_JS, {"n": CHART_RUNS, "timeoutMs": 60_000})
                out["first_chart"].append(first)
                self.log(f"    first chart: {_chart_line(first)}")
                for r in range(s["chart_reps"]):
                    page.wait_for_timeout(300)
                    redraw = page.evaluate(REDRAW_CHART_JS, {
                        "metric": metrics[(i * s["chart_reps"] + r) % len(metrics)],
                        "n": CHART_RUNS, "timeoutMs": 60_000})
                    out["redraws"].append(redraw)
                    self.log(f"    redraw {r + 1}/{s['chart_reps']}: {_chart_line(redraw)}")
            finally:
                context.close()
        return out

    def browser_phase(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            try:
                self.results["browser"] = {"version": browser.version, "flags": FLAGS,
                                           "viewport": VIEWPORT}
                self.log(f"first paint: {self.sizes['paint_loads']} eager and settled loads")
                self.results["paint"] = self.attempt("first paint", self.paint, browser)
                self.log(f"scroll: {self.sizes['scroll_passes']} fast passes, "
                         f"{self.sizes['slow_scroll_passes']} slow")
                self.results["scroll"] = self.attempt("scroll", self.scroll, browser)
                self.log(f"live: {self.sizes['live_reps']} metrics and new runs")
                self.results["live"] = self.attempt("live", self.live, browser)
                self.log(f"experiments view: {self.sizes['exp_scroll_passes']} scroll passes, "
                         f"parallel coordinates of {CHART_RUNS:,} runs")
                self.results["experiments"] = self.attempt("experiments view", self.experiments,
                                                           browser)
            finally:
                browser.close()

    # -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.t_start = time.perf_counter()
        s = self.sizes
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if self.args.quick else "full", "sizes": s, "targets": TARGETS,
            "search_filter": SEARCH_FILTER, "order_by": ORDER_BY,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine(),
                        "note": "2 noisy cores shared by the server, the browser and the client; "
                                "other work may run on the machine meanwhile"},
            "git": _git_describe(),
            "code_digest": _code_digest(),
            "versions": _versions(self.python),
            "labextension": _labextension(self.python),
        }
        self.results["meta"] = meta
        try:
            fill = self.fill()
            self.results["fill"] = fill
            self.log("profiling the handlers' functions in process")
            self.results["profile"] = self.attempt("profile", self.worker, "profile", {
                "reps": s["profile_reps"], "total_runs": fill["runs"] + 1,
                "wave_run_id": fill["wave_run_id"]})
            self.log("starting JupyterLab")
            self.lab = Lab(self.python, self.env(), self.project, self.work)
            self.results["server"] = {"argv": self.lab.argv, "startup_s": self.lab.startup_s}
            self.log(f"  answering after {self.lab.startup_s:.1f} s on port {self.lab.port}")
            self.results["rest"] = self.attempt("REST", self.rest, fill)
            self.browser_phase()
        finally:
            if self.lab is not None:
                self.results.setdefault("server", {})["exit"] = self.lab.stop()
                self.results["server"]["log_tail"] = self.lab.tail(8)
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: the figures mix "
                               "two versions of the code; run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


def _versions(python: str) -> dict:
    code = ("import json, platform; from importlib.metadata import version as v; print(json.dumps("
            "{'python': platform.python_version(), **{n: v(n) for n in ('jupyter-mlops', "
            "'jupyterlab', 'jupyter_server', 'tornado', 'pandas', 'SQLAlchemy', 'playwright')}}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}


def _labextension(python: str) -> dict:
    """Which build of the sidebar the lab serves (the first jupyter-mlops in JupyterLab's
    labextensions path: JUPYTER_PATH's before the environment's) and whether it is the one
    built in the working tree."""
    code = ("import json; from jupyter_core.paths import jupyter_path; "
            "print(json.dumps(jupyter_path('labextensions')))")
    paths = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
    installed = next((Path(p) / "jupyter-mlops" for p in paths
                      if (Path(p) / "jupyter-mlops" / "package.json").exists()),
                     Path(paths[-1]) / "jupyter-mlops")

    def digest(folder: Path) -> str | None:
        static = folder / "static"
        if not static.is_dir():
            return None
        h = hashlib.sha256()
        for path in sorted(static.iterdir()):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:16]

    tree = ROOT / "jupyter_mlops" / "labextension"
    return {"installed": str(installed), "installed_static": digest(installed),
            "tree_static": digest(tree),
            "same_as_tree": digest(installed) is not None and digest(installed) == digest(tree)}


def _chart_line(r: dict) -> str:
    """One chart sample for the log."""
    if r.get("timeout"):
        return "timed out"
    req = r["request"] or {}
    return (f"asked → painted {r['tPainted'] - r['t0']:,.0f} ms, request → painted "
            f"{(r['tPainted'] - req['start']) if req else float('nan'):,.0f} ms (the request "
            f"{(req['end'] - req['start']) if req else float('nan'):,.0f} ms), axes of "
            f"{sorted({n for _, n in r['dims']})} values")


def _chart_summary(samples: list[dict]) -> dict:
    ok = [r for r in samples if not r.get("timeout") and r.get("request")]
    painted = [(r["tPainted"] - r["request"]["start"]) / 1e3 for r in ok]
    return {"n": len(samples), "timeouts": len(samples) - len(ok),
            "asked_to_painted_s": _med([(r["tPainted"] - r["t0"]) / 1e3 for r in ok]),
            "request_to_painted_s": _med(painted), "request_to_painted_p95_s": pct(painted, 95),
            "request_to_painted_samples_s": painted,
            "request_s": _med([(r["request"]["end"] - r["request"]["start"]) / 1e3 for r in ok]),
            "response_to_painted_s": _med([(r["tPainted"] - r["request"]["end"]) / 1e3
                                           for r in ok]),
            "bytes": _med([r["request"]["bytes"] for r in ok]),
            "all_axes_full": all(n == CHART_RUNS for r in ok for _, n in r["dims"]) and bool(ok),
            "axes": len(ok[0]["dims"]) if ok else None}


# -- summary and table ----------------------------------------------------------------------------
def summarize(res: dict) -> dict:
    """Medians and percentiles: what the table prints, kept in the JSON too."""
    out: dict = {}
    rest = res.get("rest")
    if rest:
        out["rest"] = {name: {"n": len(xs), "median_s": _med(xs),
                              "p95_s": pct(xs, 95),
                              "min_s": min(xs), "max_s": max(xs)}
                       for name, xs in rest["samples"].items()}
    paint = res.get("paint")
    if paint:
        p: dict = {}
        for mode in ("eager", "settled"):
            loads = [x for x in paint["loads"] if x["mode"] == mode]
            if not loads:
                continue
            runs = [[e for e in x["api"] if e["path"].startswith("runs?")] for x in loads]
            p[mode] = {
                "n": len(loads),
                "click_to_row_s": _med([(x["firstRowVisible"] - x["click"]) / 1e3
                                        for x in loads if x["click"] is not None]),
                "click_to_row_samples_s": [(x["firstRowVisible"] - x["click"]) / 1e3
                                           for x in loads if x["click"] is not None],
                "nav_to_row_visible_s": _med([x["firstRowVisible"] / 1e3 for x in loads]),
                "nav_to_row_in_dom_s": _med([x["firstRow"] / 1e3 for x in loads]),
                "nav_to_dock_s": _med([x["dock"] / 1e3 for x in loads]),
                "nav_to_tab_s": _med([x["tab"] / 1e3 for x in loads]),
                "tab_to_row_in_dom_s": _med([(x["firstRow"] - x["tab"]) / 1e3 for x in loads]),
                "nav_to_click_s": _med([x["click"] / 1e3 for x in loads if x["click"]]),
                "first_runs_request_start_s": _med([r[0]["start"] / 1e3 for r in runs if r]),
                "first_runs_request_s": _med([(r[0]["end"] - r[0]["start"]) / 1e3
                                              for r in runs if r]),
                "row_before_click": sum(1 for x in loads if x["click"] is not None
                                        and x["firstRow"] < x["click"]),
                "open_before_click": sum(1 for x in loads if x["open_before_click"]),
                "longtasks_ms": _med([sum(d for _, d in x["longtasks"]) for x in loads]),
                "page_errors": sum(len(x["page_errors"]) for x in loads),
            }
        out["paint"] = p
    scroll = res.get("scroll")
    if scroll and scroll.get("passes"):
        out["scroll"] = {**_scroll_summary(scroll["passes"]), "step_px": scroll["step_px"]}
        if scroll.get("slow_passes"):
            out["scroll_slow"] = {**_scroll_summary(scroll["slow_passes"]),
                                  "step_px": scroll["slow_step_px"],
                                  "limit_rows": scroll["slow_limit_rows"]}
    live = res.get("live")
    if live:
        out["live"] = {kind: {"n": len(xs), "median_s": _med([x["latency_s"] for x in xs]),
                              "max_s": max((x["latency_s"] for x in xs), default=None),
                              "min_s": min((x["latency_s"] for x in xs), default=None),
                              "samples_s": [x["latency_s"] for x in xs],
                              "poll_wait_s": _med([x["first_poll_after_commit_ms"] / 1e3 for x in xs
                                                   if x["first_poll_after_commit_ms"] is not None]),
                              "after_poll_s": _med([
                                  (x["seen_page_ms"] - x["t_commit_page_ms"]
                                   - x["first_poll_after_commit_ms"]) / 1e3 for x in xs
                                  if x["first_poll_after_commit_ms"] is not None]),
                              "write_s": _med([x["write_s"] for x in xs])}
                       for kind, xs in (("metric", live["metric"]), ("run", live["run"]))}
    exp = res.get("experiments")
    if exp:
        out["experiments"] = {
            "scroll": ({**_scroll_summary(exp["passes"]), "step_px": exp["step_px"]}
                       if exp["passes"] else None),
            "first_chart": _chart_summary(exp["first_chart"]),
            "redraw": _chart_summary(exp["redraws"])}
    prof = res.get("profile")
    if prof:
        out["profile"] = {
            **{name: {k: _med(prof[name][k]) for k in ("search_s", "count_s", "handler_fn_s",
                                                        "encode_s")}
               for name in ("page", "deep", "filter", "columns") if name in prof},
            "history": {k: _med(v) if isinstance(v, list) else v
                        for k, v in prof["history"].items()},
        }
    return out


def _scroll_summary(passes: list[dict]) -> dict:
    per = []
    for r in passes:
        iv = [b - a for a, b in zip(r["frames"], r["frames"][1:], strict=False)]
        runs = [e for e in r["api"] if e["path"].startswith("runs?")]
        per.append({
            "frames": len(r["frames"]), "seconds": (r["tEnd"] - r["t0"]) / 1e3,
            "p50_frame_ms": pct(iv, 50), "p95_frame_ms": pct(iv, 95), "max_frame_ms": max(iv),
            "longtasks": len(r["longtasks"]), "longtask_ms": sum(d for _, d in r["longtasks"]),
            "longest_task_ms": max((d for _, d in r["longtasks"]), default=0),
            "frames_with_blank": sum(1 for b in r["blanks"] if b),
            "max_blank_in_view": max(r["blanks"], default=0),
            "blank_at_end": r["blankAtEnd"], "rows_at_end": r["rowsAtEnd"],
            "filled_after_end_s": (r["filledAfterEndMs"] / 1e3
                                   if r["filledAfterEndMs"] is not None else None),
            "runs_requests": len(runs),
            "runs_request_p50_s": pct([(e["end"] - e["start"]) / 1e3 for e in runs], 50),
            "runs_request_max_s": max(((e["end"] - e["start"]) / 1e3 for e in runs),
                                      default=None),
            "server_cpu_s": r["server_cpu_s"], "last_names": r["lastNames"],
            "footer": r["footer"],
        })
    return {"passes": per, **{k: _med([p[k] for p in per]) for k in (
        "frames", "seconds", "p50_frame_ms", "p95_frame_ms", "max_frame_ms", "longtasks",
        "longtask_ms", "longest_task_ms", "frames_with_blank", "max_blank_in_view",
        "blank_at_end", "filled_after_end_s", "runs_requests", "runs_request_p50_s",
        "runs_request_max_s", "server_cpu_s")}}


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1e3:,.0f} ms" if x >= 0.1 else f"{x * 1e3:,.1f} ms"


def render(res: dict) -> str:
    summ, meta = res["summary"], res["meta"]
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, a: str = "", b: str = "", c: str = "", note: str = "") -> None:
        rows.append((what, a, b, c, note))

    fill = res.get("fill") or {}
    n = fill.get("runs", meta["sizes"]["runs"])
    rest, rchecks = summ.get("rest"), (res.get("rest") or {}).get("checks", {})
    add(f"1. RUNS LIST API ({n:,} runs + 1, 20 params and 10 metrics each)", note=(
        "GET mlops/api/runs, limit=100, order_by=start_time DESC; one keep-alive connection"))
    if rest:
        t = TARGETS["runs_page_s"]
        for name, label, extra in (
                ("page", "first page (offset 0) + total", ""),
                ("deep", f"deep page (offset {n + 1 - PAGE:,})", ""),
                ("filter", "filtered page + total", f"{SEARCH_FILTER}")):
            r, c = rest[name], rchecks.get(name, {})
            ok = r["p95_s"] < t if name == "page" else None
            add(f"  {label}", _ms(r["median_s"]), _ms(r["p95_s"]),
                (f"<{t * 1e3:.0f} ms " + _check(ok)) if ok is not None else "",
                f"n={r['n']}; {c.get('rows')} rows of {c.get('columns')} columns, total "
                f"{c.get('total'):,}, {c.get('bytes', 0) / 1024:,.0f} KiB" + (f"; {extra}" if extra else ""))
        if "columns" in rest:
            r, c, t = rest["columns"], rchecks.get("columns", {}), TARGETS["columns_page_s"]
            add("  30 columns chosen, by a metric", _ms(r["median_s"]), _ms(r["p95_s"]),
                f"<{t * 1e3:.0f} ms " + _check(r["p95_s"] < t),
                f"n={r['n']}; {c.get('rows')} rows of {c.get('columns')} fields, "
                f"{c.get('bytes', 0) / 1024:,.0f} KiB; columns = 20 params + 10 metrics, "
                f"order_by={COLUMNS_ORDER}")
        r = rest["changes"]
        add("  change feed (nothing new)", _ms(r["median_s"]), _ms(r["p95_s"]), "",
            f"n={r['n']}; what the sidebar polls every second")
        add("  first runs request after the server started", _ms(res["rest"]["first_request_s"]),
            "", "", "limit=1, a new connection; imports pandas etc. in the server")
        rs = res["rest"]
        ok = (rchecks["page"]["total"] == rs["expected_total"] and rchecks["page"]["rows"] == PAGE
              and rchecks["deep"]["last"] == "run-0"
              and rchecks["filter"]["total"] == rs["expected_filter_hits"]
              and rchecks.get("columns", {}).get("first") == rs.get("expected_columns_top")
              and rs["non_200"] == 0 and rs["connections"] == 1)
        add("  checks", "", "", "", _check(ok) + (
            f" totals {rchecks['page']['total']:,} (expected {rs['expected_total']:,}) and "
            f"{rchecks['filter']['total']:,} filtered (expected {rs['expected_filter_hits']:,}); "
            f"deep page ends at {rchecks['deep']['last']}; by {COLUMNS_ORDER} the first row is "
            f"{rchecks.get('columns', {}).get('first')} (expected "
            f"{rs.get('expected_columns_top')}); {rs['non_200']} non-200; "
            f"{rs['connections']} connection"))
    prof = summ.get("profile")
    if prof:
        add("  in process: search_runs / count_runs", note=(
            "; ".join(f"{k} {_ms(prof[k]['search_s'])} / {_ms(prof[k]['count_s'])}"
                      f" (+JSON {_ms(prof[k]['encode_s'])})"
                      for k in ("page", "deep", "filter", "columns") if k in prof)))
    paint = summ.get("paint")
    add("2. SIDEBAR FIRST PAINT", note="fresh browser context and workspace each load; "
                                      "first .jp-mlops-row[data-run-id] visible")
    if paint:
        for mode, label in (("settled", "click on the tab → first row (lab settled)"),
                            ("eager", "click as soon as the tab exists → first row")):
            p = paint.get(mode)
            if not p:
                continue
            t = TARGETS["first_paint_s"]
            add(f"  {label}", _ms(p["click_to_row_s"]),
                _ms(max(p["click_to_row_samples_s"])) if p["click_to_row_samples_s"] else "—",
                f"<{t:.0f} s " + _check(p["click_to_row_s"] is not None
                                        and p["click_to_row_s"] < t),
                f"n={p['n']} (p95 column: the slowest); row already in the DOM before the click "
                f"in {p['row_before_click']} of {p['n']}")
        p = paint.get("eager")
        if p:
            add("  navigation start → first row visible", _ms(p["nav_to_row_visible_s"]), "", "",
                f"eager loads; JupyterLab's dock panel at {_ms(p['nav_to_dock_s'])}, "
                f"the tab clicked at {_ms(p['nav_to_click_s'])}")
            add("  navigation start → first row in the DOM", _ms(p["nav_to_row_in_dom_s"]), "", "",
                f"first runs request sent at {_ms(p['first_runs_request_start_s'])}, took "
                f"{_ms(p['first_runs_request_s'])}; long tasks until the row "
                f"{p['longtasks_ms']:,.0f} ms in all")
            add("  sidebar tab in the DOM → first row in the DOM", _ms(p["tab_to_row_in_dom_s"]),
                "", "", "the sidebar's own part of the load (it renders and fetches while hidden)")
    add("3. SCROLL THROUGH THE RUNS", note=(
        "scrollTop of .jp-mlops-body moved once per requestAnimationFrame; fresh page load "
        "each pass; medians of passes"))
    for key, label in (("scroll", "fast: all runs"), ("scroll_slow", "slow: first rows")):
        sc = summ.get(key)
        if not sc:
            continue
        rows_per_frame = sc["step_px"] // ROW_PX
        what = ("to the end" if key == "scroll" else f"through the first {sc['limit_rows']:,} rows")
        add(f" {label}", note=f"{rows_per_frame} rows ({sc['step_px']} px) a frame {what}, "
                              f"{len(sc['passes'])} passes of {sc['frames']:,.0f} frames in "
                              f"{sc['seconds']:,.1f} s")
        add("  frame interval p95 / p50", f"{sc['p95_frame_ms']:,.1f} ms",
            f"{sc['p50_frame_ms']:,.1f} ms", "", f"worst frame {sc['max_frame_ms']:,.0f} ms")
        add("  long tasks (count / total)", f"{sc['longtasks']:,.0f}",
            f"{sc['longtask_ms']:,.0f} ms", "", f"longest {sc['longest_task_ms']:,.0f} ms")
        add("  frames with '…' rows in the viewport", f"{sc['frames_with_blank']:,.0f}", "", "",
            f"of {sc['frames']:,.0f}; at most {sc['max_blank_in_view']:,.0f} '…' rows in view")
        add("  '…' rows in view when the scroll ended", f"{sc['blank_at_end']:,.0f}", "", "",
            f"last rows: {', '.join(sc['passes'][0]['last_names'])}")
        add("  then until no '…' left in view", _ms(sc["filled_after_end_s"]))
        add("  runs page requests during a pass", f"{sc['runs_requests']:,.0f}", "", "",
            f"each p50 {_ms(sc['runs_request_p50_s'])}, slowest {_ms(sc['runs_request_max_s'])} "
            f"(browser-side, queueing included); server CPU {sc['server_cpu_s']:,.1f} s a pass")
    add("4. METRIC HISTORY API", note=(
        f"GET mlops/api/runs/<id>/metrics/{WAVE}; {fill.get('wave_points', 0):,} points"))
    if rest and "history" in rest:
        r, c = rest["history"], rchecks.get("history", {})
        t = TARGETS["history_s"]
        add("  max_points=2000 (the sidebar's default)", _ms(r["median_s"]), _ms(r["p95_s"]),
            f"<{t * 1e3:.0f} ms " + _check(r["median_s"] < t),
            f"n={r['n']}; {c.get('shown'):,} points shown of {c.get('total'):,}, "
            f"{c.get('bytes', 0) / 1024:,.0f} KiB")
    if rest and "history_full" in rest:
        r, c = rest["history_full"], rchecks.get("history_full", {})
        add(f"  full resolution (max_points={fill.get('wave_points', 0)})", _secs(r["median_s"]),
            _secs(r["max_s"]), "",
            f"n={r['n']} (p95 column: the slowest); {c.get('shown'):,} points, "
            f"{c.get('bytes', 0) / 2**20:,.1f} MiB")
    if prof:
        h = prof["history"]
        add("  in process", note=(
            f"metric_history full {_ms(h['metric_history_full_s'])}, with max_points=2000 "
            f"{_ms(h['metric_history_2000_s'])} (downsample alone {_ms(h['downsample_only_s'])}); "
            f"the handler's _history {_ms(h['handler_fn_s'])}"))
    live = summ.get("live")
    add("5. LIVE", note="written in another process (log_metric + flush, or start_run) → "
                        "visible in the browser; wall clock of both")
    if live:
        m, r = live["metric"], live["run"]
        t = TARGETS["live_metric_s"]
        add("  metric in the open run view", _ms(m["median_s"]), _ms(m["max_s"]),
            f"<{t:.0f} s " + _check(m["median_s"] is not None and m["median_s"] < t),
            f"n={m['n']} (p95 column: the slowest); fastest {_ms(m['min_s'])}; medians: next "
            f"poll {_ms(m['poll_wait_s'])} after the commit, visible {_ms(m['after_poll_s'])} "
            "after that poll started")
        add("  new run as a row in the table", _ms(r["median_s"]), _ms(r["max_s"]), "",
            f"n={r['n']}; fastest {_ms(r['min_s'])}; no target given; next poll "
            f"{_ms(r['poll_wait_s'])}, then {_ms(r['after_poll_s'])}")
    exp = summ.get("experiments")
    add("6. EXPERIMENTS VIEW", note="Open Experiments from the sidebar, every experiment; a fresh "
                                    "page load each pass; medians of passes")
    if exp and exp["scroll"]:
        sc = exp["scroll"]
        t = TARGETS["exp_scroll_p95_ms"]
        add("  scroll: frame interval p95 / p50", f"{sc['p95_frame_ms']:,.1f} ms",
            f"{sc['p50_frame_ms']:,.1f} ms",
            f"≤{t:.0f} ms " + _check(sc["p95_frame_ms"] is not None and sc["p95_frame_ms"] <= t),
            f"{sc['step_px'] // ROW_PX} rows a frame to the end, {len(sc['passes'])} passes of "
            f"{sc['frames']:,.0f} frames; worst frame {sc['max_frame_ms']:,.0f} ms")
        add("  scroll: long tasks, '…' rows in view", f"{sc['longtasks']:,.0f}",
            f"{sc['frames_with_blank']:,.0f}", "",
            f"long tasks {sc['longtask_ms']:,.0f} ms in all; frames with '…' rows in view; "
            f"then filled after {_ms(sc['filled_after_end_s'])}; {sc['runs_requests']:,.0f} "
            f"runs requests a pass; footer {sc['passes'][0]['footer']}")
    if exp:
        t = TARGETS["parallel_s"]
        for key, label in (("first_chart", "first chart of a page (plotly.js fetched)"),
                           ("redraw", "redraw, another colour metric")):
            c = exp[key]
            if not c["n"]:
                continue
            ok = c["request_to_painted_s"] is not None and c["request_to_painted_s"] < t
            add(f"  parallel coordinates, {CHART_RUNS:,} runs: {label}",
                _ms(c["request_to_painted_s"]), _ms(c["request_to_painted_p95_s"]),
                f"<{t:.0f} s " + _check(ok),
                f"n={c['n']}, request → painted; the request {_ms(c['request_s'])} "
                f"({(c['bytes'] or 0) / 1024:,.0f} KiB), then drawn in "
                f"{_ms(c['response_to_painted_s'])}; from the click {_ms(c['asked_to_painted_s'])}"
                f"; {c['axes']} axes of {CHART_RUNS:,} values: {_check(c['all_axes_full'])}"
                + (f"; {c['timeouts']} timed out" if c["timeouts"] else ""))
    lines = _table(("figure", "median", "p95", "target", "notes"), rows)
    v = meta.get("versions", {})
    head = (f"sidebar benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{v.get('jupyter-mlops')} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}), JupyterLab {v.get('jupyterlab')}, "
            f"jupyter_server {v.get('jupyter_server')}, chromium "
            f"{(res.get('browser') or {}).get('version', '?')} headless; "
            f"{meta['machine']['cpus']} CPUs shared by server, browser and client; SQLite store")
    lx = meta.get("labextension", {})
    tail = [f"labextension: {lx.get('installed')} (static {lx.get('installed_static')}, "
            f"{'same as' if lx.get('same_as_tree') else 'DIFFERENT from'} the working tree's build)",
            f"store filled at {fill.get('runs', 0) / (fill.get('runs_s') or 1):,.0f} runs/s"
            + (" (reused)" if fill.get("reused") else "")
            + f"; JupyterLab answered after {(res.get('server') or {}).get('startup_s', 0):.1f} s",
            f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    return "\n".join([head, "", *lines, "", *tail])


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        _worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "--live":
        live_main(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1,000 runs, a 200,000-point metric, fewer repetitions")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--store", metavar="DIR",
                    help="project folder to fill, or to reuse if this benchmark filled it before")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/sidebar-<date>.json)")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier results file")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    if not os.path.exists(CHROMIUM):
        sys.exit(f"no {CHROMIUM}: apt-get install -y chromium (never `playwright install`)")
    results = Bench(args).run()
    save(results, render, "sidebar", args.quick, args.out)


if __name__ == "__main__":
    main()
