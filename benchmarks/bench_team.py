#!/usr/bin/env python
"""Team benchmark: what roles and row-level security cost on PostgreSQL.

    python benchmarks/bench_team.py [--quick]

The same work, by the same NOSUPERUSER login role, into two fresh databases: one made a team
store (`team init`, the role a contributor: every write through the policies, the actor
triggers and the ownership checks) and one plain store (never `team init`-ed; the role given
the table grants it needs and nothing else). Runs created per second (the tracking benchmark's
runs: 20 params and 10 metrics each), durable metric points per second (log_metric calls until
end_run returns, the rows counted afterwards), and search_runs over the runs made (the tracking
benchmark's filter). Every measurement is a fresh process on a fresh database; the two stores
alternate, which goes first changing each repetition. Goal: under 10 % slower with security
on. Prints a table and writes benchmarks/results/team-<date>.json and .txt. See
benchmarks/README.md.

The same file is the worker the driver starts: `bench_team.py --worker TASK JSON`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import Driver, med, run_worker, save, table
from _common import code_digest as _code_digest
from _common import git_describe as _git_describe
from _common import secs as _secs
from bench_tracking import EXPERIMENT, PG_ADMIN, ROOT, SEARCH_FILTER, expected_hits, run_values

WRITER = "bench_team_writer"  # the login role both stores are written by
DATABASES = {"plain": "mlops_bench_plain", "team": "mlops_bench_team"}
GOAL = 0.10  # at most this much slower with security on

FULL = {"reps": 7, "runs": 10_000, "runs_reps": 3, "points": 500_000, "search_reps": 5}
QUICK = {"reps": 2, "runs": 1_000, "runs_reps": 2, "points": 10_000, "search_reps": 5}


# -- worker tasks (each in a fresh process) -------------------------------------------------------
def task_prepare(a: dict) -> dict:
    """As the cluster's owner: a fresh database, upgraded, made a team store with WRITER a
    contributor, or (plain) with WRITER granted what the library writes."""
    import psycopg

    from jupyter_mlops.store import Store
    from jupyter_mlops.team import setup

    db = a["db"]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (WRITER,)).fetchone():
            conn.execute(f"CREATE ROLE {WRITER} LOGIN NOSUPERUSER NOBYPASSRLS")
    uri = f"postgresql://postgres@127.0.0.1:5432/{db}"
    store = Store(uri, a["artifacts"], check=False)
    store.upgrade()
    if a["variant"] == "team":
        setup.init(store)
        setup.add(WRITER, "contributor", store=store)
    else:
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                         f"TO {WRITER}")
            conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {WRITER}")
    store.dispose()
    return {}


def _store_facts() -> dict:
    """What the store says about itself and the connection: the proof of which kind it is."""
    from jupyter_mlops.store import get_store

    store = get_store()
    with store.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user), "
            "current_setting('synchronous_commit'), current_setting('fsync')").one()
    return {"team": store.team, "user": row[0], "superuser": row[1],
            "synchronous_commit": row[2], "fsync": row[3]}


def task_runs(a: dict) -> dict:
    """a["runs"] runs (start, 20 params, 10 metrics, end), timed as a whole and by thousand."""
    import jupyter_mlops as mlops

    n = a["runs"]
    data = [run_values(i) for i in range(n)]
    chunks = []
    t0 = chunk = time.perf_counter()
    for i in range(n):
        params, metrics = data[i]
        mlops.start_run(name=f"run-{i}", experiment=EXPERIMENT)
        mlops.log_params(params)
        mlops.log_metrics(metrics)
        mlops.end_run()
        if (i + 1) % 1000 == 0:
            now = time.perf_counter()
            chunks.append(now - chunk)
            chunk = now
    return {"runs": n, "seconds": time.perf_counter() - t0, "chunks": chunks,
            "facts": _store_facts()}


def task_search(a: dict) -> dict:
    """The first search_runs of a fresh process (the library imported untimed), then more."""
    import jupyter_mlops as mlops

    def search():
        return mlops.search_runs(experiment=EXPERIMENT, filter=SEARCH_FILTER)

    t0 = time.perf_counter()
    frame = search()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(a["reps"]):
        t0 = time.perf_counter()
        frame = search()
        times.append(time.perf_counter() - t0)
    return {"cold_s": cold, "times": times, "rows": len(frame), "facts": _store_facts()}


def task_metrics(a: dict) -> dict:
    """a["points"] log_metric calls into one run; durable when end_run returns."""
    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store

    n = a["points"]
    values = [i * 1e-5 for i in range(n)]
    run = mlops.start_run(name="metrics", experiment=EXPERIMENT)
    log_metric = mlops.log_metric
    t0 = time.perf_counter()
    for i in range(n):
        log_metric("loss", values[i], step=i)
    t1 = time.perf_counter()
    mlops.end_run()
    t2 = time.perf_counter()
    with get_store().read() as conn:
        stored = conn.exec_driver_sql(
            f"SELECT coalesce(sum(count), 0) FROM metric_chunks WHERE run_id = '{run.id}'"
        ).scalar()
    return {"points": n, "calls_s": t1 - t0, "durable_s": t2 - t0, "stored": int(stored),
            "facts": _store_facts()}


def task_drop(a: dict) -> dict:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for db in DATABASES.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {WRITER}")
    return {}


def task_versions(a: dict) -> dict:
    import psycopg

    import jupyter_mlops

    with psycopg.connect(PG_ADMIN) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return {"python": platform.python_version(), "jupyter_mlops": jupyter_mlops.__version__,
            "postgresql": server}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# -- the driver -----------------------------------------------------------------------------------
class Bench(Driver):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.python = args.python or sys.executable
        self.work = Path(tempfile.mkdtemp(prefix="mlops-bench-team-"))
        self.results: dict = {"plain": {"runs": [], "search": [], "metrics": []},
                              "team": {"runs": [], "search": [], "metrics": []}}
        self.errors: list[str] = []

    def env(self, variant: str | None = None) -> dict:
        """The working tree first on the path; a store of `variant` logged in as WRITER."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env["MLOPS_PROJECT_ROOT"] = str(self.work)
        env["MLOPS_ARTIFACT_URI"] = str(self.work / "artifacts")
        if variant is not None:
            env["MLOPS_STORE_URI"] = f"postgresql://{WRITER}@127.0.0.1:5432/{DATABASES[variant]}"
        return env

    def worker(self, task: str, args: dict, variant: str | None = None) -> dict:
        return run_worker(self.python, Path(__file__).resolve(), task, args,
                          env=self.env(variant), cwd=self.work, timeout=3600,
                          label=f"{variant or ''} ")

    def prepare(self, variant: str) -> None:
        self.worker("prepare", {"db": DATABASES[variant], "variant": variant,
                                "artifacts": str(self.work / "artifacts")})

    @staticmethod
    def order(rep: int) -> tuple[str, str]:
        return ("plain", "team") if rep % 2 == 0 else ("team", "plain")

    def bench_runs(self) -> None:
        s = self.sizes
        for rep in range(s["runs_reps"]):
            for variant in self.order(rep):
                self.log(f"runs {rep + 1}/{s['runs_reps']}: {variant}, {s['runs']:,} runs")
                self.prepare(variant)
                r = self.attempt(f"{variant} runs", self.worker, "runs", {"runs": s["runs"]},
                                 variant)
                if r:
                    self.results[variant]["runs"].append(r)
                    r = self.attempt(f"{variant} search", self.worker, "search",
                                     {"reps": s["search_reps"]}, variant)
                    if r:
                        self.results[variant]["search"].append(r)

    def bench_metrics(self) -> None:
        s = self.sizes
        for rep in range(s["reps"]):
            for variant in self.order(rep):
                self.log(f"metrics {rep + 1}/{s['reps']}: {variant}, {s['points']:,} points")
                self.prepare(variant)
                r = self.attempt(f"{variant} metrics", self.worker, "metrics",
                                 {"points": s["points"]}, variant)
                if r:
                    self.results[variant]["metrics"].append(r)

    def run(self) -> dict:
        self.t_start = time.perf_counter()
        meta = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "mode": "quick" if self.args.quick else "full", "sizes": self.sizes,
                "only": self.args.only,
                "filter": SEARCH_FILTER, "writer": WRITER, "databases": DATABASES,
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                "git": _git_describe(), "code_digest": _code_digest(),
                "versions": self.worker("versions", {})}
        self.results["meta"] = meta
        try:
            if self.args.only in (None, "metrics"):
                self.bench_metrics()
            if self.args.only in (None, "runs"):
                self.bench_runs()
        finally:
            self.attempt("drop the scratch databases and role", self.worker, "drop", {})
            shutil.rmtree(self.work, ignore_errors=True)
        if _code_digest() != meta["code_digest"]:
            self.errors.append("jupyter_mlops/ changed while the benchmark ran: run it again")
        self.results["errors"] = self.errors
        self.results["elapsed_s"] = time.perf_counter() - self.t_start
        self.results["summary"] = summarize(self.results)
        return self.results


