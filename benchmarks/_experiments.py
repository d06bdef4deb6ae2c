"""The Experiments view's part of the sidebar benchmark (issue 21), driven by bench_sidebar.py
on its store and its JupyterLab: frame times while scrolling every run in the view, and
parallel coordinates over 1,000 runs from the request to the drawn chart (with the request
alone, the Python call, and plotly.js alone as the floor). The runs page with 30 columns is
bench_sidebar.py's section 1."""

from __future__ import annotations

import json
import statistics
import time
import urllib.parse
import urllib.request

from _common import ROOT
from _common import check as _check
from _common import med as _med

EXPERIMENT = "bench"  # bench_sidebar's experiment
ROW_PX = 26  # the Experiments view's row height (labextension/src/experiments/Table.tsx)
PARALLEL = ["params.p3", "params.p1", "params.p4", "params.p6", "metrics.m0"]
CHART_RUNS = 1000  # the view charts at most this many runs when none is selected
TARGETS = {"exp_frame_p95_ms": 20.0, "parcoords_s": 1.0}


def pct(xs: list[float], p: int) -> float | None:
    if len(xs) < 2:
        return xs[0] if xs else None
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


# -- worker tasks (in subprocesses of bench_sidebar.py) -------------------------------------------
def task_automl(a: dict) -> dict:
    """An AutoML search in the benchmark's experiment (its trials are child runs of one
    parent): `trials` trials on scikit-learn's wine data, 3-fold."""
    from sklearn.datasets import load_wine

    from jupyter_mlops.automl.search import automl

    X, y = load_wine(return_X_y=True, as_frame=True)
    t0 = time.perf_counter()
    result = automl(X, y, n_trials=a["trials"], time_budget=600, cv=3, experiment=EXPERIMENT,
                    progress=False)
    return {"trials": a["trials"], "seconds": time.perf_counter() - t0,
            "parent_run_id": result.run_id}


def task_chart(a: dict) -> dict:
    """In process, what the handler calls: the parallel coordinates figure over 1,000 runs,
    and its JSON."""
    from jupyter_mlops.server.handlers.base import to_json
    from jupyter_mlops.tracking.charts import runs_chart

    runs_chart("parallel", PARALLEL, experiment=EXPERIMENT, limit=CHART_RUNS)  # imports plotly
    figure_s, encode_s, body = [], [], ""
    for _ in range(a["reps"]):
        t0 = time.perf_counter()
        figure = runs_chart("parallel", PARALLEL, experiment=EXPERIMENT, limit=CHART_RUNS)
        t1 = time.perf_counter()
        body = json.dumps(to_json(figure), allow_nan=False, default=str)
        figure_s.append(t1 - t0)
        encode_s.append(time.perf_counter() - t1)
    return {"figure_s": figure_s, "encode_s": encode_s, "body_bytes": len(body)}


TASKS = {"automl": task_automl, "chart": task_chart}


# -- REST ---------------------------------------------------------------------------------------
def chart_path() -> str:
    return "/mlops/api/charts/runs?" + urllib.parse.urlencode(
        {"kind": "parallel", "fields": ",".join(PARALLEL), "color": PARALLEL[-1],
         "experiment": EXPERIMENT, "limit": CHART_RUNS})


def rest(bench, conn) -> dict:
    """The parallel coordinates figure over 1,000 runs, over the benchmark's keep-alive
    connection: what the view waits for before drawing."""
    path = chart_path()
    _, status, data = bench.get(conn, path)  # warm-up, and what it answers
    dims = json.loads(data)["data"][0]["dimensions"]
    check = {"status": status, "bytes": len(data), "dimensions": len(dims),
             "values": sorted({len(d["values"]) for d in dims})}
    samples, statuses = [], []
    for _ in range(bench.sizes["chart_rounds"]):
        t, status, _ = bench.get(conn, path)
        samples.append(t)
        statuses.append(status)
    bench.log(f"  charts/runs: median {_med(samples) * 1e3:.0f} ms, "
              f"p95 {pct(samples, 95) * 1e3:.0f} ms")
    return {"path": path, "samples": samples, "check": check,
            "non_200": sum(s != 200 for s in statuses)}


