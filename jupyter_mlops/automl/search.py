"""`automl`: a model search that leaves a tracked record of every trial.

Optuna picks an estimator family and its hyperparameters per trial (TPE, each family's
scikit-learn defaults tried first); a trial is cross-validated fold by fold and pruned when its
partial score is below the median of earlier trials at the same fold (or when the time budget
is spent). The search is a parent run, each trial a nested run (estimator, params, the score
and its spread, fit time, state); the best pipeline is refit on all the data, logged, and with
`register=` registered with the run's training data, so lineage, gates and drift all know it.

Studies live in Optuna's own storage (storage.py), never in the metadata database:
`resume=True` continues one. With a Dask executor the trials run as tasks on the workers
(remote.py), in parallel, each writing its own nested run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import refs
from ..errors import MLOpsError, MLOpsUsageError
from .result import AutoMLResult, Progress, trial_rows
from .space import Family, families, pipeline, preprocessor
from .storage import location, open_storage
from .tasks import Metric, as_frame, as_series, check_task, resolve_metric

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from ..data.versions import DatasetVersion

PRUNE_AFTER = 5  # complete trials before pruning starts
CACHE_BYTES = 64 * 2**20  # up to this much data, each fold is preprocessed once for all trials
LOGGING = 0.5  # seconds kept back from the budget for logging the winner
STATUS = {"complete": "finished", "pruned": "finished", "failed": "failed", "killed": "killed"}


class SearchError(MLOpsError):
    """The search ran but no trial completed."""


@dataclass(frozen=True)
class Plan:
    """A search's inputs, checked: nothing is written before one exists."""

    X: pd.DataFrame
    y: pd.Series
    task: str
    metric: Metric
    families: tuple[Family, ...]
    cv: int
    seed: int
    time_budget: float | None
    n_trials: int | None
    register: str | None
    name: str
    source: DatasetVersion | None

    def meta(self) -> dict[str, Any]:
        """What a resumed search must share with the study it continues."""
        return {"task": self.task, "metric": self.metric.name, "cv": self.cv, "seed": self.seed,
                "estimators": [f.name for f in self.families], "data": _digest(self.X, self.y)}


def _digest(X: pd.DataFrame, y: pd.Series) -> str:
    import pandas as pd

    h = hashlib.sha256(json.dumps([list(X.columns), str(y.name)]).encode())
    for part in (X, y):
        h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def plan(X: Any, y: Any, task: str = "auto", metric: str | None = None,
         time_budget: float | None = 60, estimators: Any = None, cv: int = 5, seed: int = 0,
         register: str | None = None, n_trials: int | None = None,
         name: str = "automl") -> Plan:
    """Check every input of a search (see `automl`) and load a dataset reference."""
    import pandas as pd

    source = None
    if isinstance(X, str):
        from ..data.versions import get_version, read_version

        source = get_version(X)
        frame = read_version(source)
        if not isinstance(frame, pd.DataFrame):
            raise MLOpsUsageError(f"dataset {source.ref} is not a table")
        if not isinstance(y, str):
            raise MLOpsUsageError("with a dataset reference as X, y names its target column")
        if y not in frame.columns:
            raise MLOpsUsageError(f"dataset {source.ref} has no column {y!r} (it has: "
                                  f"{', '.join(map(str, frame.columns))})")
        X, y = frame.drop(columns=[y]), frame[y]
    for label, value, low in (("cv", cv, 2), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise MLOpsUsageError(f"{label} is an integer of at least {low}, got {value!r}")
    if time_budget is not None and (isinstance(time_budget, bool) or not isinstance(
            time_budget, (int, float)) or not time_budget > 0):
        raise MLOpsUsageError(f"time_budget is a number of seconds above 0, got {time_budget!r}")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                 or n_trials < 1):
        raise MLOpsUsageError(f"n_trials is an integer of at least 1, got {n_trials!r}")
    if time_budget is None and n_trials is None:
        raise MLOpsUsageError("give a time_budget (seconds), n_trials, or both")
    name = refs.check_name(name, "search name")
    if register is not None:
        register = refs.check_name(register, "model name")
    frame = as_frame(X)
    target = as_series(y, len(frame))
    if cv > len(frame):
        raise MLOpsUsageError(f"cv={cv} folds need at least {cv} rows; X has {len(frame)}")
    task, classes = check_task(task, target, cv)
    chosen = resolve_metric(metric, task, classes)
    picked = families(estimators, task)
    if chosen.needs_proba:
        blind = [f.name for f in picked if not f.probabilities]
        if estimators is None:
            picked = [f for f in picked if f.probabilities]
        elif blind:
            raise MLOpsUsageError(f"{', '.join(blind)} give no probabilities, which "
                                  f"{chosen.name} needs: pick another metric or estimator")
    return Plan(frame, target, task, chosen, tuple(picked), cv, seed,
                None if time_budget is None else float(time_budget), n_trials, register, name,
                source)