# -- summary and table ----------------------------------------------------------------------------
def summarize(res: dict) -> dict:
    out: dict = {}
    for variant in ("plain", "team"):
        sec = res[variant]
        runs, search, metrics = sec["runs"], sec["search"], sec["metrics"]
        facts = [r["facts"] for r in runs + search + metrics]
        out[variant] = {
            "runs_per_s": med([r["runs"] / r["seconds"] for r in runs]),
            "runs_per_s_last_1000": med([1000 / r["chunks"][-1] for r in runs if r["chunks"]]),
            "search_s": med([med(r["times"]) for r in search]),
            "search_first_s": med([r["cold_s"] for r in search]),
            "search_rows_ok": all(r["rows"] == expected_hits(res["meta"]["sizes"]["runs"])
                                  for r in search),
            "durable_points_per_s": med([r["points"] / r["durable_s"] for r in metrics]),
            "calls_per_s": med([r["points"] / r["calls_s"] for r in metrics]),
            "stored_ok": all(r["stored"] == r["points"] for r in metrics),
            "store_ok": bool(facts) and all(
                f["team"] == (variant == "team") and not f["superuser"] and f["user"] == WRITER
                for f in facts),
            "durability": facts[0] if facts else None,
            "reps": {"runs": len(runs), "metrics": len(metrics)}}
    plain, team = out["plain"], out["team"]

    def slower_rate(key: str) -> float | None:
        return 1 - team[key] / plain[key] if team[key] and plain[key] else None

    def slower_time(key: str) -> float | None:
        return team[key] / plain[key] - 1 if team[key] and plain[key] else None

    out["slower"] = {"runs_per_s": slower_rate("runs_per_s"),
                     "durable_points_per_s": slower_rate("durable_points_per_s"),
                     "calls_per_s": slower_rate("calls_per_s"),
                     "search_s": slower_time("search_s"),
                     "search_first_s": slower_time("search_first_s")}
    return out