# -- the browser --------------------------------------------------------------------------------
def prefs_key(experiments: list[str]) -> str:
    """The state key the Experiments view keeps a set of experiments' choices under."""
    return "jupyter-mlops:experiments:" + json.dumps(sorted(experiments), separators=(",", ":"))


def seed_workspace(bench, workspace: str, columns: list[str] | None, charts_open: bool) -> None:
    """A fresh workspace whose state holds the view's choices for the experiment: the
    columns (None: the default ones) and whether the charts panel is open (parallel
    coordinates over PARALLEL)."""
    lab = bench.lab
    prefs = {"columns": columns, "widths": {}, "order": {"key": "start_time", "desc": True},
             "charts": {"open": charts_open, "kind": "parallel", "params": PARALLEL[:-1],
                        "metric": PARALLEL[-1], "x": None, "y": None}}
    body = json.dumps({"data": {prefs_key([EXPERIMENT]): prefs,
                                "jupyter-mlops:experiments": {"experiments": [EXPERIMENT]}},
                       "metadata": {"id": workspace}}).encode()
    req = urllib.request.Request(f"{lab.base}lab/api/workspaces/{workspace}", data=body,
                                 method="PUT", headers={"Authorization": f"token {lab.token}",
                                                        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as reply:
        assert reply.status in (200, 204), reply.status


def open_view(bench, browser, columns: list[str] | None, charts_open: bool = False):
    """A fresh browser context on a fresh seeded workspace, the Experiments view opened by its
    command and its first rows shown: (context, page, errors)."""
    import uuid

    from bench_sidebar import VIEWPORT

    lab = bench.lab
    workspace = f"bench-exp-{uuid.uuid4().hex[:8]}"
    seed_workspace(bench, workspace, columns, charts_open)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab.base}lab/workspaces/{workspace}?token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands"
                           ".hasCommand('mlops:open-experiments')", timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('mlops:open-experiments', "
                  f"{{experiments: ['{EXPERIMENT}']}})")
    page.wait_for_selector(".jp-mlops-exp-body .jp-mlops-exp-row[data-run-id]", timeout=60_000)
    return context, page, errors


def scroll(bench, browser) -> dict:
    """Passes through every top-level run of the experiment in the Experiments view, a
    `exp_scroll_rows_per_frame` rows a frame, with the default columns and with 30 chosen;
    each pass on a fresh load."""
    from bench_sidebar import API_ENTRIES_JS, COLUMNS, SCROLL_JS

    s = bench.sizes
    step = s["exp_scroll_rows_per_frame"] * ROW_PX
    out: dict = {"step_px": step}
    for label, columns in (("default", None),
                           ("columns", ["name", "status", "start_time", *COLUMNS])):
        passes = []
        for i in range(s["exp_scroll_passes"]):
            context, page, errors = open_view(bench, browser, columns)
            try:
                page.wait_for_load_state("networkidle", timeout=60_000)
                page.wait_for_timeout(1000)
                since = page.evaluate("performance.now()")
                cpu0 = bench.lab.cpu()
                res = page.evaluate(SCROLL_JS, {
                    "step": step, "settleMs": 120_000, "limitPx": None,
                    "body": ".jp-mlops-exp-body", "row": ".jp-mlops-exp-row",
                    "name": ".jp-mlops-exp-name", "footer": ".jp-mlops-exp-footer"})
                res["server_cpu_s"] = bench.lab.cpu() - cpu0
                res["api"] = page.evaluate(API_ENTRIES_JS, since)
                res["page_errors"] = errors
                res["header_cells"] = page.locator(".jp-mlops-exp-header").count()
            finally:
                context.close()
            iv = [b - a for a, b in zip(res["frames"], res["frames"][1:], strict=False)]
            bench.log(f"  experiments scroll ({label}) {i + 1}/{s['exp_scroll_passes']}: "
                      f"{len(res['frames'])} frames, p95 interval {pct(iv, 95):.1f} ms, "
                      f"{len(res['longtasks'])} long tasks, {res['header_cells']} columns")
            passes.append(res)
        out[label] = passes
    return out


# Opens the charts panel (its toggle) and waits for the parcoords trace to be drawn: the
# plotly div holds it and its axes (one per dimension) are in the SVG, then one more frame
# (the WebGL lines are painted in it). Times from the click, and from the charts/runs request.
PARCOORDS_JS = """
async ({timeoutMs}) => {
  const t0 = performance.now();
  document.querySelector('.jp-mlops-exp-charts-toggle').click();
  const found = await new Promise(resolve => {
    const tick = () => {
      const gd = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');
      const trace = gd && gd._fullData && gd._fullData[0];
      if (trace && trace.type === 'parcoords' &&
          gd.querySelectorAll('.y-axis').length >= trace.dimensions.length) {
        requestAnimationFrame(ts => resolve({gd, trace, axes: performance.now(), frame: ts}));
      } else if (performance.now() - t0 > timeoutMs) {
        resolve(null);
      } else {
        requestAnimationFrame(tick);
      }
    };
    tick();
  });
  const entries = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/mlops/api/charts/runs') && e.startTime >= t0);
  const req = entries[0];
  return {
    t0, drawn: found ? found.frame : null, axes: found ? found.axes : null,
    request: req ? {start: req.startTime, response: req.responseStart, end: req.responseEnd,
                    bytes: req.encodedBodySize} : null,
    requests: entries.length,
    values: found ? found.trace.dimensions.map(d => d.values.length) : null,
    canvases: found ? found.gd.querySelectorAll('canvas').length : 0};
}
"""


def parcoords(bench, browser) -> dict:
    """In one page of the view, its charts panel opened `parcoords_reps` times (closed in
    between), each timed until the parallel coordinates over the first 1,000 runs are drawn.
    The first opening also loads plotly.js (a chunk of its own, fetched when the first figure
    arrives); the later ones find it loaded."""
    reps = []
    context, page, errors = open_view(bench, browser, None, charts_open=False)
    try:
        page.wait_for_load_state("networkidle", timeout=60_000)
        page.wait_for_timeout(500)
        for i in range(bench.sizes["parcoords_reps"]):
            if i:
                page.click(".jp-mlops-exp-charts-toggle")
                page.wait_for_selector(".jp-mlops-exp-charts", state="detached", timeout=30_000)
                page.wait_for_timeout(300)
            res = page.evaluate(PARCOORDS_JS, {"timeoutMs": 60_000})
            if res["drawn"] is None or res["request"] is None:
                raise RuntimeError(f"parallel coordinates not drawn: {res}")
            if not i:
                # the chunk fetched once the figure came (not jupyterlab-plotly's, at start)
                res["plotly_js"] = page.evaluate(
                    "(since) => performance.getEntriesByType('resource')"
                    ".filter(e => /plotly/.test(e.name) && e.name.endsWith('.js')"
                    " && e.startTime >= since)"
                    ".map(e => ({start: e.startTime, end: e.responseEnd, bytes: e.encodedBodySize}))",
                    res["t0"])
            bench.log(f"  parcoords {i + 1}/{bench.sizes['parcoords_reps']}: request → drawn "
                      f"{res['drawn'] - res['request']['start']:.0f} ms (the request "
                      f"{res['request']['end'] - res['request']['start']:.0f} ms), click → "
                      f"drawn {res['drawn'] - res['t0']:.0f} ms; {res['values'][:1]} values a "
                      "dimension")
            reps.append(res)
        return {"reps": reps, "page_errors": errors}
    finally:
        context.close()


# plotly.js alone in a blank page: the figure the view drew, into a new div each time (a new
# WebGL context, as the view's charts panel makes when opened), then again into the same div
PLOTLY_ALONE_JS = """
async ({figure, reps}) => {
  const frame = () => new Promise(r => requestAnimationFrame(r));
  const out = {newDiv: [], sameDiv: []};
  let gd = null;
  for (let i = 0; i < reps; i++) {
    if (gd) { Plotly.purge(gd); gd.remove(); }
    gd = document.createElement('div');
    gd.style.width = '1200px';
    document.body.appendChild(gd);
    let t0 = performance.now();
    await Plotly.newPlot(gd, figure.data, {...figure.layout, height: 400});
    await frame();
    out.newDiv.push(performance.now() - t0);
    t0 = performance.now();
    await Plotly.react(gd, JSON.parse(JSON.stringify(figure.data)), {...figure.layout, height: 400});
    await frame();
    out.sameDiv.push(performance.now() - t0);
  }
  return out;
}
"""


def plotly_alone(bench, browser) -> dict | None:
    """The floor under section 8: the same parallel coordinates figure (from the REST API)
    drawn by plotly.js alone (node_modules/plotly.js-dist-min, the build the labextension
    bundles) in a blank page; None without it."""
    script = ROOT / "node_modules" / "plotly.js-dist-min" / "plotly.min.js"
    if not script.exists():
        return None
    from bench_sidebar import VIEWPORT

    with urllib.request.urlopen(f"{bench.lab.base}{chart_path()[1:]}&token={bench.lab.token}",
                                timeout=120) as reply:
        figure = json.loads(reply.read())
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_content("<!doctype html><body></body>")
        page.add_script_tag(path=str(script))
        out = page.evaluate(PLOTLY_ALONE_JS, {"figure": figure,
                                              "reps": bench.sizes["parcoords_reps"]})
    finally:
        context.close()
    bench.log(f"  plotly.js alone: a new div {', '.join(f'{x:.0f}' for x in out['newDiv'])} ms; "
              f"the same div again {', '.join(f'{x:.0f}' for x in out['sameDiv'])} ms")
    return out


def browser_phase(bench, browser) -> None:
    s = bench.sizes
    bench.log(f"experiments view: {s['exp_scroll_passes']} scroll passes with the default "
              "columns and with 30")
    bench.results["exp_scroll"] = bench.attempt("experiments scroll", scroll, bench, browser)
    bench.log(f"parallel coordinates: {s['parcoords_reps']} loads")
    bench.results["parcoords"] = bench.attempt("parallel coordinates", parcoords, bench, browser)
    bench.results["plotly_alone"] = bench.attempt("plotly.js alone", plotly_alone, bench, browser)


# -- summary and table --------------------------------------------------------------------------
def summarize(res: dict, scroll_summary) -> dict:
    out: dict = {}
    rest = res.get("rest_chart")
    if rest:
        xs = rest["samples"]
        out["rest"] = {"n": len(xs), "median_s": _med(xs), "p95_s": pct(xs, 95)}
    prof = res.get("profile_chart")
    if prof:
        out["profile"] = {k: _med(prof[k]) for k in ("figure_s", "encode_s")}
    sc = res.get("exp_scroll")
    if sc:
        out["scroll"] = {label: {**scroll_summary(sc[label]), "step_px": sc["step_px"]}
                         for label in ("default", "columns") if sc.get(label)}
    pc = res.get("parcoords")
    if pc and pc["reps"]:
        reps = pc["reps"]
        out["parcoords"] = {
            "n": len(reps),
            "request_to_drawn_s": [(r["drawn"] - r["request"]["start"]) / 1e3 for r in reps],
            "click_to_drawn_s": [(r["drawn"] - r["t0"]) / 1e3 for r in reps],
            "request_s": [(r["request"]["end"] - r["request"]["start"]) / 1e3 for r in reps],
            "after_response_s": [(r["drawn"] - r["request"]["end"]) / 1e3 for r in reps],
            "values": reps[0]["values"], "bytes": reps[0]["request"]["bytes"],
            "plotly_js": reps[0].get("plotly_js") or []}
    return out


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1e3:,.0f} ms" if x >= 0.1 else f"{x * 1e3:,.1f} ms"


