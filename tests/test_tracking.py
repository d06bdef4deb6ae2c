"""The tracking API and search_runs, on the embedded SQLite store and on real PostgreSQL."""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.errors import FilterSyntaxError, MLOpsUsageError, NotFoundError


def test_run_lifecycle_and_typed_values(backend, mlops):
    with mlops.start_run(name="first", experiment="exp", params={"lr": 0.1, "layers": [1, 2]},
                         tags={"team": "a"}) as run:
        assert mlops.active_run() == run
        assert run.status == "running"
        mlops.log_param("model", "rf")
        mlops.log_params({"depth": 3, "flag": True, "none": None})
        mlops.log_metric("loss", 0.5)
        mlops.log_metric("loss", 0.25)
        mlops.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlops.set_tag("stage", "dev")
    assert mlops.active_run() is None
    run = mlops.get_run(run.id[:10])
    assert run.status == "finished" and run.name == "first" and run.experiment == "exp"
    assert run.params == {"lr": 0.1, "layers": [1, 2], "model": "rf", "depth": 3, "flag": True,
                          "none": None}
    assert isinstance(run.params["depth"], int)
    assert run.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    history = run.metric_history("loss")
    assert history["step"].tolist() == [0, 1] and history["value"].tolist() == [0.5, 0.25]
    assert str(history["timestamp"].dtype).startswith("datetime64")
    assert run.tags == {"team": "a", "stage": "dev"}
    info = run.info
    assert info["end_time"] >= info["start_time"] and info["user"] and info["host"]
    assert run.environment["python"].count(".") == 2


def test_latest_metric_is_highest_step_then_newest(backend, mlops):
    with mlops.start_run() as run:
        mlops.log_metric("m", 3.0, step=5, timestamp=100.0)
        mlops.log_metric("m", 1.0, step=9, timestamp=50.0)
        mlops.log_metric("m", 2.0, step=9, timestamp=60.0)
        mlops.log_metric("m", 7.0, step=2, timestamp=999.0)
        mlops.flush()
        mlops.log_metric("m", 8.0, step=1, timestamp=2000.0)  # a later, lower step
    assert mlops.get_run(run.id).metrics["m"] == 2.0
    assert len(mlops.get_run(run.id).metric_history("m")) == 5


def test_nan_and_infinite_metrics(backend, mlops):
    with mlops.start_run() as run:
        mlops.log_metric("inf", float("inf"))
        mlops.log_metric("nan", float("nan"))
    metrics = mlops.get_run(run.id).metrics
    assert metrics["inf"] == math.inf and math.isnan(metrics["nan"])


def test_nested_runs(backend, mlops):
    with mlops.start_run(name="parent", experiment="e") as parent:
        with mlops.start_run(name="child", nested=True) as child:
            assert mlops.active_run() == child
        assert mlops.active_run() == parent
        with pytest.raises(MLOpsUsageError, match="nested=True"):
            mlops.start_run()
    frame = mlops.search_runs(filter="name = 'child'")
    assert frame.loc[0, "parent_run_id"] == parent.id and frame.loc[0, "experiment"] == "e"


def test_exception_marks_run_failed_and_propagates(backend, mlops):
    with pytest.raises(ZeroDivisionError), mlops.start_run() as run:
        mlops.log_metric("x", 1)
        raise ZeroDivisionError("division by zero")
    run = mlops.get_run(run.id)
    assert run.status == "failed"
    assert run.info["error"] == "ZeroDivisionError: division by zero"
    assert run.metrics == {"x": 1.0}


def test_logging_without_a_run_starts_one(backend, mlops):
    mlops.log_metric("x", 1.0)
    run = mlops.active_run()
    assert run is not None
    mlops.end_run()
    assert mlops.get_run(run.id).status == "finished"
    assert mlops.end_run() is None


def test_bad_input_is_refused_and_writes_nothing(backend, mlops):
    with mlops.start_run(params={"a": 1}) as run:
        with pytest.raises(MLOpsUsageError, match="cannot change"):
            mlops.log_params({"b": 2, "a": 5})
        with pytest.raises(MLOpsUsageError, match="must be a number"):
            mlops.log_metric("x", "high")
        with pytest.raises(MLOpsUsageError, match="must be a number"):
            mlops.log_metrics({"ok": 1.0, "bad": True})
        with pytest.raises(MLOpsUsageError, match="non-empty string"):
            mlops.log_metric("", 1.0)
        with pytest.raises(MLOpsUsageError, match="longer than 250"):
            mlops.set_tag("k" * 300, "v")
        with pytest.raises(MLOpsUsageError, match="step must be an integer"):
            mlops.log_metric("x", 1.0, step=1.5)
        mlops.log_param("a", 1)  # the same value again is fine
    run = mlops.get_run(run.id)
    assert run.params == {"a": 1} and run.metrics == {} and run.tags == {}
    with pytest.raises(NotFoundError):
        mlops.get_run("0123456789abcdef")
    with pytest.raises(MLOpsUsageError, match="not a run id"):
        mlops.get_run("xyz")
    with pytest.raises(MLOpsUsageError, match="status must be"):
        mlops.end_run("done")


