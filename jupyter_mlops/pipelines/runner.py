"""The runner: a pipeline's steps in dependency order, independent steps in parallel, each
step in its own process (`jupyter mlops pipeline run-step`, so each has its own kernel and
environment), with retries and backoff, a timeout per step, and a record of everything in the
store. A failed step stops its dependents; `resume` re-runs only what did not finish. The
step processes run on this machine, or with `executor=` a Dask cluster's (on_dask.py): the
same attempts, each a task on a worker, scheduled and retried from here."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, update

from .. import config
from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import pipeline_runs, step_runs
from ..team.access import require_changed
from .spec import PipelineSpec, Step, dump, load_spec

if TYPE_CHECKING:
    from ..executors import Executor
    from .status import PipelineRun

DONE = "finished"
ALIVE = 120.0  # seconds: a running run whose heartbeat is older does not count as active
_PG_LOCK_SPACE = 0x6D6C6F70  # "mlop": the advisory lock space of pipeline starts on PostgreSQL


@dataclass
class StepOutcome:
    status: str  # finished, failed, killed, timeout, skipped
    attempts: int
    seconds: float
    output: str = ""


def _child_env(run_id: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MLOPS_PROJECT_ROOT"] = str(config.load().project_root)
    env.pop("MLOPS_STEP_ID", None)
    env["MLOPS_PIPELINE_RUN_ID"] = run_id
    return env


def _attempt(spec: PipelineSpec, step: Step, run_id: str, attempt: int,
             params: dict[str, Any], step_id: str | None = None) -> tuple[str, str]:
    """Run the step once in a child process; (status, captured output). With `step_id` (the
    attempt's row, which a Dask task claimed), the child records into that row, and dies with
    this process (a lost worker takes its steps with it)."""
    cmd = [sys.executable, "-m", "jupyter_mlops.cli", "pipeline", "run-step", spec.name,
           step.name, "--run-id", run_id, "--attempt", str(attempt),
           "--params-json", json.dumps(params, default=str)]
    if step_id is not None:
        cmd += ["--step-id", step_id, "--parent-pid", str(os.getpid())]
    proc = subprocess.Popen(cmd, env=_child_env(run_id), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=step.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and the kernel it started
        output, _ = proc.communicate()
        _close_attempt(run_id, step.name, attempt, "timeout",
                       f"timed out after {step.timeout} (the kernel was killed)")
        _keep_output(run_id, step.name, attempt, output)
        return "timeout", output
    status = {0: "finished", 1: "failed", 3: "killed"}.get(proc.returncode)
    if status is None:  # the child itself died before it could say
        status = "killed" if proc.returncode < 0 else "failed"
        _close_attempt(run_id, step.name, attempt, status,
                       f"the step process exited with {proc.returncode}")
    _keep_output(run_id, step.name, attempt, output)
    return status, output


def _keep_output(run_id: str, step: str, attempt: int, output: str) -> None:
    """The step process's own output (papermill, warnings), its last 64 KiB, with the attempt."""
    with get_store().write() as conn:
        conn.execute(update(step_runs).where(
            step_runs.c.pipeline_run_id == run_id, step_runs.c.step == step,
            step_runs.c.attempt == attempt).values(output=output[-65536:]))


def _close_attempt(run_id: str, step: str, attempt: int, status: str, error: str) -> str:
    """Mark an attempt the child could not close itself (timeout, crash, a lost worker)."""
    with get_store().write("pipeline_run", run_id, f"{step} {status}") as conn:
        return close_attempt_in(conn, run_id, step, attempt, status, error)


def close_attempt_in(conn: Any, run_id: str, step: str, attempt: int, status: str,
                     error: str) -> str:
    """`_close_attempt` inside the caller's transaction. The attempt's status: `status` when
    it was running or had no row yet (its process died before it wrote one); the status it
    has when it was closed already (by its own process, which ended first)."""
    updated = conn.execute(update(step_runs).where(
        step_runs.c.pipeline_run_id == run_id, step_runs.c.step == step,
        step_runs.c.attempt == attempt, step_runs.c.status == "running",
    ).values(status=status, ended_at=time.time(), error=error)).rowcount
    if updated:
        return status
    closed = conn.execute(select(step_runs.c.status).where(
        step_runs.c.pipeline_run_id == run_id, step_runs.c.step == step,
        step_runs.c.attempt == attempt)).scalars().first()
    if closed is not None:
        return closed
    conn.execute(step_runs.insert().values(
        id=uuid.uuid4().hex, pipeline_run_id=run_id, step=step, attempt=attempt,
        status=status, params="{}", started_at=time.time(), ended_at=time.time(),
        error=error))
    return status


def _inline_attempt(spec: PipelineSpec, step: Step, run_id: str, attempt: int,
                    params: dict[str, Any]) -> tuple[str, str]:
    """Run the step in this process (papermill still gives it a kernel of its own): for a
    lone step without a timeout, a second Python process would only add its start-up."""
    from .step import run_step

    keys = ("MLOPS_PIPELINE_RUN_ID", "MLOPS_STEP_ID", "MLOPS_NOTEBOOK", "MLOPS_PROJECT_ROOT")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        return run_step(spec.name, step.name, run_id, attempt, params), ""
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# one attempt of a step: (spec, step, run id, attempt, parameters) -> (status, output)
Attempt = Callable[[PipelineSpec, Step, str, int, dict[str, Any]], tuple[str, str]]


def _run_step(spec: PipelineSpec, step: Step, run_id: str, params: dict[str, Any],
              first_attempt: int, report, run: Attempt = _attempt) -> StepOutcome:
    """The step's attempts, each by `run`, until one finishes or its retries are spent."""
    started = time.monotonic()
    attempt, status, output = first_attempt, "failed", ""
    for n in range(step.retries + 1):
        attempt = first_attempt + n
        report(step.name, "running" if n == 0 else f"retry {n}/{step.retries}")
        status, output = run(spec, step, run_id, attempt, params)
        if status == DONE:
            break
        if n < step.retries:
            time.sleep(step.retry_delay_s * (2 ** n))  # backoff: delay, 2×, 4×…
    return StepOutcome(status, attempt - first_attempt + 1, time.monotonic() - started, output)


def _previous(run_id: str) -> dict[str, tuple[str, int]]:
    """For each step of a run: its latest status and attempt number."""
    with get_store().read() as conn:
        rows = conn.execute(select(step_runs.c.step, step_runs.c.status, step_runs.c.attempt)
                            .where(step_runs.c.pipeline_run_id == run_id)
                            .order_by(step_runs.c.attempt)).all()
    return {step: (status, attempt) for step, status, attempt in rows}


def queue_pipeline(conn: Any, name: str, trigger: str,
                   params: dict[str, Any] | None = None) -> str:
    """Insert a run of `name` that waits to start (inside the caller's transaction, so it
    exists exactly when what caused it does); a detached runner or the scheduler claims it."""
    spec = load_spec(name)
    run_id, now = uuid.uuid4().hex, time.time()
    conn.execute(pipeline_runs.insert().values(
        id=run_id, pipeline=name, status="queued", trigger=trigger,
        params=json.dumps(params or {}, default=str),
        spec=dump(spec), started_at=now, heartbeat=now, started_by=get_store().actor))
    return run_id


def _claim(conn: Any, spec: PipelineSpec, run_id: str) -> dict[str, Any]:
    """Turn a queued run into a running one, inside the caller's start transaction; only
    one claimer wins. Its params."""
    row = conn.execute(select(pipeline_runs.c.pipeline, pipeline_runs.c.status,
                              pipeline_runs.c.params)
                       .where(pipeline_runs.c.id == run_id)).first()
    if row is None or row.pipeline != spec.name:
        raise MLOpsUsageError(f"pipeline {spec.name!r} has no run {run_id}")
    now = time.time()
    claimed = conn.execute(update(pipeline_runs).where(
        pipeline_runs.c.id == run_id, pipeline_runs.c.status == "queued",
    ).values(status="running", started_at=now, heartbeat=now))
    if row.status == "queued":  # row-level security: someone else's run (a contributor's)
        require_changed(get_store(), claimed, 1, f"pipeline run {run_id[:8]}")
    if not claimed.rowcount:
        raise MLOpsUsageError(f"pipeline run {run_id[:8]} is {row.status}, not queued")
    return json.loads(row.params)


def _lock_starts(conn: Any, name: str) -> None:
    """Serialize the starts of `name` (a pipeline; or one attempt of a step, on_dask.py)
    until the caller's transaction ends. SQLite's write transactions already run one at a
    time (BEGIN IMMEDIATE, see store.engine); PostgreSQL takes a transaction-scoped advisory
    lock keyed by the name."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big",
                             signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                     {"space": _PG_LOCK_SPACE, "key": key})


def _refuse_beyond_limit(conn: Any, spec: PipelineSpec) -> None:
    """Refuse a start when the pipeline already has max_active_runs runs running (with a live
    heartbeat)."""
    active = conn.execute(select(pipeline_runs.c.id).where(
        pipeline_runs.c.pipeline == spec.name, pipeline_runs.c.status == "running",
        pipeline_runs.c.heartbeat > time.time() - ALIVE)).scalars().all()
    if len(active) >= spec.max_active_runs:
        raise MLOpsUsageError(f"pipeline {spec.name!r} is already running "
                              f"({', '.join(a[:8] for a in active)}); its spec allows "
                              f"max_active_runs={spec.max_active_runs}")


def _start(spec: PipelineSpec, params: dict[str, Any] | None, trigger: str,
           resume: str | None, queued: str | None) -> tuple[str, dict[str, Any] | None]:
    """Count the pipeline's active runs and start one (insert a new run, claim a queued one,
    or mark a resumed one running) in one transaction that holds the pipeline's start lock,
    so starts at once (scheduler, alert, resume, by hand) never exceed max_active_runs.
    (run id, params); a refused start writes nothing."""
    change = (("pipeline_run", queued, "started") if queued is not None else
              ("pipeline_run", resume, "resumed") if resume is not None else
              ("pipeline", spec.name, "run"))
    with get_store().write(*change) as conn:
        _lock_starts(conn, spec.name)
        _refuse_beyond_limit(conn, spec)
        if queued is not None:
            return queued, _claim(conn, spec, queued)
        if resume is not None:
            resumed = conn.execute(update(pipeline_runs).where(
                pipeline_runs.c.id == resume,
                pipeline_runs.c.status.not_in(("running", "queued", DONE)),
            ).values(status="running", ended_at=None, error=None,
                     heartbeat=time.time()))
            if not resumed.rowcount:
                status = conn.execute(select(pipeline_runs.c.status).where(
                    pipeline_runs.c.id == resume)).scalar()
                if status not in ("running", "queued", DONE):  # row-level security
                    require_changed(get_store(), resumed, 1, f"pipeline run {resume[:8]}")
                raise MLOpsUsageError(f"pipeline run {resume[:8]} is {status}: nothing to "
                                      "resume")
            return resume, params
        run_id, now = uuid.uuid4().hex, time.time()
        conn.execute(pipeline_runs.insert().values(
            id=run_id, pipeline=spec.name, status="running", trigger=trigger,
            params=json.dumps(params or {}, default=str), spec=dump(spec), started_at=now,
            heartbeat=now, started_by=get_store().actor))
        return run_id, params


def run_pipeline(name: str, params: dict[str, Any] | None = None, workers: int | None = None,
                 trigger: str = "manual", progress: bool = True,
                 resume: str | None = None, queued: str | None = None,
                 executor: Any = None) -> PipelineRun:
    """Run pipeline `name` (or, with `resume=RUN_ID`, re-run the steps of that run that did
    not finish; with `queued=RUN_ID`, start that queued run) and return the PipelineRun.
    Steps whose dependencies finished run in parallel, at most `workers` at once (default:
    as many as can run). `executor`: where the steps run, "local" (this machine) or a Dask
    cluster ("dask://host:8786", a `distributed.Client`); default the `executor` setting
    (MLOPS_EXECUTOR). On a cluster each attempt is a task on a worker and the cluster's
    threads bound the parallel steps (`workers` is refused there)."""
    from .status import get_pipeline_run

    if params is not None and not isinstance(params, dict):
        raise MLOpsUsageError(f"params must be a dict, got {type(params).__name__}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise MLOpsUsageError(f"workers must be a positive integer, got {workers!r}")
    store = get_store()
    done: dict[str, tuple[str, int]] = {}
    if resume is not None:
        old = get_pipeline_run(resume)
        name, resume, params = old.pipeline, old.id, {**old.params, **(params or {})}
        spec = load_spec(name)
        done = _previous(resume)
    elif queued is not None:
        spec = load_spec(name)
    else:
        spec = check_start(name, params)
    where = ready_executor(executor, spec, workers)
    run_id, params = _start(spec, params, trigger, resume, queued)
    params = params or {}
    outcomes = _execute(spec, run_id, params, done, workers, progress, where)
    failed = {s: o for s, o in outcomes.items() if o.status not in (DONE, "skipped")}
    skipped = [s for s, o in outcomes.items() if o.status == "skipped"]
    status = "finished" if not failed else "failed"
    error = None
    if failed:
        error = "; ".join(f"step {s} {o.status}" for s, o in failed.items())
        if skipped:
            error += f"; not run: {', '.join(skipped)}"
    with store.write("pipeline", name, status) as conn:
        conn.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(
            status=status, ended_at=time.time(), error=error))
    result = get_pipeline_run(run_id)
    if progress:
        print(result.summary(), file=sys.stderr, flush=True)
    return result


def ready_executor(executor: Any, spec: PipelineSpec, workers: int | None = None) -> Executor:
    """The executor `executor` names (None: the `executor` setting), checked ready to take
    the steps of `spec` before anything is written: a Dask cluster is reached, and each of
    its workers reaches the store (`prepare`) and sees the project's notebooks. `workers` is
    the local runner's alone."""
    from ..executors import resolve

    where = resolve(executor)
    if where.local:
        return where
    if workers is not None:
        raise MLOpsUsageError(f"workers={workers} bounds the local runner's parallel steps; "
                              f"on the Dask cluster {where.name} its workers' threads do: "
                              "leave workers unset")
    from .on_dask import check_project

    where.prepare()
    check_project(where, spec)
    return where


