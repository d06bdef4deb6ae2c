"""Durability of tracked data: many processes logging at once, SIGKILL, the background flush,
a store that fails under a running run, and how runs end when their code fails or exits."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from jupyter_mlops.errors import StoreError
from jupyter_mlops.store import get_store, reset
from jupyter_mlops.store.tables import metric_chunks
from jupyter_mlops.tracking.writer import StoreUnavailableWarning, writer_for

REPO = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that imports this source tree (and the test's store)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _python(code: str, cwd: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _metric_rows(run_id: str | None = None) -> int:
    """Metric points in the store (summed over the packed chunks)."""
    query = select(func.coalesce(func.sum(metric_chunks.c.count), 0))
    if run_id is not None:
        query = query.where(metric_chunks.c.run_id == run_id)
    with get_store().read() as conn:
        return conn.execute(query).scalar_one()


# --------------------------------------------------------------------------- concurrency

_LOGGER = r"""
import os, sys, time
import jupyter_mlops as m
from jupyter_mlops.tracking import fluent, search  # import everything before the start line
i, n, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
with m.start_run(name=f"p{i}"):
    for s in range(n):
        m.log_metric("x", i * 1_000_000 + s)
        if s % 1000 == 0:
            m.log_metric("every_1000", s / 1000, step=s)
print("ok", flush=True)
"""


@pytest.mark.slow
def test_eight_processes_log_ten_thousand_points_each(backend, project, mlops):
    procs_n, points = 8, 10_000
    with mlops.start_run(name="setup"):
        pass  # PostgreSQL needs no creation race here; the SQLite one has its own test
    go = project / "go"
    procs = [_python(_LOGGER, project, str(i), str(points), str(go)) for i in range(procs_n)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "ok" and err.strip() == "", err

    assert _metric_rows() == procs_n * (points + points // 1000)
    frame = mlops.search_runs(filter="name LIKE 'p%'", order_by="name")
    assert frame["name"].tolist() == [f"p{i}" for i in range(procs_n)]
    assert set(frame["status"]) == {"finished"}
    for i, run_id in enumerate(frame["run_id"]):
        run = mlops.get_run(run_id)
        assert run.metrics == {"x": i * 1_000_000 + points - 1, "every_1000": 9.0}
        assert frame.loc[i, "metrics.x"] == i * 1_000_000 + points - 1
        history = run.metric_history("x")
        assert history["step"].tolist() == list(range(points))
        assert history["value"].tolist() == [float(i * 1_000_000 + s) for s in range(points)]


# --------------------------------------------------------------------------- SIGKILL

_VICTIM = r"""
import sys, time
import jupyter_mlops as m
every = int(sys.argv[1])
run = m.start_run(name="victim")
m.log_param("every", every)
print("run", run.id, flush=True)
n = 0
while True:
    m.log_metric("x", float(n))
    n += 1
    if n % every == 0:
        m.flush()
        print("flushed", n, flush=True)
        time.sleep(0.001)
"""


def test_sigkill_keeps_every_flushed_point_and_shows_the_run_killed(backend, project, mlops,
                                                                     monkeypatch):
    monkeypatch.setenv("MLOPS_HEARTBEAT_INTERVAL", "0.2")
    monkeypatch.setenv("MLOPS_HEARTBEAT_TIMEOUT", "1")
    proc = _python(_VICTIM, project, "250")
    try:
        kind, run_id = proc.stdout.readline().split()
        assert kind == "run"
        flushed = 0
        while flushed < 3000:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            flushed = int(line.split()[1])
        assert mlops.get_run(run_id).status == "running"  # it beats
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    flushed = max([flushed] + [int(line.split()[1]) for line in out.splitlines()])
    history = mlops.get_run(run_id).metric_history("x")
    steps = history["step"].tolist()
    assert steps[:flushed] == list(range(flushed))  # every point flushed before is there
    assert steps == list(range(len(steps)))  # and nothing twice or out of place
    assert history["value"].tolist() == [float(s) for s in steps]
    assert mlops.get_run(run_id).metrics["x"] == float(len(steps) - 1)

    time.sleep(1.5)  # the heartbeat stopped with the process
    run = mlops.get_run(run_id)
    assert run.status == "killed" and run.params == {"every": 250}
    assert mlops.search_runs(filter="status = 'killed'")["run_id"].tolist() == [run_id]
    assert mlops.search_runs(filter="status = 'running'").empty


_IDLE = r"""
import sys, time
import jupyter_mlops as m
run = m.start_run()
for s in range(100):
    m.log_metric("x", s * 0.5)
