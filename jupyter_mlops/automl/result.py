"""What a search gives back: the trials as a leaderboard, the refit winner, and the figures
(optimization history, hyperparameter importances), during the search (`Progress`, for live
displays) and after it (`AutoMLResult`)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    import plotly.graph_objects as go

    from ..registry.versions import ModelVersion

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}
COLUMNS = ["trial", "estimator", "score", "score_std", "folds", "fit_time", "state", "params",
           "error", "run_id"]


def trial_rows(trials: list[optuna.trial.FrozenTrial], greater_is_better: bool
               ) -> list[dict[str, Any]]:
    """One row a trial, best first: complete trials by score, then pruned ones (by their
    partial score), then failed ones."""
    rows = []
    for t in trials:
        state = STATES.get(t.state.name)
        if state in (None, "running"):  # waiting (enqueued, not run yet) or running
            continue
        score = t.value if state == "complete" else t.user_attrs.get("score")
        rows.append({"trial": t.number, "estimator": t.params.get("estimator"),
                     "score": score, "score_std": t.user_attrs.get("score_std"),
                     "folds": t.user_attrs.get("folds", 0),
                     "fit_time": t.user_attrs.get("fit_time"), "state": state,
                     "params": t.user_attrs.get("params", {}), "error": t.user_attrs.get("error"),
                     "run_id": t.user_attrs.get("run_id")})
    return ranked(rows, greater_is_better)


def ranked(rows: list[dict[str, Any]], greater_is_better: bool) -> list[dict[str, Any]]:
    """Leaderboard rows best first: complete trials by score, then pruned ones (by their
    partial score), then failed ones."""
    rank = {"complete": 0, "pruned": 1, "failed": 2}
    sign = -1.0 if greater_is_better else 1.0
    return sorted(rows, key=lambda r: (rank.get(r["state"], 3),
                                       sign * r["score"] if r["score"] is not None
                                       else float("inf"), r["trial"]))


def leaderboard_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def importances(trials: list[optuna.trial.FrozenTrial], family: str, greater_is_better: bool,
                seed: int) -> dict[str, float]:
    """fANOVA importances of `family`'s hyperparameters over its complete trials (those that
    varied), named without the family's prefix; empty when there is nothing to compare."""
    import optuna

    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE
            and t.params.get("estimator") == family]
    varied = sorted({k for t in done for k in t.params if k != "estimator"
                     and len({repr(u.params.get(k)) for u in done}) > 1})
    if len(done) < 2 or not varied:
        return {}
    from .search import quiet

    with quiet():
        study = optuna.create_study(direction="maximize" if greater_is_better else "minimize")
        study.add_trials(done)
        found = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed),
            params=varied)
    return {k.split(".", 1)[-1]: float(v) for k, v in found.items()}


