"""Pipeline steps on a Dask cluster: each attempt of a step is a task that runs, on a worker,
the same attempt as the local runner (`runner._attempt`: a `run-step` process with its own
kernel, in its own process group, killed on timeout). The runner keeps the DAG, the retries,
the backoff and `resume` on the client; a retry is a new task.

Dask never runs a step behind the runner's back: tasks are submitted with `retries=0`, and
when the scheduler re-runs a task whose worker died (its `allowed-failures`), the re-run
finds the attempt already claimed in the store, closes it as killed and returns without
running it. The runner then retries it, on a live worker, if the step has retries left."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..store import get_store
from ..store.tables import step_runs

if TYPE_CHECKING:
    from ..executors.dask import DaskExecutor
    from .spec import PipelineSpec, Step

LOST = "the worker running it was lost"


def check_project(executor: DaskExecutor, spec: PipelineSpec) -> None:
    """Refuse (ExecutorError, before anything is submitted) a cluster whose workers do not
    all see the pipeline's spec and its steps' notebooks where this process does: a worker
    on another host needs the project at the same path (a shared file system, or the same
    checkout or image)."""
    from .. import config
    from ..executors import ExecutorError
    from .spec import spec_path

    root = Path(config.load().project_root).resolve()
    files = [str(spec_path(spec.name).resolve()),
             *sorted({str((root / s.notebook).resolve()) for s in spec.steps})]
    answers = executor.client.run(_missing, files, on_error="return")
    failed = {addr: why for addr, why in answers.items() if why}
    if failed:
        lines = "; ".join(f"{addr}: {why}" for addr, why in sorted(failed.items()))
        raise ExecutorError(f"{len(failed)} of {len(answers)} Dask worker(s) do not see the "
                            f"project of pipeline {spec.name!r} ({lines}); each worker needs "
                            f"the project at {root} (a shared file system, or the same "
                            "checkout); nothing was submitted")


def _missing(files: list[str]) -> str | None:
    """On a worker: which of `files` it does not see, or None."""
    absent = [f for f in files if not Path(f).is_file()]
    return None if not absent else f"no {', '.join(absent)}"


def dask_attempt(executor: DaskExecutor, spec: PipelineSpec, step: Step, run_id: str,
                 attempt: int, params: dict[str, Any]) -> tuple[str, str]:
    """One attempt of `step` as a task on the cluster, waited for; (status, output) as the
    local attempt gives them. A task lost with its worker (KilledWorker, a cancelled future, a
    closed connection) closes the attempt as killed."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    future = executor.submit(_task, spec, step, run_id, attempt, params,
                             key=f"mlops-step-{run_id}-{step.name}-{attempt}")
    try:
        return future.result()
    except (KilledWorker, CancelledError, CommClosedError) as exc:
        from .runner import _close_attempt

        status = _close_attempt(run_id, step.name, attempt, "killed",
                                f"{LOST} ({type(exc).__name__})")
        return status, ""
    finally:
        future.release()


def _task(spec: PipelineSpec, step: Step, run_id: str, attempt: int,
          params: dict[str, Any]) -> tuple[str, str]:
    """On a worker (in the client's project settings): claim the attempt, then run it as the
    local runner does. A task that finds its attempt claimed already is Dask's re-run after
    a lost worker: it closes the attempt as killed (unless it ended) and runs nothing."""
    from distributed import get_worker

    from .runner import _attempt

    step_id, status = _claim(run_id, step.name, attempt, params, get_worker().address)
    if step_id is None:
        return status, ""
    status, output = _attempt(spec, step, run_id, attempt, params, step_id=step_id)
    return status, output[-65536:]


def _claim(run_id: str, step: str, attempt: int, params: dict[str, Any],
           worker: str) -> tuple[str | None, str]:
    """In one transaction: the attempt's row inserted, running on `worker` (its id, "running"),
    or, when it has one already, (None, its status), closed as killed if it was running."""
    from .runner import _lock_starts, close_attempt_in

    with get_store().write("pipeline_run", run_id, f"{step} running") as conn:
        _lock_starts(conn, f"{run_id}/{step}/{attempt}")
        claimed = conn.execute(select(step_runs.c.id).where(
            step_runs.c.pipeline_run_id == run_id, step_runs.c.step == step,
            step_runs.c.attempt == attempt)).first()
        if claimed is not None:
            return None, close_attempt_in(conn, run_id, step, attempt, "killed", LOST)
        step_id = uuid.uuid4().hex
        conn.execute(step_runs.insert().values(
            id=step_id, pipeline_run_id=run_id, step=step, attempt=attempt, status="running",
            params=json.dumps(params, default=str), started_at=time.time(), worker=worker))
        return step_id, "running"