def render(res: dict) -> str:
    summ, sizes, meta = res["summary"], res["meta"]["sizes"], res["meta"]
    plain, team, slower = summ["plain"], summ["team"], summ["slower"]

    def rate(x: float | None) -> str:
        return "—" if x is None else f"{x:,.0f}/s"

    def pct(key: str, goal: bool = True) -> str:
        x = slower[key]
        if x is None:
            return "—"
        mark = ("  ✓" if x < GOAL else "  ✗ MISSED") if goal else ""
        return f"{x * 100:+.1f} %{mark}"

    rows = [
        (f"runs/s, {sizes['runs']:,} runs of 20 params and 10 metrics", rate(plain["runs_per_s"]),
         rate(team["runs_per_s"]), pct("runs_per_s"),
         f"last 1,000: {rate(plain['runs_per_s_last_1000'])} / "
         f"{rate(team['runs_per_s_last_1000'])}"),
        (f"durable metric points/s, {sizes['points']:,} log_metric in one run",
         rate(plain["durable_points_per_s"]), rate(team["durable_points_per_s"]),
         pct("durable_points_per_s"),
         "stored ok" if plain["stored_ok"] and team["stored_ok"] else "✗ ROWS MISSING"),
        ("log_metric calls/s (buffered)", rate(plain["calls_per_s"]),
         rate(team["calls_per_s"]), pct("calls_per_s", goal=False), ""),
        (f"search_runs over {sizes['runs']:,} runs (warm, median of {sizes['search_reps']})",
         _secs(plain["search_s"]), _secs(team["search_s"]), pct("search_s"),
         "rows ok" if plain["search_rows_ok"] and team["search_rows_ok"] else "✗ WRONG ROWS"),
        ("the same, first in the process", _secs(plain["search_first_s"]),
         _secs(team["search_first_s"]), pct("search_first_s", goal=False), ""),
    ]
    d = plain["durability"] or {}
    head = (f"team benchmark, {meta['mode']} mode, {meta['date']}: jupyter-mlops "
            f"{meta['versions']['jupyter_mlops']} (git {meta['git']['commit'][:8]}"
            f"{', dirty' if meta['git']['dirty'] else ''}), PostgreSQL "
            f"{meta['versions']['postgresql']}, {meta['machine']['cpus']} CPUs; both stores "
            f"written by {meta['writer']} (NOSUPERUSER), synchronous_commit "
            f"{d.get('synchronous_commit')}, fsync {d.get('fsync')}; medians of "
            f"{plain['reps']['metrics']} (metrics) and {plain['reps']['runs']} (runs, search)")
    checks = "stores as claimed" if plain["store_ok"] and team["store_ok"] else \
        "✗ A STORE WAS NOT WHAT IT CLAIMS (team flag, user or superuser)"
    tail = [checks, f"elapsed {res['elapsed_s'] / 60:.1f} min"]
    tail += [f"ERROR {e.splitlines()[0]}" for e in res["errors"]]
    lines = table(("figure", "plain store", "team store", "team slower by", "notes"), rows)
    return "\n".join([head, "", *lines, "", *tail])


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        from _common import worker_main

        worker_main(TASKS, sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--python", help="jupyter-mlops's Python (default: this one)")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/team-<date>.json)")
    ap.add_argument("--only", choices=("metrics", "runs"),
                    help="one part: durable metric points, or runs and search_runs")
    ap.add_argument("--render", metavar="JSON", help="print the table of a results file, no run")
    args = ap.parse_args()
    if args.render:
        results = json.loads(Path(args.render).read_text())
        results["summary"] = summarize(results)
        print(render(results))
        return
    save(Bench(args).run(), render, "team", args.quick, args.out)


if __name__ == "__main__":
    main()