@pytest.fixture
def population(mlops):
    """Nine runs in two experiments with params, metrics and tags to search over."""
    ids = {}
    for i in range(9):
        exp = "alpha" if i < 6 else "beta"
        params = {"model": ["rf", "gbm", "lr"][i % 3], "depth": i, "lr": 0.1 * (i + 1)}
        tags = {"team": "x"} if i % 2 else {}
        with mlops.start_run(name=f"run-{i}", experiment=exp, params=params, tags=tags) as run:
            mlops.log_metric("acc", i / 10)
            mlops.log_metric("loss", 1 - i / 10)
            if i == 4:
                mlops.log_metric("val/loss", 0.01)
        ids[i] = run.id
    with pytest.raises(RuntimeError), mlops.start_run(name="broken", experiment="beta"):
        raise RuntimeError("no")
    return ids


def names(frame) -> list[str]:
    return sorted(frame["name"].tolist())


@pytest.mark.parametrize("filter_, expected", [
    ("metrics.acc > 0.6", ["run-7", "run-8"]),
    ("metrics.acc >= 0.6 and params.model = 'rf'", ["run-6"]),
    ("params.model = 'gbm' or params.depth = 0", ["run-0", "run-1", "run-4", "run-7"]),
    ("not (params.model = 'rf' or params.model = 'lr')", ["broken", "run-1", "run-4", "run-7"]),
    ("params.depth > 6", ["run-7", "run-8"]),  # numeric, not text ('10' > '6')
    ("params.depth = '3'", ["run-3"]),
    ("params.model IN ('lr', 'gbm') and metrics.acc < 0.3", ["run-1", "run-2"]),
    ("tags.team = 'x' and metrics.acc < 0.4", ["run-1", "run-3"]),
    ("tags.team != 'x'", []),  # a missing tag never compares
    ("tags.team IS NULL and experiment = 'beta'", ["broken", "run-6", "run-8"]),
    ("name LIKE 'run-1%'", ["run-1"]),
    ("name ILIKE 'RUN-8'", ["run-8"]),
    ("status = 'failed'", ["broken"]),
    ("metrics.acc > metrics.loss", ["run-6", "run-7", "run-8"]),
    ("metrics.`val/loss` < 0.1", ["run-4"]),
    ("start_time > '2000-01-01' and experiment = 'alpha' and params.depth < 2", ["run-0", "run-1"]),
])
def test_search_filters(backend, mlops, population, filter_, expected):
    assert names(mlops.search_runs(filter=filter_)) == expected


def test_search_columns_types_order_and_paging(backend, mlops, population):
    frame = mlops.search_runs(experiment="alpha", order_by="metrics.acc DESC")
    assert frame["name"].tolist() == [f"run-{i}" for i in range(5, -1, -1)]
    for col in ("run_id", "name", "experiment", "status", "start_time", "end_time",
                "parent_run_id", "params.model", "params.depth", "metrics.acc", "tags.team"):
        assert col in frame.columns
    assert str(frame["params.depth"].dtype) == "Int64"
    assert str(frame["metrics.acc"].dtype) == "float64"
    assert str(frame["start_time"].dtype).startswith("datetime64")
    page = mlops.search_runs(experiment=["alpha", "beta"], order_by=["params.model", "name DESC"],
                             limit=3, offset=2)
    assert page["name"].tolist() == ["run-1", "run-8", "run-5"]
    assert len(mlops.search_runs()) == 10
    assert mlops.search_runs(filter="metrics.acc > 5").empty


