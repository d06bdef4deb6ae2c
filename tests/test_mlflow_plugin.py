"""MLflow's own client writing into the store through the `mlops` URI scheme: MLflow's example
code unchanged but for the tracking URI, MLflow's semantics where they differ from ours, the
registry through MlflowClient, and what the plugin refuses (each one clear MlflowException,
nothing written)."""

from __future__ import annotations

import filecmp
import time

import mlflow  # the extra jupyter-mlops[mlflow], installed for the tests
import numpy as np
import pytest


@pytest.fixture
def tracking(project, monkeypatch):
    """MLflow pointed at the project's store, as a user does (MLFLOW_TRACKING_URI); the
    `project` fixture forgets MLflow's process-wide state before and after."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "mlops:")
    mlflow.set_tracking_uri("mlops:")
    return mlflow


def _counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import metadata

    with get_store().read() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in metadata.tables.items() if name != "changes"}


def test_mlflows_quickstart_logs_ordinary_runs(tracking, project, tmp_path):
    """MLflow's tracking quickstart (start_run, params, metrics with steps, an artifact),
    then the same run read back through MLflow and through jupyter-mlops."""
    import jupyter_mlops as mlops

    features = tmp_path / "features.txt"
    features.write_text("rooms, zipcode, median_price, school_rating, transport")
    mlflow.set_experiment("quickstart")
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("param1", 5)
        mlflow.log_params({"param2": "x", "lr": 0.01})
        for step in range(10):
            mlflow.log_metric("foo", step * 1.5, step=step)
        mlflow.log_metrics({"rmse": 0.71, "r2": 0.3})
        mlflow.set_tag("release.version", "2.2.0")
        mlflow.log_artifact(str(features))
        mlflow.log_dict({"k": [1, 2]}, "config/settings.json")

    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "first"
    assert got.data.params == {"param1": "5", "param2": "x", "lr": "0.01"}
    assert got.data.metrics == {"foo": 13.5, "rmse": 0.71, "r2": 0.3}
    assert got.data.tags["release.version"] == "2.2.0"
    assert got.data.tags["mlflow.runName"] == "first"
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "foo")
    assert [(m.step, m.value) for m in history] == [(s, s * 1.5) for s in range(10)]
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "dl"))
    assert filecmp.cmp(features, f"{local}/features.txt", shallow=False)
    listed = mlflow.MlflowClient().list_artifacts(run.info.run_id)
    assert [(f.path, f.is_dir) for f in listed] == [("config", True), ("features.txt", False)]
    whole = mlflow.artifacts.download_artifacts(artifact_uri=run.info.artifact_uri,
                                                dst_path=str(tmp_path / "whole"))
    assert filecmp.cmp(features, f"{whole}/features.txt", shallow=False)
    assert [f.path for f in mlflow.artifacts.list_artifacts(
        artifact_uri=f"{run.info.artifact_uri}/config")] == ["config/settings.json"]

    ours = mlops.get_run(run.info.run_id)  # an ordinary run here
    assert ours.experiment == "quickstart" and ours.status == "finished"
    assert ours.metrics["foo"] == 13.5 and len(ours.metric_history("foo")) == 10
    assert set(ours.artifacts) == {"features.txt", "config/settings.json"}
    assert ours.tags["release.version"] == "2.2.0"
    assert ours.environment["python"]
    frame = mlops.search_runs(experiment="quickstart", filter="params.param1 = '5'")
    assert list(frame["run_id"]) == [run.info.run_id]


def test_mlflow_sklearn_autolog_on_a_grid_search(tracking):
    """`mlflow.sklearn.autolog()` on a grid search: a parent run, a child run per candidate,
    the best model logged (MLflow 3's logged model) and loadable, by MLflow and here."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    mlflow.sklearn.autolog()
    try:
        iris = load_iris()
        parameters = {"kernel": ("linear", "rbf"), "C": [1, 10]}
        clf = GridSearchCV(SVC(), parameters)
        with mlflow.start_run() as run:
            clf.fit(iris.data, iris.target)
    finally:
        mlflow.sklearn.autolog(disable=True)
    client = mlflow.MlflowClient()
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(children) == 4
    assert {(c.data.params["kernel"], c.data.params["C"]) for c in children} == {
        ("linear", "1"), ("linear", "10"), ("rbf", "1"), ("rbf", "10")}
    parent = client.get_run(run.info.run_id)
    assert parent.data.metrics["best_cv_score"] > 0.9
    model_id = parent.outputs.model_outputs[0].model_id
    model = mlflow.sklearn.load_model(f"models:/{model_id}")
    assert (model.predict(iris.data) == clf.predict(iris.data)).all()

    import jupyter_mlops as mlops

    frame = mlops.search_runs()
    assert len(frame) == 5
    assert set(frame.loc[frame["parent_run_id"].notna(), "parent_run_id"]) == {run.info.run_id}


def test_registering_a_model_with_mlflowclient_and_setting_aliases(tracking):
    """MLflow's registry workflow: log a model, register it, set aliases and tags, load by
    alias. The version is an ordinary version here (its run as lineage, the alias move in
    the alias history, loadable with allow_pickle since scikit-learn's MLflow format pickles)."""
    from mlflow.models import infer_signature
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import ElasticNet

    import jupyter_mlops as mlops
    from jupyter_mlops.errors import TrustError

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = ElasticNet(alpha=0.01).fit(X, y)
    with mlflow.start_run() as run:  # MLflow's default for scikit-learn here: skops
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="diabetes",
                                        signature=infer_signature(X, model.predict(X)))
    client = mlflow.MlflowClient()
    version = client.get_model_version("diabetes", "1")
    assert version.run_id == run.info.run_id and version.model_id == info.model_id
    client.update_registered_model("diabetes", description="first")
    client.set_registered_model_tag("diabetes", "team", "a")
    client.set_registered_model_alias("diabetes", "champion", "1")
    client.set_model_version_tag("diabetes", "1", "validated", "yes")
    by_alias = client.get_model_version_by_alias("diabetes", "champion")
    assert by_alias.version == "1" and by_alias.tags == {"validated": "yes"}
    registered = client.get_registered_model("diabetes")
    assert registered.aliases == {"champion": "1"} and registered.tags == {"team": "a"}
    assert registered.description == "first"
    assert [v.version for v in client.search_model_versions("name = 'diabetes'")] == ["1"]
    loaded = mlflow.pyfunc.load_model("models:/diabetes@champion")
    assert np.allclose(loaded.predict(X), model.predict(X))

    ours = mlops.get_model_version("diabetes@champion")  # an ordinary version here
    assert ours.flavor == "mlflow" and ours.run_id == run.info.run_id
    assert (mlops.load_model("diabetes@champion").predict(X) == model.predict(X)).all()
    history = mlops.alias_history("diabetes")
    assert list(history["alias"]) == ["champion"] and list(history["to_version"]) == [1]
    assert any(n.ref == "model:diabetes@1" for n in mlops.get_run(run.info.run_id).outputs)

    with mlflow.start_run() as run2:  # a pickled model loads only with allow_pickle
        info2 = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
    client.create_model_version("diabetes", info2.model_uri, run2.info.run_id)
    with pytest.raises(TrustError, match="allow_pickle"):
        mlops.load_model("diabetes@2")
    again = mlops.load_model("diabetes@2", allow_pickle=True)
    assert (again.predict(X) == model.predict(X)).all()

    client.delete_registered_model_alias("diabetes", "champion")
    assert len(mlops.alias_history("diabetes")) == 2
    with pytest.raises(mlflow.MlflowException, match="stages are deprecated"):
        client.transition_model_version_stage("diabetes", "1", "Production")