def rows(res: dict, add) -> None:
    """The table's rows for this part (sections 6-7), through bench_sidebar's `add`."""
    summ = res["summary"].get("experiments", {})
    add("6. EXPERIMENTS VIEW SCROLL", note=(
        "scrollTop of .jp-mlops-exp-body moved once per requestAnimationFrame to the end; "
        "fresh page load each pass; medians of passes"))
    for label, what in (("default", "default columns"), ("columns", "30 columns chosen")):
        sc = (summ.get("scroll") or {}).get(label)
        if not sc:
            continue
        t = TARGETS["exp_frame_p95_ms"]
        add(f"  {what}: frame interval p95 / p50", f"{sc['p95_frame_ms']:,.1f} ms",
            f"{sc['p50_frame_ms']:,.1f} ms", f"≤{t:.0f} ms " + _check(sc["p95_frame_ms"] <= t),
            f"{len(sc['passes'])} passes of {sc['frames']:,.0f} frames, "
            f"{sc['step_px'] // ROW_PX} rows a frame; worst frame {sc['max_frame_ms']:,.0f} ms; "
            f"long tasks {sc['longtasks']:,.0f} ({sc['longtask_ms']:,.0f} ms)")
        add("    frames with '…' rows in view", f"{sc['frames_with_blank']:,.0f}", "", "",
            f"of {sc['frames']:,.0f}; at the end {sc['blank_at_end']:,.0f}, filled after "
            f"{_ms(sc['filled_after_end_s'])}; {sc['runs_requests']:,.0f} page requests, each "
            f"p50 {_ms(sc['runs_request_p50_s'])}; last rows "
            f"{', '.join(sc['passes'][0]['last_names'])}")
    pc, rest = summ.get("parcoords"), summ.get("rest")
    c = (res.get("rest_chart") or {}).get("check", {})
    add("7. PARALLEL COORDINATES, 1,000 RUNS", note=(
        f"GET charts/runs?kind=parallel&fields={','.join(PARALLEL)}: request start → the "
        "parcoords trace and its axes drawn (+1 frame); the view's charts panel opened again "
        "and again in one page"))
    if rest:
        r = rest
        add("  the request alone (this client)", _ms(r["median_s"]), _ms(r["p95_s"]), "",
            f"n={r['n']}; {c.get('dimensions')} dimensions of {c.get('values')} values, "
            f"{c.get('bytes', 0) / 1024:,.0f} KiB")
    if pc:
        t = TARGETS["parcoords_s"]
        first, warm = pc["request_to_drawn_s"][0], pc["request_to_drawn_s"][1:]
        js = pc["plotly_js"]
        add("  request → drawn, first chart (plotly.js loaded)", _ms(first), "",
            f"<{t:.0f} s " + _check(first < t),
            f"click on Charts → drawn {_ms(pc['click_to_drawn_s'][0])}; the request "
            f"{_ms(pc['request_s'][0])}" + (
                f"; plotly.js ({sum(j['bytes'] for j in js) / 2**20:,.1f} MiB) fetched in "
                f"{_ms(max(j['end'] for j in js) / 1e3 - min(j['start'] for j in js) / 1e3)}"
                if js else ""))
        if warm:
            add("  request → drawn, plotly.js loaded before", _ms(_med(warm)), _ms(max(warm)),
                f"<{t:.0f} s " + _check(max(warm) < t),
                f"n={len(warm)} (p95 column: the slowest); the request "
                f"{_ms(_med(pc['request_s'][1:]))}, then {_ms(_med(pc['after_response_s'][1:]))}"
                f" to draw; {pc['values'][0]:,} values a dimension")
    alone = res.get("plotly_alone")
    if alone:
        add("  plotly.js alone, the same figure: a new div", _ms(alone["newDiv"][0] / 1e3),
            _ms(_med(alone["newDiv"][1:]) / 1e3) if alone["newDiv"][1:] else "", "",
            "a blank page; median column: the first, p95 column: the median of the later "
            "ones (each a new WebGL context, as the view's panel makes)")
        add("  plotly.js alone: again into the same div", _ms(_med(alone["sameDiv"]) / 1e3),
            _ms(max(alone["sameDiv"]) / 1e3), "", "Plotly.react on the drawn div: no new context")
    prof = summ.get("profile")
    if prof:
        add("  in process: runs_chart", note=f"{_ms(prof['figure_s'])} "
                                             f"(+JSON {_ms(prof['encode_s'])})")