m.log_metrics({"a": 1.0, "b": 2.0}, step=7)
print(run.id, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("interval", [None, "30"])
def test_the_background_flush_writes_within_a_second(backend, project, mlops, monkeypatch,
                                                     interval):
    if interval is not None:  # a longer setting is capped at one second
        monkeypatch.setenv("MLOPS_FLUSH_INTERVAL", interval)
    proc = _python(_IDLE, project)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read()
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run = mlops.get_run(run_id)
    assert _metric_rows(run_id) == 102
    assert run.metrics == {"x": 49.5, "a": 1.0, "b": 2.0}
    assert run.metric_history("x")["value"].tolist() == [s * 0.5 for s in range(100)]


# --------------------------------------------------------------------------- a failing store


def _check_failing_store(mlops, block, unblock, points: int = 300) -> None:
    """Log while `block()` keeps the store from taking writes: one warning, points stay
    buffered, end_run says how many are left; after `unblock()` a flush writes them all."""
    run = mlops.start_run(name="under-pressure")
    writer = writer_for(run.store)
    mlops.log_metric("x", -1.0)
    mlops.flush()  # the store works: one point in
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block()
        try:
            for s in range(points):
                mlops.log_metric("x", float(s))
                if s % 100 == 0:
                    time.sleep(0.4)  # let the background thread try (and fail) meanwhile
            with pytest.raises(StoreError, match=f"{points} metric point"):
                mlops.flush()
            assert writer.pending(run.id) == points
            mlops.end_run()
            assert mlops.active_run() is None
            assert writer.pending(run.id) == points  # nothing dropped while the store was down
            if block.reads_work:
                assert _metric_rows(run.id) == 1 and mlops.get_run(run.id).status == "running"
        finally:
            unblock()
    buffered = [w for w in caught if issubclass(w.category, StoreUnavailableWarning)
                and "stay buffered" in str(w.message)]
    ended = [w for w in caught if issubclass(w.category, StoreUnavailableWarning)
             and "ended" in str(w.message)]
    assert len(buffered) == 1, [str(w.message) for w in caught]  # once, not per point or try
    assert len(ended) == 1 and f"{points} metric point(s)" in str(ended[0].message)

    mlops.flush()
    assert writer.pending() == 0 and writer.failure is None
    got = mlops.get_run(run.id)
    assert got.status == "finished"
    assert got.metrics == {"x": float(points - 1)}
    history = got.metric_history("x")
    assert history["value"].tolist() == [-1.0] + [float(s) for s in range(points)]
    assert _metric_rows(run.id) == points + 1


def test_sqlite_store_locked_under_a_run(project, mlops, monkeypatch):
    monkeypatch.setenv("MLOPS_BUSY_TIMEOUT", "0.2")
    get_store()  # create it
    db = project / ".mlops" / "mlops.db"
    holder = sqlite3.connect(db, isolation_level=None)

    def block():
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock

    def unblock():
        if holder.in_transaction:
            holder.execute("ROLLBACK")

    block.reads_work = True  # WAL: readers are not blocked
    try:
        _check_failing_store(mlops, block, unblock)
    finally:
        holder.close()


@pytest.mark.postgres
def test_postgres_unreachable_under_a_run(pg_uri, project, mlops):
    """The database stops taking connections (and drops the open ones) while a run logs."""
    import psycopg
    from conftest import PG_ADMIN

    name = pg_uri.rsplit("/", 1)[1]

    def admin(sql: str) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)

    def block():
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    def unblock():
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    block.reads_work = False
    _check_failing_store(mlops, block, unblock)


_LOCKED_AT_EXIT = r"""
import sys
import jupyter_mlops as m
run = m.start_run(name="locked-at-exit")
print(run.id, flush=True)
sys.stdin.readline()  # the test locks the store, then lets it go on
for s in range(20):
    m.log_metric("x", float(s))
"""


def test_points_that_cannot_be_written_at_exit_are_reported(project, mlops, monkeypatch):
    monkeypatch.setenv("MLOPS_BUSY_TIMEOUT", "0.2")
    get_store()
    holder = sqlite3.connect(project / ".mlops" / "mlops.db", isolation_level=None)
    try:
        proc = _python(_LOCKED_AT_EXIT, project, stdin=subprocess.PIPE)
        run_id = proc.stdout.readline().strip()
        holder.execute("BEGIN EXCLUSIVE")
        _, err = proc.communicate("\n", timeout=60)
    finally:
        holder.close()
    assert proc.returncode == 0
    # not silent: the user learns how many points did not make it
    assert "20 metric point(s) could not be written" in err and "before exit" in err
    assert mlops.get_run(run_id).metrics == {}


# --------------------------------------------------------------------------- how runs end