def test_mlflow_semantics_hold_where_they_differ(tracking):
    """Params are exact strings; system tags round-trip; millisecond times stay exact; a
    batch is one transaction; page tokens walk a search."""
    client = mlflow.MlflowClient()
    exp = client.create_experiment("semantics", tags={"owner": "x"})
    assert client.get_experiment(exp).tags == {"owner": "x"}
    start = 1_700_000_000_123
    run = client.create_run(exp, start_time=start, run_name="r",
                            tags={"mlflow.source.name": "train.py", "mlflow.user": "ada"})
    rid = run.info.run_id
    client.log_param(rid, "depth", "3.0")
    client.log_param(rid, "depth", "3.0")  # the same value again: fine
    with pytest.raises(mlflow.MlflowException, match="Changing param values is not allowed"):
        client.log_param(rid, "depth", "3")
    client.log_metric(rid, "m", 1.5, timestamp=start + 7, step=2)
    client.set_terminated(rid, "FINISHED", end_time=start + 999)
    got = client.get_run(rid)
    assert got.data.params == {"depth": "3.0"}
    assert got.info.start_time == start and got.info.end_time == start + 999
    assert got.data.tags["mlflow.source.name"] == "train.py" and got.data.tags[
        "mlflow.user"] == "ada"
    assert [(m.timestamp, m.step) for m in client.get_metric_history(rid, "m")] == [(start + 7, 2)]
    assert client.search_runs([exp], "params.depth = '3.0'")[0].info.run_id == rid
    assert client.search_runs([exp], "params.depth = '3'") == []
    assert client.search_runs([exp], f"attributes.start_time = {start}")[0].info.run_id == rid

    from mlflow.entities import Metric, Param

    before = _counts()
    with pytest.raises(mlflow.MlflowException):  # the clash refuses the whole batch
        client.log_batch(rid, metrics=[Metric("n", 1.0, start, 0)], params=[Param("depth", "4")])
    assert _counts() == before and "n" not in client.get_run(rid).data.metrics

    for i in range(5):
        client.create_run(exp, start_time=start + 1000 + i, run_name=f"p{i}")
    names, token = [], None
    while True:
        page = client.search_runs([exp], "", max_results=2, page_token=token)
        names += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert names == ["p4", "p3", "p2", "p1", "p0", "r"]


