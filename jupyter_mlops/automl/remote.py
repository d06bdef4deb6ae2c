"""AutoML trials as Dask tasks. The client keeps as many trials in flight as the cluster has
threads; each task loads the study from the shared storage, runs one trial (Optuna's sampler
sees every trial finished so far, anywhere; its constant liar keeps parallel trials apart)
and writes the trial's nested run from the worker, tagged `mlops.worker`. The data is sent
to each worker once, and each worker keeps its folds' preprocessing between trials."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .search import Plan, _Objective, _pruner, _sampler, progress_bar, quiet, refit_reserve, report

if TYPE_CHECKING:
    import optuna

    from ..executors.dask import DaskExecutor
    from .result import Progress

# on a worker: the objective of the study it ran a trial of last (its folds' cache)
_objectives: dict[str, _Objective] = {}


def run_trial(p: Plan, where: str, study_name: str, parent_id: str, experiment: str,
              deadline: float | None, seed: int) -> dict[str, Any]:
    """On a worker: one trial of `study_name` (storage `where`), nested under the search's run
    `parent_id`; `deadline` is wall-clock time (the budget's end). What became of it."""
    import optuna
    from distributed import get_worker

    from ..tracking import fluent
    from .storage import open_storage

    worker = get_worker().address
    with quiet():
        study = optuna.load_study(study_name=study_name, storage=open_storage(where),
                                  sampler=_sampler(seed), pruner=_pruner())
        objective = _objectives.get(study_name)
        if objective is None or objective.p is not p:
            _objectives.clear()
            objective = _objectives[study_name] = _Objective(p, study, None, experiment, worker)
        objective.study = study
        objective.deadline = None if deadline is None else time.monotonic() + (
            deadline - time.time())
        objective.learn()
        numbers: list[int] = []
        with fluent.attached(parent_id):
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False,
                           callbacks=[lambda _study, trial: numbers.append(trial.number)])
    return {"trial": numbers[0] if numbers else None, "worker": worker}


def check(executor: DaskExecutor) -> None:
    """Before anything is written: the cluster reaches the store, and every worker reaches
    the study storage."""
    from ..executors import ExecutorError
    from .storage import location, open_storage, probe

    executor.prepare()
    where = location()
    open_storage(where)  # made here first (a schema, tables), so workers only read it
    answers = executor.client.run(probe, where, on_error="return")
    failed = {addr: why for addr, why in answers.items() if why is not None}
    if failed:
        raise ExecutorError("; ".join(f"{addr}: {why}" for addr, why in sorted(failed.items()))
                            + "; nothing was submitted")


def search(executor: DaskExecutor, p: Plan, study: optuna.Study, started: float,
           progress: bool, callback: Callable[[Progress], None] | None, parent: Any) -> None:
    """Run the search's trials on the cluster until n_trials are done or the budget (from
    `started`) is spent but what refitting the best trial will take."""
    from distributed import as_completed

    from ..executors import ExecutorError
    from .storage import location

    deadline = None if p.time_budget is None else started + p.time_budget
    wall_deadline = None if deadline is None else time.time() + (deadline - time.monotonic())
    slots = max(1, executor.threads())
    shared = executor.client.scatter(p, broadcast=True, hash=False)
    where, experiment = location(), parent.experiment
    by_trials = p.n_trials is not None
    bar = progress_bar(p, progress, f"automl ({slots} workers)")
    first_seed = p.seed + len(study.get_trials(deepcopy=False))  # as a resumed search does
    submitted, reserve = 0, 0.5
    running: set[Any] = set()
    finished = as_completed(loop=executor.client.loop)
    try:
        while True:
            while len(running) < slots and (not by_trials or submitted < p.n_trials) and (
                    deadline is None or time.monotonic() + reserve < deadline):
                future = executor.submit(run_trial, shared, where, study.study_name, parent.id,
                                         experiment, wall_deadline, first_seed + submitted,
                                         key=f"automl-{study.study_name}-{submitted}")
                running.add(future)
                finished.add(future)
                submitted += 1
            if not running:
                break
            future = next(finished)
            running.discard(future)
            if future.status == "error":
                error = future.exception()
                if type(error).__name__ != "KilledWorker":
                    raise ExecutorError(f"an AutoML trial task failed on the cluster "
                                        f"({type(error).__name__}: {error})")
                # its worker died: that trial stays unfinished in the study, the rest go on
            reserve = refit_reserve(study, p) or reserve
            report(bar, study, p, started, callback)
    finally:
        for future in running:
            future.cancel()
        bar.close()
