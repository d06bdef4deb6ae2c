"""AutoML on a real Dask cluster (a `dask scheduler` and two one-thread `dask worker`
processes on localhost, each in its own folder): the trials run as tasks on both workers,
each trial's nested run written by its worker and tagged `mlops.worker`; budget, resume and
the setting MLOPS_EXECUTOR keep their meaning; an unreachable scheduler, a bad executor and
a worker that cannot reach the store are one clear error each, with nothing written."""

from __future__ import annotations

import pytest
from dask_cluster import dask_cluster, other_host
from sklearn.datasets import load_breast_cancer, load_wine
from sqlalchemy import func, select

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.executors import ExecutorError
from jupyter_mlops.store import tables

FAST = ["linear", "knn", "hist_gradient_boosting"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


def counts(mlops) -> dict[str, int]:
    with mlops.get_store().read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.runs, tables.models, tables.dataset_versions)}


def trial_runs(mlops, result):
    runs = mlops.search_runs(filter=f"tags.`mlops.automl.study` = '{result.study}'")
    return runs[runs.parent_run_id == result.run_id]


def test_the_trials_run_as_tasks_on_both_workers(cluster, mlops):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    result = mlops.automl(X, y, n_trials=8, time_budget=None, cv=3, estimators=FAST,
                          register="cancer", executor=cluster.url, progress=False)
    assert result.best_score > 0.93 and len(result.leaderboard) == 8
    trials = trial_runs(mlops, result)
    assert len(trials) == 8 and set(trials.status) == {"finished"}
    from jupyter_mlops.executors import resolve

    workers = set(resolve(cluster.url).workers())
    assert set(trials["tags.mlops.worker"]) == workers  # written by both workers
    assert trials["metrics.cv_accuracy"].notna().all()
    parent = mlops.get_run(result.run_id)
    assert parent.tags["mlops.executor"] == cluster.url
    assert parent.metrics["trials_complete"] + parent.metrics["trials_pruned"] == 8
    # the winner is refit here, registered with its lineage, and loads
    model = mlops.load_model("cancer@latest")
    assert (model.predict(X.head(20)) == result.best_estimator.predict(X.head(20))).all()


def test_budget_resume_and_the_setting_keep_their_meaning(cluster, mlops, monkeypatch):
    X, y = load_wine(return_X_y=True, as_frame=True)
    first = mlops.automl(X, y, time_budget=6, n_trials=None, cv=3, estimators=FAST,
                         name="wine", executor=cluster.url, progress=False)
    done = len(first.leaderboard)
    assert done >= 3 and first.best_score > 0.9
    monkeypatch.setenv("MLOPS_EXECUTOR", cluster.url)  # what a scheduled run or the CLI uses
    again = mlops.automl(X, y, n_trials=3, time_budget=None, cv=3, estimators=FAST,
                         name="wine", resume=True, progress=False)
    assert again.study == "wine" and sorted(again.leaderboard.trial) == list(range(done + 3))
    assert len(trial_runs(mlops, again)) == 3
    assert mlops.get_run(again.run_id).tags["mlops.executor"] == cluster.url


def test_the_command_runs_a_search_on_the_cluster(cluster, project, mlops, capsys):
    import json

    from conftest import cli

    X, y = load_wine(return_X_y=True, as_frame=True)
    mlops.version_dataset(X.assign(cultivar=y), "wine")
    code, out, err = cli(capsys, "automl", "wine@1", "--target", "cultivar", "--trials", "2",
                         "--cv", "3", "--estimators", "linear", "--executor", cluster.url,
                         "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    runs = mlops.search_runs(filter=f"tags.`mlops.automl.study` = '{result['study']}'")
    trials = runs[runs.parent_run_id == result["run_id"]]
    assert len(trials) == 2 and trials["tags.mlops.worker"].str.startswith("tcp://").all()


def test_unreachable_scheduler_and_bad_executors_write_nothing(mlops, monkeypatch):
    from jupyter_mlops.executors import dask as executors_dask

    monkeypatch.setattr(executors_dask, "CONNECT_TIMEOUT", 2)
    X, y = load_wine(return_X_y=True, as_frame=True)
    before = counts(mlops)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at "
                                            "dask://127.0.0.1:1 within 2 s"):
        mlops.automl(X, y, n_trials=1, executor="dask://127.0.0.1:1", progress=False)
    for bad, message in [("spark://x:7077", "executor is 'local' or a Dask scheduler"),
                         ("dask://host:port/path", "executor is 'local' or a Dask scheduler"),
                         (42, "not a int")]:
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.automl(X, y, n_trials=1, executor=bad, progress=False)
    monkeypatch.setenv("MLOPS_EXECUTOR", "dask://")
    with pytest.raises(MLOpsUsageError, match="executor is 'local' or a Dask scheduler"):
        mlops.automl(X, y, n_trials=1, progress=False)
    assert counts(mlops) == before
    from jupyter_mlops import config

    assert not (config.load().mlops_dir / "automl").exists()  # no study either


def test_a_worker_on_another_host_without_the_store_fails_before_any_work(
        pg_uri, mlops, tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    with dask_cluster(tmp_path / "cluster", workers=1, listen="0.0.0.0") as c, \
            other_host(c, "far"):
        before = counts(mlops)
        with pytest.raises(ExecutorError) as caught:
            mlops.automl(X, y, n_trials=2, executor=c.url, progress=False)
        message = str(caught.value)
        assert "1 of 2 Dask worker(s) cannot reach the store" in message
        assert "tcp://10.77.0.2:" in message and "nothing was submitted" in message
        assert counts(mlops) == before


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_studies_in_a_storage_every_worker_reaches(kind, cluster, pg_uri, mlops, monkeypatch):
    """Workers on other hosts share Optuna's storage: its RDB tables in a PostgreSQL schema of
    their own (never the project's tables), or its journal on Redis."""
    import os

    import optuna
    import psycopg

    if kind == "postgres":
        where = pg_uri
    else:
        redis_url = os.environ.get("MLOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        where = redis_url
    monkeypatch.setenv("MLOPS_AUTOML_STORAGE", where)
    X, y = load_wine(return_X_y=True, as_frame=True)
    result = mlops.automl(X, y, n_trials=4, time_budget=None, cv=3, estimators=FAST,
                          executor=cluster.url, progress=False)
    assert len(trial_runs(mlops, result)) == 4
    from jupyter_mlops.automl.storage import open_storage

    study = optuna.load_study(study_name=result.study, storage=open_storage(where))
    assert len(study.trials) == 4
    from jupyter_mlops import config

    assert not (config.load().mlops_dir / "automl").exists()  # no journal file here
    if kind == "postgres":
        with psycopg.connect(pg_uri) as conn:
            schemas = {r[0] for r in conn.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables "
                "WHERE table_name = 'trials'")}
        assert schemas == {"mlops_optuna"}  # Optuna's tables, beside the project's, not in them