def _sampler(seed: int) -> Any:
    import optuna

    with warnings.catch_warnings():  # multivariate TPE over conditional spaces: "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def _pruner() -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER, n_warmup_steps=0)


def _open_study(p: Plan, resume: bool) -> optuna.Study:
    """A new study named after the search (name, name-2, ...), or with `resume` the newest of
    them, checked to have run on the same data, task, metric and estimators."""
    import optuna

    storage = open_storage(location())
    existing = {s.study_name: s for s in storage.get_all_studies()}
    pattern = re.compile(re.escape(p.name) + r"(?:-(\d+))?")
    ours = {n: int(m.group(1) or 1) for n in existing if (m := pattern.fullmatch(n))}
    pruner = _pruner()
    direction = p.metric.direction
    if resume:
        if not ours:
            raise MLOpsUsageError(f"no AutoML search named {p.name!r} to resume")
        study_name = max(ours, key=ours.get)
        before = existing[study_name].user_attrs
        changed = [k for k, v in p.meta().items() if before.get(k) != v]
        if changed:
            raise MLOpsUsageError(f"search {study_name!r} ran with another "
                                  f"{', '.join(changed)}: resume it with the same, or start a "
                                  "new search")
        study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner)
        study.sampler = _sampler(p.seed + len(study.trials))
        return study
    study_name = p.name if not ours else f"{p.name}-{max(ours.values()) + 1}"
    study = optuna.create_study(study_name=study_name, storage=storage, direction=direction,
                                sampler=_sampler(p.seed), pruner=pruner)
    for key, value in p.meta().items():
        study.set_user_attr(key, value)
    for family in p.families:  # each family's defaults first: good scores from the start
        study.enqueue_trial({"estimator": family.name,
                             **family.defaults(p.task, p.X.shape[1])})
    return study


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No per-trial log lines from Optuna, no convergence warnings from each fold's fit."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(level)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON values (what a run and a trial's attributes can hold)."""
    return json.loads(json.dumps(params, default=str))


class _Objective:
    """One trial: a nested run, cross-validated fold by fold, pruned early when hopeless or
    when the rest of the budget is needed to refit the best so far (`reserve`)."""

    def __init__(self, p: Plan, study: optuna.Study, deadline: float | None,
                 experiment: str | None = None, worker: str | None = None):
        from sklearn.metrics import get_scorer
        from sklearn.model_selection import KFold, StratifiedKFold

        splitter = (StratifiedKFold if p.task == "classification" else KFold)(
            n_splits=p.cv, shuffle=True, random_state=p.seed)
        self.p, self.study, self.deadline = p, study, deadline
        self.folds = list(splitter.split(p.X, p.y))
        self.scorer = get_scorer(p.metric.scorer)
        self.by_name = {f.name: f for f in p.families}
        self.reserve = LOGGING  # seconds the refit of the best so far will take
        self.completed = False
        small = 2 * p.X.memory_usage(deep=True).sum() <= CACHE_BYTES
        self.prepared: dict[tuple[int, bool], tuple] | None = {} if small else None
        if experiment is None:
            from ..tracking import fluent

            experiment = fluent.active_run().experiment  # the parent's, read once
        self.experiment = experiment
        self.worker = worker  # a Dask worker's address: tagged on each trial's run

    def fold(self, k: int, scale: bool) -> tuple:
        """(X train, X test, y train, y test) of fold k, preprocessed (the same for every
        trial of a family that scales or does not: fitted once per fold on small data)."""
        key = (k, scale)
        if self.prepared is not None and key in self.prepared:
            return self.prepared[key]
        train, test = self.folds[k]
        p = self.p
        prep = preprocessor(p.X, scale)
        out = (prep.fit_transform(p.X.iloc[train]), prep.transform(p.X.iloc[test]),
               p.y.iloc[train].to_numpy(), p.y.iloc[test].to_numpy())
        if self.prepared is not None:
            self.prepared[key] = out
        return out

    def learn(self, trial: optuna.trial.FrozenTrial | None = None) -> None:
        """After a trial (or, with none, from the study so far): keep back enough of the
        budget to refit the best one on all rows."""
        if trial is not None and trial.state.name != "COMPLETE":
            return
        reserve = refit_reserve(self.study, self.p)
        if reserve is not None:
            self.completed, self.reserve = True, reserve

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        from ..tracking import fluent

        p = self.p
        family = self.by_name[trial.suggest_categorical("estimator", list(self.by_name))]
        params = family.suggest(trial, p.task)
        shown = _plain(params)
        trial.set_user_attr("params", shown)
        tags = {"mlops.automl.trial": trial.number, "mlops.automl.study": self.study.study_name}
        if self.worker is not None:
            tags["mlops.worker"] = self.worker
        run = fluent.start_run(name=f"trial-{trial.number}", nested=True,
                               experiment=self.experiment,
                               params={"estimator": family.name, **shown}, tags=tags)
        trial.set_user_attr("run_id", run.id)
        scores: list[float] = []
        fit_time, state, error = 0.0, "complete", None
        try:
            for k in range(len(self.folds)):
                if k and self.completed and self.deadline is not None and (
                        time.monotonic() > self.deadline - self.reserve):
                    raise optuna.TrialPruned("the time budget is spent")
                X_train, X_test, y_train, y_test = self.fold(k, family.scale)
                model = family.build(p.task, params, p.seed)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fit_time += time.perf_counter() - start
                score = p.metric.sign * self.scorer(model, X_test, y_test)
                if not math.isfinite(score):
                    raise ValueError(f"fold {k + 1} scored {score}")
                scores.append(float(score))
                fluent.log_metric(f"fold_{p.metric.name}", scores[-1], step=k)
                trial.report(statistics.fmean(scores), k)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after {k + 1} of {p.cv} folds")
            return statistics.fmean(scores)
        except optuna.TrialPruned:
            state = "pruned"
            raise
        except KeyboardInterrupt:
            state = "killed"
            raise
        except Exception as exc:
            state, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._finish(trial, run, scores, fit_time, state, error)

    def _finish(self, trial: optuna.Trial, run: Any, scores: list[float], fit_time: float,
                state: str, error: str | None) -> None:
        from ..tracking import fluent

        name = self.p.metric.name
        mean = statistics.fmean(scores) if scores else None
        spread = statistics.pstdev(scores) if scores else None
        for key, value in (("score", mean), ("score_std", spread), ("folds", len(scores)),
                           ("fit_time", fit_time), ("error", error)):
            trial.set_user_attr(key, value)
        if scores:
            fluent.log_metrics({f"cv_{name}": mean, f"cv_{name}_std": spread,
                                "fit_time_s": fit_time})
        fluent.set_tags({"mlops.automl.state": state}, run=run)
        fluent.end_run(STATUS[state], run=run, error=error)


def refit_reserve(study: optuna.Study, p: Plan) -> float | None:
    """Seconds to keep back from the budget to refit the best trial so far on all rows (None
    before a trial completed)."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        return None
    best = study.best_trial
    folds = best.user_attrs.get("folds") or 1
    per_fold = (best.user_attrs.get("fit_time") or 0.0) / folds
    return LOGGING + 1.2 * per_fold * p.cv / (p.cv - 1)