@dataclass(frozen=True)
class Progress:
    """The search so far: trials by state, the best score and its estimator, seconds spent and
    left (None without a time budget), and the leaderboard's rows."""

    metric: str
    complete: int
    pruned: int
    failed: int
    best_score: float | None
    best_estimator: str | None
    elapsed: float
    remaining: float | None
    rows: list[dict[str, Any]] = field(repr=False)

    @property
    def done(self) -> int:
        return self.complete + self.pruned + self.failed

    def _repr_html_(self) -> str:
        best = ("no trial complete yet" if self.best_score is None else
                f"best {html.escape(self.metric)} <b>{self.best_score:.4g}</b> "
                f"({html.escape(str(self.best_estimator))})")
        left = "" if self.remaining is None else f" · {self.remaining:.0f} s left"
        return (f"<div><b>AutoML</b> · {best} · {self.done} trials ({self.complete} complete, "
                f"{self.pruned} pruned, {self.failed} failed) · {self.elapsed:.0f} s{left}</div>"
                f"{_table(self.rows[:5])}")


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{c}</th>" for c in ("trial", "estimator", "score", "±", "fit s", "state"))
    body = "".join(
        f"<tr><td>{r['trial']}</td><td>{html.escape(str(r['estimator']))}</td>"
        f"<td>{_num(r['score'])}</td><td>{_num(r['score_std'])}</td>"
        f"<td>{_num(r['fit_time'])}</td><td>{r['state']}</td></tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"


@dataclass(frozen=True, repr=False)
class AutoMLResult:
    """A finished search: `.best_estimator` (refit on all the data), `.best_params` (with the
    estimator family), `.best_score` (cross-validated, in the metric's own units),
    `.leaderboard` (every trial of the study, best first), `.run_id` (the parent run),
    `.model_version` (when registered), `.figure(kind)` with kind "history" or "importances"."""

    study: str
    task: str
    metric: str
    greater_is_better: bool
    best_estimator: Any
    best_params: dict[str, Any]
    best_score: float
    best_score_std: float | None
    run_id: str
    model_version: ModelVersion | None
    trials: tuple[Any, ...] = field(repr=False)
    seed: int = 0

    @property
    def leaderboard(self) -> pd.DataFrame:
        return leaderboard_frame(trial_rows(list(self.trials), self.greater_is_better))

    def to_frame(self) -> pd.DataFrame:
        return self.leaderboard

    def importances(self) -> dict[str, float]:
        """How much each hyperparameter of the winning family moved its score (Optuna's
        fANOVA over that family's complete trials); empty with fewer than two of them."""
        return importances(list(self.trials), self.best_params["estimator"],
                           self.greater_is_better, self.seed)

    def figure(self, kind: str = "history") -> go.Figure:
        """"history": each trial's score and the best so far; "importances": the winning
        family's hyperparameter importances."""
        from ..charts import automl as charts
        from ..errors import MLOpsUsageError

        if kind == "history":
            rows = sorted(trial_rows(list(self.trials), self.greater_is_better),
                          key=lambda r: r["trial"])
            return charts.optimization_history(rows, self.metric, self.greater_is_better)
        if kind == "importances":
            return charts.param_importances(self.importances(), self.best_params["estimator"])
        raise MLOpsUsageError(f"figure kind is history or importances, got {kind!r}")

    def to_dict(self) -> dict[str, Any]:
        counts = {s: 0 for s in ("complete", "pruned", "failed")}
        rows = trial_rows(list(self.trials), self.greater_is_better)
        for row in rows:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        return {"study": self.study, "task": self.task, "metric": self.metric,
                "greater_is_better": self.greater_is_better, "best_score": self.best_score,
                "best_score_std": self.best_score_std, "best_params": self.best_params,
                "run_id": self.run_id, "trials": counts, "leaderboard": rows,
                "model": None if self.model_version is None else self.model_version.ref}

    def __str__(self) -> str:
        model = f", registered as {self.model_version.ref}" if self.model_version else ""
        return (f"AutoML {self.study}: best {self.metric} {self.best_score:.4g} with "
                f"{self.best_params['estimator']} (run {self.run_id[:8]}{model})")

    def __repr__(self) -> str:
        return f"<{self}>"

    def _repr_html_(self) -> str:
        rows = trial_rows(list(self.trials), self.greater_is_better)
        params = ", ".join(f"{html.escape(str(k))}={html.escape(repr(v))}"
                           for k, v in self.best_params.items() if k != "estimator")
        model = (f" · registered <b>{html.escape(self.model_version.ref)}</b>"
                 if self.model_version else "")
        return (f"<div><b>AutoML {html.escape(self.study)}</b> · best {html.escape(self.metric)}"
                f" <b>{self.best_score:.4g}</b> ± {_num(self.best_score_std)} · "
                f"{html.escape(str(self.best_params['estimator']))}({params}) · run "
                f"<code>{self.run_id[:8]}</code>{model} · {len(rows)} trials</div>"
                f"{_table(rows[:10])}")