def check_start(name: str, params: dict[str, Any] | None) -> PipelineSpec:
    """The spec, if a run with `params` may start now: every parameter is one the pipeline, a
    step or a step's notebook has (params.py), and the pipeline is not already running
    (beyond max_active_runs)."""
    from .params import check_given

    spec = load_spec(name)
    check_given(spec, params)
    _check_concurrency(spec)
    return spec


def start_pipeline(name: str, params: dict[str, Any] | None = None,
                   resume: str | None = None, trigger: str = "manual",
                   queued: str | None = None, executor: Any = None) -> str:
    """Check, then run (or resume, or start a queued run of) a pipeline in a process of its
    own, detached: for callers that must not wait (the REST API, the scheduler, alerts). A new
    run is recorded as queued before this returns (its id is returned), so a start that
    `max_active_runs` refuses in the detached process stays queued for the scheduler instead
    of being lost; a new run's executor (`executor`, else the setting) is checked ready
    first. The detached process runs on `executor` (given as its address), else on the
    executor setting it reads itself."""
    if resume is not None:
        args, run_id = ["resume", resume], resume
    else:
        if queued is None:
            ready_executor(executor, check_start(name, params))
            with get_store().write("pipeline", name, "queued") as conn:
                queued = queue_pipeline(conn, name, trigger, params)
        args, run_id = ["run", name, "--quiet", "--queued", queued], queued
    if executor is not None:
        from ..executors import resolve

        args += ["--executor", resolve(executor).name]
    subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "pipeline", *args],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return run_id