def _snapshot(study: optuna.Study, p: Plan, started: float) -> Progress:
    rows = trial_rows(study.get_trials(deepcopy=False), p.metric.greater_is_better)
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "failed")}
    best = rows[0] if rows and rows[0]["state"] == "complete" else None
    elapsed = time.monotonic() - started
    return Progress(p.metric.name, counts["complete"], counts["pruned"], counts["failed"],
                    best["score"] if best else None, best["estimator"] if best else None,
                    elapsed, None if p.time_budget is None else max(0.0, p.time_budget - elapsed),
                    rows)


def progress_bar(p: Plan, progress: bool, desc: str = "automl") -> Any:
    """The search's bar: in trials (with n_trials), else in seconds of the budget."""
    from tqdm.auto import tqdm

    by_trials = p.n_trials is not None
    return tqdm(total=p.n_trials if by_trials else int(math.ceil(p.time_budget)),
                unit="trial" if by_trials else "s", desc=desc, disable=not progress)


def report(bar: Any, study: optuna.Study, p: Plan, started: float,
           callback: Callable[[Progress], None] | None) -> None:
    """After a trial: the bar moves on, shows the best score, and `callback` gets the
    progress."""
    snap = _snapshot(study, p, started)
    if p.n_trials is not None:
        bar.update(1)
    else:
        bar.n = min(int(snap.elapsed), bar.total)
    if snap.best_score is not None:
        bar.set_postfix_str(f"best {p.metric.name} {snap.best_score:.4g}", refresh=False)
    bar.refresh()
    if callback is not None:
        callback(snap)


