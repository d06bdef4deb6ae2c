"""One step of a pipeline run, in a process of its own: papermill executes the notebook with
the step's parameters, the kernel learns which pipeline run and step it belongs to (the runs
it tracks are tagged with them), and the executed notebook is stored as a blob.

This is what `jupyter mlops pipeline run-step` runs, for the local runner (here, or on a Dask
cluster's workers) and for the Airflow, Argo and Kubernetes exports alike."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from .. import config
from ..store import get_store
from ..store.tables import pipeline_runs, step_runs
from .spec import dump, load_spec

EXIT = {"finished": 0, "failed": 1, "killed": 3}


def external_run_id(text: str) -> str:
    """A pipeline run id from an orchestrator's own run id (Airflow's, Argo's): 32 hex."""
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return text
    return uuid.uuid5(uuid.NAMESPACE_URL, f"jupyter-mlops:{text}").hex


def ensure_pipeline_run(name: str, run_id: str, params: dict[str, Any], trigger: str) -> None:
    """The pipeline run row, created when an orchestrator runs a step first (after checking
    that every parameter given is one the pipeline has)."""
    from .params import check_given

    spec = load_spec(name)
    check_given(spec, params)
    store = get_store()
    now = time.time()
    with store.write("pipeline", name, "run") as conn:
        exists = conn.execute(select(pipeline_runs.c.id).where(pipeline_runs.c.id == run_id)).first()
        if exists is not None and trigger == "external":  # a retry opens a closed run again
            conn.execute(update(pipeline_runs).where(
                pipeline_runs.c.id == run_id, pipeline_runs.c.trigger == "external")
                .values(status="running", ended_at=None, error=None, heartbeat=now))
        if exists is None:
            conn.execute(pipeline_runs.insert().values(
                id=run_id, pipeline=name, status="running", trigger=trigger,
                params=json.dumps(params, default=str), spec=dump(spec), started_at=now,
                heartbeat=now, started_by=store.actor))


def run_step(name: str, step_name: str, run_id: str, attempt: int = 1,
             params: dict[str, Any] | None = None, step_id: str | None = None) -> str:
    """Execute one step; returns its status: finished, failed or killed. With `step_id`, the
    attempt's row exists (a Dask task claimed it, recording its worker) and is the one
    recorded into; when it is no longer running (its worker was declared lost meanwhile),
    the step does not run."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    spec = load_spec(name)
    step = spec.step(step_name)
    values = spec.parameters(step, params)
    root = Path(config.load().project_root)
    notebook = root / step.notebook
    store = get_store()
    with store.write("pipeline_run", run_id, f"{step_name} running") as conn:
        if step_id is None:
            step_id = uuid.uuid4().hex
            conn.execute(step_runs.insert().values(
                id=step_id, pipeline_run_id=run_id, step=step_name, attempt=attempt,
                status="running", params=json.dumps(values, default=str),
                started_at=time.time()))
        elif not conn.execute(update(step_runs).where(
                step_runs.c.id == step_id, step_runs.c.status == "running").values(
                params=json.dumps(values, default=str), started_at=time.time())).rowcount:
            return "killed"
    os.environ.update({"MLOPS_PIPELINE_RUN_ID": run_id, "MLOPS_STEP_ID": step_id,
                       "MLOPS_NOTEBOOK": str(notebook.resolve()),
                       "MLOPS_PROJECT_ROOT": str(root.resolve())})
    status, error, failed_cell, digest = "finished", None, None, None
    main = threading.current_thread() is threading.main_thread()  # signals need the main thread
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None  # timeout/eviction
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / notebook.name
        try:
            pm.execute_notebook(str(notebook), str(output), parameters=values,
                                cwd=str(notebook.parent), kernel_name=step.kernel or "python3",
                                progress_bar=False, log_output=False)
        except Terminated:
            status, error = "killed", "stopped by SIGTERM (a timeout, a deadline or an eviction)"
        except PapermillExecutionError as exc:
            status, error = "failed", f"{exc.ename}: {exc.evalue}"
            failed_cell = exc.cell_index  # in the executed notebook (after the injected cell)
        except Exception as exc:  # DeadKernelError: the kernel died (killed, out of memory)
            dead = type(exc).__name__ == "DeadKernelError"
            status = "killed" if dead else "failed"
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
        if output.exists():
            digest, _ = store.artifacts.put_file(output)
    with store.write("pipeline_run", run_id, f"{step_name} {status}") as conn:
        conn.execute(update(step_runs).where(step_runs.c.id == step_id).values(
            status=status, ended_at=time.time(), error=error, failed_cell=failed_cell,
            notebook_digest=digest))
        close_external_run(conn, spec, run_id)
    return status


def die_with_parent(pid: int, interval: float = 0.5) -> None:
    """Kill this process's group as soon as process `pid`, its parent, is gone: a step a Dask
    worker started lives in a session of its own (so a timeout can kill its group), which
    the worker's death does not reach. Its kernel follows by itself: ipykernel's parent
    poller exits once the kernel's parent (this process) is gone."""

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(interval)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="mlops-parent-watch", daemon=True).start()


class Terminated(BaseException):
    """SIGTERM arrived while the step ran (a BaseException, so no library swallows it)."""


def _terminated(signum, frame) -> None:
    raise Terminated()


def close_external_run(conn, spec, run_id: str) -> None:
    """A run an orchestrator drives (Airflow, Argo) has no runner to close it: once every
    step's latest attempt has ended, it is finished (all finished) or failed; a later retry
    opens it again."""
    row = conn.execute(select(pipeline_runs.c.trigger).where(pipeline_runs.c.id == run_id)).first()
    if row is None or row.trigger != "external":
        return
    latest: dict[str, str] = {}
    for step, status in conn.execute(select(step_runs.c.step, step_runs.c.status)
                                     .where(step_runs.c.pipeline_run_id == run_id)
                                     .order_by(step_runs.c.attempt, step_runs.c.started_at)):
        latest[step] = status
    open_steps = [s.name for s in spec.steps if latest.get(s.name) in (None, "running")]
    failed = sorted(s for s, status in latest.items() if status not in ("finished", "running"))
    if open_steps and not failed:
        status, ended, error = "running", None, None
    elif open_steps:  # a failure: its dependents will not run, unless the orchestrator retries
        status, ended, error = "failed", time.time(), "; ".join(f"step {s} {latest[s]}" for s in failed)
    else:
        status = "finished" if not failed else "failed"
        ended = time.time()
        error = "; ".join(f"step {s} {latest[s]}" for s in failed) or None
    conn.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(
        status=status, ended_at=ended, error=error, heartbeat=time.time()))