def test_the_plugin_refuses_clearly_and_writes_nothing(tracking):
    client = mlflow.MlflowClient()
    exp = client.create_experiment("refusals")
    run = client.create_run(exp)
    before = _counts()
    with pytest.raises(mlflow.MlflowException, match="GenAI feature 'traces'"):
        client.search_traces(experiment_ids=[exp])
    with pytest.raises(mlflow.MlflowException) as missing:
        client.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(mlflow.MlflowException, match="Invalid clause|Invalid attribute key"):
        client.search_runs([exp], "attributes.nonsense = 'x'")
    with pytest.raises(mlflow.MlflowException, match="already exists"):
        client.create_experiment("refusals")
    with pytest.raises(mlflow.MlflowException, match="artifact_location"):
        client.create_experiment("elsewhere", artifact_location="s3://bucket/x")
    with pytest.raises(mlflow.MlflowException, match="alias"):
        client.create_registered_model("m")
        client.set_registered_model_alias("m", "latest", "1")
    client.delete_registered_model("m")
    assert _counts() == before
    client.delete_run(run.info.run_id)
    with pytest.raises(mlflow.MlflowException, match="must be in the 'active' state"):
        client.log_param(run.info.run_id, "a", "1")
    with pytest.raises(mlflow.MlflowException, match="not an mlops URI"):
        mlflow.MlflowClient(tracking_uri="mlops://somehost/x").get_experiment("0")


def test_runs_made_by_mlflow_in_a_kernel_record_their_cells(tracking, ip):
    """Inside IPython, an MLflow run records the cells run while it is active and keeps a
    notebook snapshot, as a %%track run does."""
    import jupyter_mlops as mlops

    for cell in ("import mlflow\nrun = mlflow.start_run(run_name='in-kernel')",
                 "x = 6 * 7\nmlflow.log_metric('answer', x)\nprint(x)", "mlflow.end_run()"):
        assert ip.run_cell(cell, store_history=True).success
    run = mlops.get_run(ip.user_ns["run"].info.run_id)
    sources = [c for c in run.cells()["source"]]
    assert any("x = 6 * 7" in s for s in sources)
    snapshot = run.notebook()
    assert snapshot is not None and any("x = 6 * 7" in c.source for c in snapshot.cells)


def test_the_plugin_on_postgresql(pg_uri, monkeypatch):
    """`mlops+postgresql://` names a team-style store by its database URI."""
    uri = "mlops+" + pg_uri
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("pg")
    run = client.create_run(exp, run_name="on-pg", start_time=int(time.time() * 1000))
    client.log_batch(run.info.run_id, metrics=[
        mlflow.entities.Metric("acc", 0.1 * i, 1_700_000_000_000 + i, i) for i in range(100)])
    client.set_terminated(run.info.run_id)
    found = client.search_runs([exp], "metrics.acc > 9")
    assert [r.info.run_name for r in found] == ["on-pg"]
    assert len(client.get_metric_history(run.info.run_id, "acc")) == 100


def test_mlflow_moving_a_protected_alias_of_a_team_store_is_permission_denied(team):
    """On a team store a contributor's MLflow client cannot move `production`: the answer is
    PERMISSION_DENIED naming request_promotion, and the alias stays where it was."""
    uri = "mlops+" + team.uri_of(team.users["contributor"])
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    from pathlib import Path
    from tempfile import mkdtemp

    from sklearn.linear_model import LinearRegression

    path = Path(mkdtemp()) / "model"
    mlflow.sklearn.save_model(LinearRegression().fit([[0], [1]], [0, 1]), str(path))
    client.create_registered_model("team-model")
    client.create_model_version("team-model", str(path))
    client.set_registered_model_alias("team-model", "staging", "1")  # unprotected: fine
    with pytest.raises(mlflow.MlflowException, match="request_promotion") as refused:
        client.set_registered_model_alias("team-model", "production", "1")
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert client.get_registered_model("team-model").aliases == {"staging": "1"}