def test_an_exception_fails_the_run_and_propagates(backend, mlops):
    with pytest.raises(ZeroDivisionError), mlops.start_run(name="boom") as run:
        mlops.log_metric("before", 1.0)
        1 / 0  # noqa: B018
    assert mlops.active_run() is None
    got = mlops.get_run(run.id)
    assert got.status == "failed" and got.metrics == {"before": 1.0}
    assert got.info["error"] == "ZeroDivisionError: division by zero"
    assert got.info["end_time"] is not None
    assert mlops.search_runs(filter="status = 'failed'")["run_id"].tolist() == [run.id]


_SCRIPT_EXIT = r"""
import sys
import jupyter_mlops as m
run = m.start_run(name="script")
print(run.id, flush=True)
for s in range(50):
    m.log_metric("x", float(s))
m.log_params({"mode": sys.argv[1]})
if sys.argv[1] == "raise":
    raise ValueError("boom at the end")
"""


@pytest.mark.parametrize("mode", ["exit", "raise"])
def test_a_script_ending_with_an_open_run(backend, project, mlops, mode):
    proc = _python(_SCRIPT_EXIT, project, mode)
    out, err = proc.communicate(timeout=60)
    run = mlops.get_run(out.strip())
    if mode == "exit":
        assert proc.returncode == 0 and err == ""
        assert run.status == "finished" and run.info["error"] is None
    else:
        assert proc.returncode == 1 and "ValueError: boom at the end" in err
        assert run.status == "failed" and run.info["error"] == "ValueError: boom at the end"
    assert run.info["end_time"] is not None
    assert run.metric_history("x")["value"].tolist() == [float(s) for s in range(50)]
    assert run.params == {"mode": mode}


# --------------------------------------------------------------------------- buffering


def test_flush_batches_and_latest_values(backend, mlops):
    with mlops.start_run() as run:
        writer = writer_for(run.store)
        for s in range(2000):
            mlops.log_metric("loss", 1.0 / (s + 1))
        mlops.log_metrics({"acc": 0.5, "f1": 0.4}, step=3)
        mlops.flush()
        assert writer.pending() == 0 and _metric_rows(run.id) == 2002
        mlops.log_metrics({"acc": 0.7}, step=1)  # an older step, logged later: not latest
        mlops.log_metric("loss", 9.0, step=1999, timestamp=time.time() + 1)  # same step, newer
        time.sleep(1.5)  # the background thread writes without being asked
        assert writer.pending() == 0 and _metric_rows(run.id) == 2004
    got = mlops.get_run(run.id)
    assert got.metrics == {"loss": 9.0, "acc": 0.5, "f1": 0.4}
    assert len(got.metric_history("loss")) == 2001
    frame = mlops.search_runs(filter="metrics.acc = 0.5 and metrics.loss > 8")
    assert frame["run_id"].tolist() == [run.id]


def test_reading_an_active_run_sees_its_buffered_points(backend, mlops):
    with mlops.start_run() as run:
        mlops.log_metric("m", 1.0)
        assert mlops.get_run(run.id).metrics == {"m": 1.0}  # flushed on read
        assert len(run.metric_history("m")) == 1


def test_store_reopened_between_cases_keeps_points(backend, mlops):
    """forget/reset (as tests and settings changes do) flush before dropping the writer."""
    from jupyter_mlops.tracking.writer import forget_all

    with mlops.start_run() as run:
        for s in range(10):
            mlops.log_metric("m", float(s))
        forget_all()
        mlops.end_run()
    reset()
    assert mlops.get_run(run.id).metric_history("m")["value"].tolist() == [
        float(s) for s in range(10)]
    with get_store().read() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1


def test_a_run_deleted_while_it_logs_does_not_block_later_runs(backend, mlops):
    """Someone purges a run (CLI, sidebar) while a notebook still logs to it: its points are
    dropped with a warning instead of blocking every later write of the process."""
    from jupyter_mlops.tracking.manage import delete_run

    doomed = mlops.start_run(name="doomed")
    mlops.log_metric("x", 1.0)
    mlops.flush()
    delete_run(doomed.id, purge=True)
    mlops.log_metric("x", 2.0)
    mlops.log_metric("x", 3.0)
    with pytest.warns(RuntimeWarning, match="deleted from the store.*2 metric point"):
        mlops.flush()
    mlops.end_run()
    with mlops.start_run(name="next") as nxt:
        mlops.log_metric("y", 1.0)
    writer = writer_for(get_store())
    assert writer.pending() == 0 and writer.failure is None
    got = mlops.get_run(nxt.id)
    assert got.status == "finished" and got.metrics == {"y": 1.0}
    assert mlops.search_runs()["name"].tolist() == ["next"]