def start_queued(name: str, run_id: str) -> None:
    """Start a run that `queue_pipeline` queued, in a detached process (after the queuing
    transaction committed); when no process can be started the run stays queued, and the
    scheduler starts it."""
    try:
        start_pipeline(name, queued=run_id)
    except OSError:
        pass


def _check_concurrency(spec: PipelineSpec) -> None:
    """Refuse early (before a detached start) what `_start` would refuse now; `_start`
    decides, in the transaction that starts the run."""
    with get_store().read() as conn:
        _refuse_beyond_limit(conn, spec)


def _execute(spec: PipelineSpec, run_id: str, params: dict[str, Any],
             done: dict[str, tuple[str, int]], workers: int | None,
             progress: bool, where: Executor) -> dict[str, StepOutcome]:
    """Schedule the DAG: start every step whose dependencies finished, as slots free up (on
    a Dask cluster, as soon as they can: the cluster queues what its threads cannot take)."""
    outcomes: dict[str, StepOutcome] = {
        s: StepOutcome(DONE, 0, 0.0) for s, (status, _) in done.items() if status == DONE}
    pending = [s for s in spec.steps if s.name not in outcomes]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(spec.steps), initial=len(outcomes), unit="step",
                   desc=f"pipeline {spec.name}")
    lock = threading.Lock()

    def report(step: str, what: str) -> None:
        if progress:
            with lock:
                (bar.write if bar is not None else print)(f"  {step}: {what}")

    beat = threading.Event()

    def heartbeat() -> None:
        while not beat.wait(30):
            with get_store().write() as conn:
                conn.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id)
                             .values(heartbeat=time.time()))

    threading.Thread(target=heartbeat, daemon=True).start()
    run: Attempt = _attempt
    if not where.local:
        from .on_dask import dask_attempt

        run = functools.partial(dask_attempt, where)
    elif _can_inline(pending):
        step = pending[0]
        outcome = _run_step(spec, step, run_id, spec.parameters(step, params),
                            done.get(step.name, ("", 0))[1] + 1, report, run=_inline_attempt)
        outcomes[step.name] = outcome
        report(step.name, f"{outcome.status} in {outcome.seconds:.1f} s")
        beat.set()
        if bar is not None:
            bar.update()
            bar.close()
        return outcomes
    running: dict[Future, str] = {}
    size = workers or max(len(pending), 1)
    try:
        with ThreadPoolExecutor(size, thread_name_prefix="mlops-step") as pool:
            while pending or running:
                for step in list(pending):
                    deps = [outcomes.get(d) for d in step.depends_on]
                    if any(o is not None and o.status != DONE for o in deps):
                        pending.remove(step)  # an upstream step failed: this one never runs
                        outcomes[step.name] = StepOutcome("skipped", 0, 0.0)
                        report(step.name, "not run (an upstream step did not finish)")
                        if bar is not None:
                            bar.update()
                    elif all(o is not None for o in deps) and len(running) < size:
                        pending.remove(step)
                        first = done.get(step.name, ("", 0))[1] + 1
                        values = spec.parameters(step, params)
                        running[pool.submit(_run_step, spec, step, run_id, values, first,
                                            report, run)] = step.name
                if not running:
                    continue
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    outcome = future.result()
                    outcomes[name] = outcome
                    report(name, f"{outcome.status} in {outcome.seconds:.1f} s"
                           + (f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""))
                    if outcome.status != DONE and outcome.output and progress:
                        report(name, "output:\n" + outcome.output[-2000:])
                    if bar is not None:
                        bar.update()
    finally:
        beat.set()
        if bar is not None:
            bar.close()
    return outcomes


def _can_inline(pending: list[Step]) -> bool:
    """One step left, no timeout to enforce (that needs a process to kill), called from a
    plain process's main thread (not a notebook kernel, whose event loop papermill would
    share)."""
    from ..tracking.capture import ipython

    return (len(pending) == 1 and pending[0].timeout_s is None and ipython() is None
            and threading.current_thread() is threading.main_thread())


def resumable(run_id: str) -> PipelineRun:
    """The pipeline run, if it ended without finishing (so resuming it means something)."""
    from .status import get_pipeline_run

    run = get_pipeline_run(run_id)
    if run.status == "running":
        raise MLOpsUsageError(f"pipeline run {run.id[:8]} is still running")
    if run.status == "finished":
        raise NotFoundError(f"pipeline run {run.id[:8]} finished: nothing to resume")
    return run


def resume_pipeline(run_id: str, workers: int | None = None, progress: bool = True,
                    executor: Any = None) -> PipelineRun:
    """Re-run the steps of pipeline run `run_id` that did not finish (and their dependents),
    on `executor` (see run_pipeline)."""
    run = resumable(run_id)
    return run_pipeline(run.pipeline, workers=workers, progress=progress, resume=run.id,
                        executor=executor)
