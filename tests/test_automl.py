"""AutoML as a tracked search, on scikit-learn's bundled datasets with budgets in trials: one
nested run per trial with its params and scores, the winner refit, registered and loadable
with its lineage, pruned and failed trials recorded as such, resume, reproducibility, the
magic and the CLI, and bad input that writes nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.dummy import DummyClassifier
from sqlalchemy import func, select

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.store import tables

FAST = ["linear", "knn", "hist_gradient_boosting"]


class Broken(ClassifierMixin, BaseEstimator):
    """A classifier whose fit always fails."""

    def fit(self, X, y):
        raise ValueError("broken on purpose")


def data(loader):
    return loader(return_X_y=True, as_frame=True)


def counts(mlops) -> dict[str, int]:
    with mlops.get_store().read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.runs, tables.models, tables.dataset_versions)}


def test_a_search_is_a_parent_run_with_a_run_per_trial_and_a_registered_winner(mlops):
    X, y = data(load_breast_cancer)
    result = mlops.automl(X, y, n_trials=6, cv=3, estimators=FAST, register="cancer",
                          progress=False)
    assert result.task == "classification" and result.metric == "accuracy"
    assert result.best_params["estimator"] in FAST and result.best_score > 0.93
    board = result.leaderboard
    assert len(board) == 6 and list(board.columns[:3]) == ["trial", "estimator", "score"]
    assert board.score.tolist() == sorted(board.score, reverse=True)  # best first
    assert board.iloc[0].score == result.best_score and set(board.state) == {"complete"}
    # the trials' defaults come first: each family's scikit-learn defaults
    first = board.sort_values("trial").head(3)
    assert first.estimator.tolist() == FAST
    assert first.iloc[0].params == {"C": 1.0, "class_weight": None}

    runs = mlops.search_runs(filter=f"tags.`mlops.automl.study` = '{result.study}'")
    trials = runs[runs.parent_run_id == result.run_id]
    assert len(trials) == 6 and set(trials.status) == {"finished"}
    assert set(trials["tags.mlops.automl.state"]) == {"complete"}
    assert set(trials["params.estimator"]) <= set(FAST)
    for column in ("metrics.cv_accuracy", "metrics.cv_accuracy_std", "metrics.fit_time_s"):
        assert trials[column].notna().all()
    best_run = mlops.get_run(board.iloc[0].run_id)
    assert best_run.metrics["cv_accuracy"] == pytest.approx(result.best_score)
    assert len(best_run.metric_history("fold_accuracy")) == 3  # one point a fold

    parent = mlops.get_run(result.run_id)
    assert parent.params["automl.metric"] == "accuracy" and parent.params["automl.n_trials"] == 6
    assert parent.metrics["best_cv_accuracy"] == pytest.approx(result.best_score)
    assert parent.metrics["trials_complete"] == 6
    assert parent.tags["mlops.automl.best_run"] == board.iloc[0].run_id
    names = set(parent.artifacts)
    assert {"model.skops", "automl/leaderboard.parquet", "automl/history.json"} <= names
    assert [(i.kind, i.role) for i in parent.inputs] == [("dataset", "train")]

    version = result.model_version
    assert version.ref == "cancer@1" and version.run_id == result.run_id
    assert [c["name"] for c in version.signature.to_dict()["inputs"]] == list(X.columns)
    model = mlops.load_model("cancer@1")
    assert (model.predict(X) == result.best_estimator.predict(X)).all()
    graph = mlops.lineage("model:cancer@1")
    assert any(n["id"].startswith("dataset:automl-train@") for n in graph.to_dict()["nodes"])
    report = mlops.drift_report("cancer@1", X.sample(200, random_state=0))  # stored sketches
    assert not report.drifted

    history, importance = result.figure(), result.figure("importances")
    assert {t.name for t in history.data} >= {"best so far", result.best_params["estimator"]}
    assert importance.layout.title.text.startswith("Hyperparameter importances")
    assert result.to_dict()["trials"] == {"complete": 6, "pruned": 0, "failed": 0}
    assert "AutoML automl" in result._repr_html_()


def test_progress_after_each_trial(mlops):
    """What a live display shows: trials done, the best so far, the time left."""
    X, y = data(load_wine)
    seen = []
    result = mlops.automl(X, y, n_trials=3, time_budget=600, cv=3, estimators=FAST,
                          progress=False, callback=seen.append)
    assert [p.done for p in seen] == [1, 2, 3] and seen[-1].complete == 3
    assert seen[-1].best_score == result.best_score
    assert seen[0].remaining > seen[-1].remaining > 0
    assert [len(p.rows) for p in seen] == [1, 2, 3]
    html = seen[-1]._repr_html_()
    assert "3 trials (3 complete, 0 pruned, 0 failed)" in html and "s left" in html


def test_pruned_and_failed_trials_are_recorded_as_such(mlops):
    X, y = data(load_breast_cancer)
    dummy = (DummyClassifier(strategy="uniform", random_state=0),
             {"strategy": ["uniform", "stratified"]})
    result = mlops.automl(X, y, n_trials=24, cv=3, estimators=["linear", dummy, Broken()],
                          progress=False)
    board = result.leaderboard
    states = board.state.value_counts().to_dict()
    assert states.get("pruned", 0) >= 1 and states.get("failed", 0) >= 1, states
    assert board.state.tolist() == sorted(board.state, key=["complete", "pruned",
                                                            "failed"].index)
    pruned = board[board.state == "pruned"]
    assert "DummyClassifier" in set(pruned.estimator) and (pruned.folds < 3).all()
    failed = board[board.state == "failed"]
    assert set(failed.estimator) == {"Broken"}
    assert failed.error.str.contains("ValueError: broken on purpose").all()

    for row in failed.itertuples():
        run = mlops.get_run(row.run_id)
        assert run.status == "failed" and run.tags["mlops.automl.state"] == "failed"
    run = mlops.get_run(pruned.iloc[0].run_id)
    assert run.status == "finished" and run.tags["mlops.automl.state"] == "pruned"
    assert len(run.metric_history("fold_accuracy")) == pruned.iloc[0].folds
    parent = mlops.get_run(result.run_id)
    assert parent.metrics["trials_pruned"] == states["pruned"]
    assert parent.metrics["trials_failed"] == states["failed"]


def test_resume_continues_the_same_study(mlops):
    X, y = data(load_wine)
    first = mlops.automl(X, y, n_trials=3, cv=3, estimators=FAST, name="wine", progress=False)
    again = mlops.automl(X, y, n_trials=2, cv=3, estimators=FAST, name="wine", resume=True,
                         progress=False)
    assert first.study == again.study == "wine"
    assert sorted(again.leaderboard.trial) == [0, 1, 2, 3, 4]
    assert again.run_id != first.run_id
    assert mlops.get_run(again.run_id).tags["mlops.automl.resumed"] == "true"
    resumed = mlops.search_runs(filter="tags.`mlops.automl.study` = 'wine'")
    assert len(resumed[resumed.parent_run_id == again.run_id]) == 2
    assert again.best_score >= first.best_score
    fresh = mlops.automl(X, y, n_trials=1, cv=3, estimators=FAST, name="wine", progress=False)
    assert fresh.study == "wine-2" and len(fresh.leaderboard) == 1

    before = counts(mlops)
    for call, message in [
        (lambda: mlops.automl(X.head(120), y.head(120), n_trials=1, cv=3, estimators=FAST,
                              name="wine", resume=True), "ran with another data"),
        (lambda: mlops.automl(X, y, n_trials=1, cv=3, estimators=["knn"], name="wine",
                              resume=True), "ran with another estimators"),
        (lambda: mlops.automl(X, y, n_trials=1, name="nothing", resume=True),
         "no AutoML search named 'nothing' to resume"),
    ]:
        with pytest.raises(MLOpsUsageError, match=message):
            call()
    assert counts(mlops) == before


def test_the_same_seed_gives_the_same_trials(mlops):
    X, y = data(load_diabetes)

    def trials(seed: int) -> list:
        result = mlops.automl(X, y, n_trials=8, cv=3, seed=seed, name=f"seed{seed}",
                              estimators=["linear", "knn", "random_forest"], progress=False)
        assert result.task == "regression" and result.metric == "r2"
        board = result.leaderboard.sort_values("trial")
        return list(zip(board.estimator, board.params.map(json.dumps), board.score.round(12),
                        strict=True))

    assert trials(0) == trials(0)
    assert trials(0)[3:] != trials(1)[3:]  # after the defaults, other draws


def test_a_registered_dataset_and_its_target_column(mlops):
    X, y = data(load_wine)
    source = mlops.version_dataset(X.assign(cultivar=y), "wine")
    result = mlops.automl("wine@1", "cultivar", n_trials=2, cv=3, estimators=["linear"],
                          progress=False)
    assert result.best_score > 0.9
    run = mlops.get_run(result.run_id)
    assert {(i.ref, i.role) for i in run.inputs} == {
        (f"dataset:{source.ref}", None), ("dataset:automl-train@1", "train")}
    assert "cultivar" not in mlops.load_dataset("automl-train@1").columns


def test_bad_input_is_one_clear_error_and_writes_nothing(mlops):
    X, y = data(load_wine)
    mlops.version_dataset(X.assign(cultivar=y), "wine")
    before = counts(mlops)
    cases = [
        (dict(X="wine@1", y="kind"), "dataset wine@1 has no column 'kind'"),
        (dict(y=pd.Series([1] * len(X))), "y has one class"),
        (dict(metric="rmse"), "metric 'rmse' is for regression, but the task is classification"),
        (dict(metric="f2"), "unknown metric 'f2'"),
        (dict(task="clustering"), "task must be auto, classification or regression"),
        (dict(estimators=["xgboost"]), "unknown estimator family 'xgboost'"),
        (dict(estimators=["linear", "linear"]), "names a family twice"),
        (dict(cv=1), "cv is an integer of at least 2"),
        (dict(n_trials=0), "n_trials is an integer of at least 1"),
        (dict(time_budget=-5), "time_budget is a number of seconds above 0"),
        (dict(time_budget=None, n_trials=None), "give a time_budget"),
        (dict(y=y.head(10)), "X has 178 rows but y has 10"),
        (dict(y=y.astype(float).where(y > 0)), "y has 59 missing values"),
        (dict(register="a/b"), "model name 'a/b' may not contain /"),
        (dict(task="regression", y=y.astype(str)), "a regression needs a numeric y"),
        (dict(metric="log_loss", estimators=["svm"]), "svm give no probabilities"),
        (dict(X=[1, 2, 3]), "X is a DataFrame or a 2-d array"),
    ]
    for overrides, message in cases:
        kwargs = {"X": X, "y": y, "n_trials": 1, "progress": False, **overrides}
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.automl(kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    assert counts(mlops) == before


def test_the_automl_magic(ip, mlops, capsys):
    from IPython.core.error import UsageError

    X, y = data(load_wine)
    ip.user_ns.update(X=X, y=y, labels=y.astype(str))
    result = ip.run_line_magic("automl", "X y --trials 3 --cv 3 --estimators linear,knn "
                                         "--register wine-auto --name magic")
    assert result.study == "magic" and result.model_version.ref == "wine-auto@1"
    assert len(result.leaderboard) == 3
    # labels as text: still a classification, with the metric asked for
    assert ip.run_line_magic("automl", "X labels --trials 1 --cv 3 --metric f1 "
                                       "--estimators linear").metric == "f1"
    before = counts(mlops)
    for line, message in [("X nothing --trials 1", "no variable named 'nothing'"),
                          ("X y --metric rmse --trials 1", "metric 'rmse' is for regression"),
                          ("X y --task regression --metric f1 --trials 1", "is for classif"),
                          ("X y --budget soon", "argument --budget: invalid float value"),
                          ("X", "the following arguments are required: y")]:
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("automl", line)
    assert counts(mlops) == before
    assert ip.run_line_magic("automl", "--help") is None
    assert "%automl X y" in capsys.readouterr().out
    assert "%automl X y" in ip.find_line_magic("automl").__doc__  # what %automl? shows


def test_the_automl_command(project, mlops, capsys):
    from jupyter_mlops.cli import main

    X, y = data(load_wine)
    mlops.version_dataset(X.assign(cultivar=y), "wine")
    assert main(["automl", "wine@1", "--target", "cultivar", "--trials", "2", "--cv", "3",
                 "--estimators", "linear", "--register", "wine-cli", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "wine-cli@1" and out["trials"]["complete"] == 2
    assert out["best_params"]["estimator"] == "linear"
    before = counts(mlops)
    assert main(["automl", "wine@1", "--target", "kind", "--trials", "1"]) == 2
    assert "has no column 'kind'" in capsys.readouterr().err
    assert main(["automl", "wine@1", "--target", "cultivar", "--metric", "mae"]) == 2
    assert counts(mlops) == before
