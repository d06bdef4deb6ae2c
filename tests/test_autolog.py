"""scikit-learn autolog: params (nested Pipeline names), fit time, score, searches, the model."""

from __future__ import annotations

import pytest

sklearn = pytest.importorskip("sklearn")


@pytest.fixture
def autolog(mlops):
    from jupyter_mlops.tracking import autolog as module

    mlops.autolog()
    yield module
    mlops.autolog(disable=True)


def data():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def test_pipeline_fit_is_logged_with_nested_params_and_model(project, mlops, autolog):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=300))
    with mlops.start_run() as run:
        pipe.fit(X, y)
    params, metrics = run.params, run.metrics
    assert params["logisticregression__C"] == 0.5
    assert params["standardscaler__with_mean"] is True
    assert params["logisticregression"] == "LogisticRegression"
    assert metrics["fit_time_s"] > 0 and 0.8 < metrics["training_score"] <= 1
    assert run.tags["mlops.estimator"] == "sklearn.pipeline.Pipeline"
    model = sio.loads(run.load_artifact("model.skops"),
                      trusted=sio.get_untrusted_types(data=run.load_artifact("model.skops")))
    assert (model.predict(X) == pipe.predict(X)).all()


def test_search_logs_best_params_and_each_later_fit_gets_a_nested_run(project, mlops, autolog):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X, y = data()
    with mlops.start_run(name="search") as run:
        GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 3]}, cv=3).fit(X, y)
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert run.params["best.max_depth"] == 3
    assert 0.5 < run.metrics["best_cv_score"] <= 1
    children = mlops.search_runs(filter=f"parent_run_id = '{run.id}'")
    assert children["name"].tolist() == ["RandomForestClassifier"]
    assert children.loc[0, "params.n_estimators"] == 5
    # the CV's internal fits and sklearn's own helper fits log nothing
    assert len(mlops.search_runs()) == 2


def test_off_outside_runs_and_when_disabled(project, mlops, autolog):
    from sklearn.linear_model import LogisticRegression

    X, y = data()
    LogisticRegression(max_iter=300).fit(X, y)  # no active run: nothing happens
    assert mlops.search_runs().empty
    mlops.autolog(disable=True)
    with mlops.start_run() as run:
        LogisticRegression(max_iter=300).fit(X, y)
    assert run.params == {} and run.artifacts == {}


def test_a_failing_log_never_breaks_the_fit(project, mlops, autolog, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setattr(autolog, "log_model", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    monkeypatch.setattr(autolog, "_warned", False)
    X, y = data()
    with mlops.start_run(), pytest.warns(RuntimeWarning, match="autolog skipped a fit: OSError: disk"):
        model = LogisticRegression(max_iter=300).fit(X, y)
    assert model.coef_ is not None
