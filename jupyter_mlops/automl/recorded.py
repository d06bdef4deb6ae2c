"""An AutoML search as its runs recorded it: the leaderboard, the figures and the best trial
rebuilt from the parent run's child trial runs, so a search made in another kernel (or long
ago, or on another machine: Optuna's journal stays local) shows the same as the
`AutoMLResult` it returned, through the same figure builders."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..errors import NotFoundError
from ..store.tables import latest_metrics, metric_chunks, params, runs, tags
from .result import _table, leaderboard_frame, ranked

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    import plotly.graph_objects as go

STATES = {"complete", "pruned", "failed", "killed"}


@dataclass(frozen=True)
class RecordedSearch:
    """What `recorded_search` returns: `.rows` (the leaderboard's rows, best first),
    `.best` (run_id, params with the estimator, score; None before a trial completes),
    `.to_frame()`, `.to_dict()`, `.figure("history" | "importances")`, rich display."""

    run_id: str
    study: str | None
    metric: str
    greater_is_better: bool
    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    seed: int = 0

    @property
    def direction(self) -> str:
        return "maximize" if self.greater_is_better else "minimize"

    def to_frame(self) -> pd.DataFrame:
        return leaderboard_frame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "study": self.study, "metric": self.metric,
                "direction": self.direction, "leaderboard": self.rows,
                "trials": len(self.rows), "best": self.best}

    def importances(self) -> dict[str, float]:
        """The fANOVA importances of the best family's hyperparameters (as
        `AutoMLResult.importances`), over its complete trial runs; the ranges are those the
        trials took (log-scaled where positive numbers span 100× or more)."""
        from .result import importances

        if self.best is None:
            return {}
        family = self.best["params"]["estimator"]
        done = [r for r in self.rows if r["state"] == "complete" and r["estimator"] == family
                and r["score"] is not None]
        return importances(_frozen(done, family), family, self.greater_is_better, self.seed)

    def figure(self, kind: str = "history") -> go.Figure:
        """"history": each trial's score and the best so far; "importances": the best
        family's hyperparameter importances."""
        from ..charts import automl as charts
        from ..errors import MLOpsUsageError

        if kind == "history":
            rows = sorted(self.rows, key=lambda r: r["trial"])
            return charts.optimization_history(rows, self.metric, self.greater_is_better)
        if kind == "importances":
            family = self.best["params"]["estimator"] if self.best else "no complete trial"
            return charts.param_importances(self.importances(), family)
        raise MLOpsUsageError(f"figure kind is history or importances, got {kind!r}")

    def __repr__(self) -> str:
        return f"<RecordedSearch {self.study or self.run_id[:8]}: {len(self.rows)} trials>"

    def _repr_html_(self) -> str:
        best = "no trial complete" if self.best is None else (
            f"best {html.escape(self.metric)} <b>{self.best['score']:.4g}</b> "
            f"({html.escape(str(self.best['params']['estimator']))})")
        return (f"<div><b>AutoML {html.escape(self.study or self.run_id[:8])}</b> · {best} · "
                f"{len(self.rows)} trials</div>{_table(self.rows[:10])}")


def recorded_search(run_id: str) -> RecordedSearch:
    """The AutoML search whose parent run is `run_id` (an id or a prefix of 8+), rebuilt from
    its trial runs; NotFoundError when that run is no search's parent."""
    from ..tracking.fluent import get_run
    from .tasks import resolve_metric

    run = get_run(run_id)
    info, logged, marks = run.info, run.params, run.tags
    if marks.get("mlops.automl") != "search":
        raise NotFoundError(f"run {run.id[:8]} ({info['name']}) is not an AutoML search: its "
                            "parent run carries the tag mlops.automl = search")
    metric = resolve_metric(logged.get("automl.metric"), logged.get("automl.task",
                                                                    "classification"), 2)
    rows = ranked(_trials(run.store, run.id, metric.name), metric.greater_is_better)
    return RecordedSearch(run.id, marks.get("mlops.automl.study"), metric.name,
                          metric.greater_is_better, rows, _best(rows, marks.get(
                              "mlops.automl.best_run")), int(logged.get("automl.seed") or 0))