def _search(p: Plan, study: optuna.Study, started: float, progress: bool,
            callback: Callable[[Progress], None] | None) -> None:
    """Run trials until n_trials are done or the time budget (counted from `started`, the
    call's start) is spent but what refitting the best trial will take."""

    deadline = None if p.time_budget is None else started + p.time_budget
    objective = _Objective(p, study, deadline)
    bar = progress_bar(p, progress)

    def after(study: optuna.Study, trial: Any) -> None:
        objective.learn(trial)
        if deadline is not None and time.monotonic() + objective.reserve >= deadline:
            study.stop()
        report(bar, study, p, started, callback)

    try:
        with quiet():
            study.optimize(objective, n_trials=p.n_trials,
                           timeout=None if deadline is None else max(
                               1e-3, deadline - time.monotonic()),
                           catch=(Exception,), callbacks=[after], gc_after_trial=False)
    finally:
        bar.close()


def automl(X: Any, y: Any, task: str = "auto", metric: str | None = None,
           time_budget: float | None = 60, estimators: Any = None, cv: int = 5, seed: int = 0,
           register: str | None = None, *, n_trials: int | None = None, resume: bool = False,
           name: str = "automl", experiment: str | None = None, progress: bool = True,
           callback: Callable[[Progress], None] | None = None,
           executor: Any = None) -> AutoMLResult:
    """Search scikit-learn model families and their hyperparameters for the best
    cross-validated `metric` on X (a DataFrame or array) and y, or on a registered dataset
    (`automl("wine@3", "class")`: X a reference, y its target column).

    task: "auto" (from y), "classification" or "regression"; metric: accuracy (default), f1,
    roc_auc, log_loss, ... or r2 (default), rmse, mae, ...; estimators: family names (linear,
    knn, hist_gradient_boosting, random_forest, extra_trees, svm; all by default) or
    scikit-learn estimators, alone or as (estimator, {param: optuna distribution}); the search
    stops after `time_budget` seconds or `n_trials` more trials, whichever comes first (with
    the same seed, data and n_trials, the same trials). `register="name"` registers the refit
    winner; `resume=True` continues the newest search called `name`. `callback(progress)` runs
    after each trial (a live display). `executor`: "local" (default: the `executor` setting)
    runs the trials here one after another; a Dask cluster ("dask://host:8786", a
    distributed.Client) runs them on its workers in parallel (docs/scale.md)."""
    from ..data.versions import link_input, version_dataset
    from ..executors import resolve
    from ..registry.versions import register_model
    from ..tracking import autolog, fluent

    started = time.monotonic()  # the budget counts the whole call
    p = plan(X, y, task, metric, time_budget, estimators, cv, seed, register, n_trials, name)
    where = resolve(executor)
    if not where.local:
        from . import remote

        remote.check(where)
    with quiet():
        study = _open_study(p, resume)
    params = {"automl.task": p.task, "automl.metric": p.metric.name, "automl.cv": p.cv,
              "automl.seed": p.seed, "automl.time_budget": p.time_budget,
              "automl.n_trials": p.n_trials, "automl.estimators": [f.name for f in p.families],
              "automl.study": study.study_name}
    tags = {"mlops.automl": "search", "mlops.automl.study": study.study_name}
    if not where.local:
        tags["mlops.executor"] = where.name
    if resume:
        tags["mlops.automl.resumed"] = "true"
    was_logging = autolog.set_enabled(False)  # the folds' fits are the trials' own record
    try:
        with fluent.start_run(name=study.study_name, experiment=experiment, params=params,
                              tags=tags, nested=fluent.active_run() is not None) as parent:
            if p.source is not None:
                from ..store import get_store

                link_input(get_store(), p.source, None)
            version_dataset(p.X, f"{p.name}-train", role="train")
            if where.local:
                _search(p, study, started, progress, callback)
            else:
                remote.search(where, p, study, started, progress, callback, parent)
            searched = time.monotonic() - started
            result = _finish(p, study, parent, searched)
            if p.register is not None:
                version = register_model(result.best_estimator, p.register, run=parent)
                result = _with_model(result, version)
    finally:
        autolog.set_enabled(was_logging)
    return result