def test_search_orders_and_filters_by_duration(backend, mlops):
    """duration = end_time - start_time; a run still going has none and sorts last in either
    direction (as every missing value does)."""
    from sqlalchemy import update

    from jupyter_mlops.store.tables import runs

    lengths = {"short": 5.0, "long": 300.0, "middle": 60.0}
    ids = {}
    for name in lengths:
        with mlops.start_run(name=name, experiment="timed") as run:
            pass
        ids[name] = run.id
    going = mlops.start_run(name="going", experiment="timed")
    with mlops.get_store().write() as conn:  # durations a test can rely on
        for name, seconds in lengths.items():
            conn.execute(update(runs).where(runs.c.id == ids[name])
                         .values(start_time=1000.0, end_time=1000.0 + seconds))
    try:
        order = mlops.search_runs(experiment="timed", order_by="duration DESC")
        assert order["name"].tolist() == ["long", "middle", "short", "going"]
        order = mlops.search_runs(experiment="timed", order_by=["duration ASC"])
        assert order["name"].tolist() == ["short", "middle", "long", "going"]
        assert names(mlops.search_runs(filter="duration > 30 and duration <= 60")) == ["middle"]
        assert names(mlops.search_runs(filter="duration IS NULL")) == ["going"]
        with pytest.raises(FilterSyntaxError, match="compare with numbers"):
            mlops.search_runs(filter="duration > 'long'")
    finally:
        mlops.end_run()
    assert going.status == "finished"


def test_search_errors(backend, mlops, population):
    with pytest.raises(FilterSyntaxError, match="position 14"):
        mlops.search_runs(filter="metrics.acc > ")
    with pytest.raises(FilterSyntaxError, match="unknown field 'acc'"):
        mlops.search_runs(filter="acc > 1")
    with pytest.raises(FilterSyntaxError, match="compare with numbers"):
        mlops.search_runs(filter="metrics.acc = 'high'")
    with pytest.raises(MLOpsUsageError, match="no experiment named 'nope'"):
        mlops.search_runs(experiment="nope")
    with pytest.raises(MLOpsUsageError, match="limit"):
        mlops.search_runs(limit=-1)
    with pytest.raises(FilterSyntaxError):
        mlops.search_runs(order_by="metrics.acc SIDEWAYS")


def test_injection_stays_data(backend, mlops):
    evil = "'; DROP TABLE runs; --"
    with mlops.start_run(name=evil, experiment=evil, params={evil: evil}, tags={"t": evil}) as run:
        mlops.log_metric(evil, 1.0)
    frame = mlops.search_runs(filter=f"name = \"{evil}\" and tags.t = \"{evil}\"")
    assert frame["run_id"].tolist() == [run.id]
    assert mlops.get_run(run.id).params == {evil: evil}
    assert mlops.search_runs(experiment=evil)["run_id"].tolist() == [run.id]
    assert mlops.search_runs(filter="params.`'; DROP TABLE runs; --` = 'x'").empty


def test_archive_restore_and_purge(backend, mlops, population):
    from jupyter_mlops.tracking import manage

    manage.delete_run(population[0])
    assert "run-0" not in names(mlops.search_runs())
    assert "run-0" in names(mlops.search_runs(include_archived=True))
    manage.restore_run(population[0])
    assert "run-0" in names(mlops.search_runs())
    assert manage.delete_experiment("beta") == 4
    assert set(mlops.search_runs()["experiment"]) == {"alpha"}
    assert manage.list_experiments()["name"].tolist() == ["alpha"]
    manage.restore_experiment("beta")
    manage.delete_run(population[1], purge=True)
    assert "run-1" not in names(mlops.search_runs(include_archived=True))
    with pytest.raises(NotFoundError):
        mlops.get_run(population[1])
    assert manage.delete_experiment("alpha", purge=True) == 5
    assert manage.list_experiments(include_archived=True)["name"].tolist() == ["beta"]
    with pytest.raises(MLOpsUsageError, match="exists already"):
        manage.create_experiment("beta")


def test_compare_runs(backend, mlops, population):
    comparison = mlops.compare_runs([population[0], population[7]])
    frame = comparison.to_frame(only_differences=True)
    assert "params.model" in frame.index and "metrics.acc" in frame.index
    fig = comparison.figure()  # each run logged one value per metric: a table, no lines
    labels = [f"run-0 ({population[0][:8]})", f"run-7 ({population[7][:8]})"]
    assert [t.type for t in fig.data] == ["table"]
    assert list(fig.data[0].header.values) == ["metric", *labels]
    assert comparison.to_dict()["keys"] == ["acc", "loss"]
    with pytest.raises(MLOpsUsageError, match="none of these runs has the metric"):
        mlops.compare_runs([population[0]], metric="nope")


def test_set_experiment_and_default(project, mlops, monkeypatch):
    with mlops.start_run() as run:
        pass
    assert run.experiment == "Default"
    monkeypatch.setenv("MLOPS_EXPERIMENT", "from-env")
    with mlops.start_run() as run:
        pass
    assert run.experiment == "from-env"
    mlops.set_experiment("chosen")
    with mlops.start_run() as run:
        pass
    assert run.experiment == "chosen"