def _trials(store: Any, parent: str, metric: str) -> list[dict[str, Any]]:
    """One leaderboard row per trial run under `parent`."""
    children = select(runs.c.id).where(runs.c.parent_run_id == parent)
    by_run: dict[str, dict[str, Any]] = {}
    with store.read() as conn:
        for run_id, error in conn.execute(select(runs.c.id, runs.c.error)
                                          .where(runs.c.parent_run_id == parent)):
            by_run[run_id] = {"params": {}, "metrics": {}, "tags": {}, "error": error,
                              "folds": 0}
        for t, into in ((params, "params"), (latest_metrics, "metrics"), (tags, "tags")):
            for run_id, key, value in conn.execute(select(t.c.run_id, t.c.key, t.c.value)
                                                   .where(t.c.run_id.in_(children))):
                by_run[run_id][into][key] = json.loads(value) if into == "params" else value
        for run_id, n in conn.execute(
                select(metric_chunks.c.run_id, func.sum(metric_chunks.c.count))
                .where(metric_chunks.c.run_id.in_(children),
                       metric_chunks.c.key == f"fold_{metric}")
                .group_by(metric_chunks.c.run_id)):
            by_run[run_id]["folds"] = int(n)
    rows = []
    for run_id, r in by_run.items():
        trial, state = r["tags"].get("mlops.automl.trial"), r["tags"].get("mlops.automl.state")
        if trial is None or state not in STATES:  # another nested run, or a trial still going
            continue
        logged = dict(r["params"])
        rows.append({"trial": int(trial), "estimator": logged.pop("estimator", None),
                     "score": r["metrics"].get(f"cv_{metric}"),
                     "score_std": r["metrics"].get(f"cv_{metric}_std"), "folds": r["folds"],
                     "fit_time": r["metrics"].get("fit_time_s"), "state": state,
                     "params": logged, "error": r["error"], "run_id": run_id})
    return rows


def _best(rows: list[dict[str, Any]], tagged: str | None) -> dict[str, Any] | None:
    """The trial the search named best (its tag), else the best complete one so far."""
    done = [r for r in rows if r["state"] == "complete" and r["score"] is not None]
    chosen = next((r for r in done if r["run_id"] == tagged), done[0] if done else None)
    if chosen is None:
        return None
    return {"run_id": chosen["run_id"], "score": chosen["score"],
            "params": {"estimator": chosen["estimator"], **chosen["params"]}}


def _frozen(rows: list[dict[str, Any]], family: str) -> list[optuna.trial.FrozenTrial]:
    """Optuna trials for `rows` (one family's complete trials), over the ranges they took:
    numbers as int or float ranges, anything else (None included) as categories."""
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    def choice(value: Any) -> Any:
        plain = value is None or isinstance(value, (bool, int, float, str))
        return value if plain else json.dumps(value, sort_keys=True)

    keys = sorted({k for r in rows for k in r["params"]})
    spaces: dict[str, Any] = {"estimator": CategoricalDistribution([family])}
    numeric: set[str] = set()
    for key in keys:
        seen = [r["params"].get(key) for r in rows]
        numbers = [v for v in seen if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(seen) and min(numbers) < max(numbers):
            low, high = min(numbers), max(numbers)
            log = low > 0 and high >= 100 * low
            whole = all(isinstance(v, int) for v in numbers)
            spaces[key] = (IntDistribution(low, high, log=log) if whole else
                           FloatDistribution(low, high, log=log))
            numeric.add(key)
        else:
            spaces[key] = CategoricalDistribution(sorted({choice(v) for v in seen}, key=repr))

    def values(r: dict[str, Any]) -> dict[str, Any]:
        return {k: r["params"].get(k) if k in numeric else choice(r["params"].get(k))
                for k in keys}

    named = {f"{family}.{k}" if k != "estimator" else k: d for k, d in spaces.items()}
    return [optuna.trial.create_trial(
        params={"estimator": family, **{f"{family}.{k}": v for k, v in values(r).items()}},
        distributions=named, value=r["score"]) for r in rows]