async def test_the_sidebar_shows_mlflows_runs_and_their_lineage(tracking, api):
    """What MLflow logged is what the sidebar reads (the REST API under it): the run with its
    params, metrics and artifacts, and the registered version's lineage back to the run."""
    from sklearn.linear_model import LinearRegression

    with mlflow.start_run(run_name="from-mlflow") as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25)
        mlflow.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]), name="model",
                                 registered_model_name="mlflow-lr")
    status, page = await api("runs", params={"filter": "name = 'from-mlflow'"})
    assert status == 200 and [r["run_id"] for r in page["runs"]] == [run.info.run_id]
    status, shown = await api(f"runs/{run.info.run_id}")
    assert shown["params"] == {"alpha": "0.5"} and shown["metrics"]["rmse"] == 0.25
    status, graph = await api("lineage", params={"ref": "mlflow-lr@1"})
    assert status == 200, graph
    assert any(node["id"] == f"run:{run.info.run_id}" for node in graph["nodes"])


@pytest.mark.parametrize("kind", ["tracking", "registry"])
def test_every_method_mlflows_base_leaves_unimplemented_is_implemented_or_refused(kind):
    """Every abstract method of MLflow's store base classes, and every method they leave
    raising NotImplementedError (the GenAI ones among them), has this store's own version:
    an implementation, or one clear refusal naming the feature."""
    import inspect

    if kind == "tracking":
        from mlflow.store.tracking.abstract_store import AbstractStore

        from jupyter_mlops.mlflow.tracking_store import MlopsTrackingStore as Ours
    else:
        from mlflow.store.model_registry.abstract_store import AbstractStore

        from jupyter_mlops.mlflow.registry_store import MlopsRegistryStore as Ours
    assert not getattr(Ours, "__abstractmethods__", None)
    missing = []
    for base in AbstractStore.__mro__[:-1]:
        for name, member in vars(base).items():
            if name.startswith("__") or not callable(member):
                continue
            source = inspect.getsource(member)
            unimplemented = ("NotImplementedError" in source or "abstractmethod" in source
                             or "MlflowNotImplementedException" in source)
            if unimplemented and getattr(Ours, name) is member:
                missing.append(name)
    # the registry's prompts and webhooks are MLflow GenAI/server features it inherits
    allowed = {n for n in missing if kind == "registry" and ("prompt" in n or "webhook" in n
                                                           or n.startswith("_"))}
    assert sorted(set(missing) - allowed) == []


def test_logged_models_and_the_registry_searches(tracking):
    """MLflow 3's logged models (search, tags, metrics linked to a model) and the registry's
    searches, renames and deletions, through MLflow's client."""
    from sklearn.linear_model import LinearRegression

    client = mlflow.MlflowClient()
    mlflow.set_experiment("logged")
    with mlflow.start_run():
        first = mlflow.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]),
                                         name="small", params={"fit_intercept": "True"})
        second = mlflow.sklearn.log_model(LinearRegression().fit([[0], [2]], [0, 1]),
                                          name="other")
        mlflow.log_metric("r2", 0.97, model_id=first.model_id)
    client.set_logged_model_tags(first.model_id, {"reviewed": "yes"})
    exp = client.get_experiment_by_name("logged").experiment_id
    found = mlflow.search_logged_models(experiment_ids=[exp], filter_string="name = 'small'",
                                        output_format="list")
    assert [m.model_id for m in found] == [first.model_id]
    model = client.get_logged_model(first.model_id)
    assert model.artifact_location == f"mlops-artifacts:/models/{first.model_id}"
    files = mlflow.artifacts.list_artifacts(artifact_uri=model.artifact_location)
    assert "MLmodel" in {f.path.rsplit("/", 1)[-1] for f in files}
    assert model.tags["reviewed"] == "yes" and model.params == {"fit_intercept": "True"}
    assert [(m.key, m.value) for m in model.metrics] == [("r2", 0.97)]
    assert str(model.status) == "READY"
    by_metric = mlflow.search_logged_models(experiment_ids=[exp], filter_string="metrics.r2 > 0.9",
                                            output_format="list")
    assert [m.model_id for m in by_metric] == [first.model_id]

    for info, name in ((first, "alpha-model"), (second, "beta-model")):
        mlflow.register_model(info.model_uri, name)
    names = [m.name for m in client.search_registered_models(filter_string="name LIKE '%-model'",
                                                             order_by=["name DESC"])]
    assert names == ["beta-model", "alpha-model"]
    client.rename_registered_model("beta-model", "gamma-model")
    assert [v.name for v in client.search_model_versions("name = 'gamma-model'")] == [
        "gamma-model"]
    client.delete_model_version("gamma-model", "1")
    with pytest.raises(mlflow.MlflowException) as gone:
        client.get_model_version("gamma-model", "1")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model("gamma-model")
    assert [m.name for m in client.search_registered_models()] == ["alpha-model"]