def _finish(p: Plan, study: optuna.Study, parent: Any, searched: float) -> AutoMLResult:
    """Refit the best trial's pipeline on all the data and log it with the search's record."""
    import optuna

    from ..tracking import fluent
    from ..tracking.autolog import log_model

    trials = study.get_trials(deepcopy=False)
    rows = trial_rows(trials, p.metric.greater_is_better)
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "failed")}
    if not counts["complete"]:
        failed = [r["error"] for r in rows if r["error"]]
        why = f"; the first failure: {failed[-1]}" if failed else ""
        raise SearchError(f"no trial completed ({counts['pruned']} pruned, {counts['failed']} "
                          f"failed): give the search more time or trials{why}")
    best = study.best_trial
    family = next(f for f in p.families if f.name == best.params["estimator"])
    params = family.suggest(optuna.trial.FixedTrial(best.params), p.task)
    model = pipeline(family, p.task, params, p.X, p.seed)
    start = time.perf_counter()
    with quiet():
        model.fit(p.X, p.y)
    refit = time.perf_counter() - start
    name = p.metric.name
    fluent.log_metrics({f"best_cv_{name}": best.value,
                        f"best_cv_{name}_std": best.user_attrs.get("score_std"),
                        "trials_complete": counts["complete"], "trials_pruned": counts["pruned"],
                        "trials_failed": counts["failed"], "search_time_s": searched,
                        "refit_time_s": refit})
    fluent.set_tags({"mlops.automl.best_trial": best.number,
                     "mlops.automl.best_run": best.user_attrs.get("run_id"),
                     "mlops.automl.best_estimator": family.name}, run=parent)
    result = AutoMLResult(study.study_name, p.task, name, p.metric.greater_is_better, model,
                          {"estimator": family.name, **params}, best.value,
                          best.user_attrs.get("score_std"), parent.id, None, tuple(trials),
                          p.seed)
    log_model(model, parent)
    fluent.log_artifact(result.leaderboard.astype({"params": str}), name="automl/leaderboard.parquet")
    fluent.log_figure(result.figure("history"), "automl/history.json")
    return result


def _with_model(result: AutoMLResult, version: Any) -> AutoMLResult:
    from dataclasses import replace

    return replace(result, model_version=version)
