"""MLflow as the oracle of `search_runs` through the plugin: the same runs logged by MLflow's
client into an MLflow SQLite store and into `mlops:`, then every filter × ordering below
asked of both through MLflow's client; both must return the same runs in the same order
(runs are told apart by name: their ids differ between the stores)."""

from __future__ import annotations

import math
import time

import mlflow  # the extra jupyter-mlops[mlflow], installed for the tests
import pytest
from mlflow.entities import Metric, Param, RunTag

START = 1_700_000_000_000

FILTERS = [
    "",
    "metrics.acc > 0.5",
    "metrics.acc >= 0.5",
    "metrics.acc < 0.3",
    "metrics.acc <= 0.3",
    "metrics.acc = 0.5",
    "metrics.acc != 0.5",
    "metrics.loss > 1 and metrics.acc < 0.9",
    "metrics.`acc` > 0.25",
    "tags.team IS NULL",
    "params.opt IS NOT NULL",
    "params.depth = '3'",
    "params.depth != '3'",
    "params.depth LIKE '1%'",
    "params.opt ILIKE 'ADAM'",
    "params.opt LIKE 'adam'",
    "tags.team LIKE 'a%'",
    "params.lr = '0.1'",
    "params.lr = '0.10'",
    "params.`depth` = '3' and params.opt = 'sgd'",
    "params.depth IS NULL",
    "tags.team = 'a'",
    "tags.team != 'a'",
    "tags.team LIKE '%b%'",
    "tags.team ILIKE 'A'",
    "tags.`mlflow.runName` LIKE 'run-1%'",
    "tags.team IS NOT NULL",
    "attributes.run_name = 'run-3'",
    "attributes.run_name LIKE 'run-1%'",
    "attributes.run_name ILIKE 'RUN-2%'",
    "attributes.run_name != 'run-1'",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'FAILED'",
    "attributes.status LIKE 'RUN%'",
    f"attributes.start_time > {START + 10_000}",
    f"attributes.start_time <= {START + 5_000}",
    f"attributes.created >= {START + 7_000}",
    f"attributes.end_time < {START + 20_000}",
    "datasets.name = 'train'",
    "datasets.context = 'training'",
    "datasets.digest = 'abc123'",
    "metrics.acc > 0.2 and params.depth = '3' and tags.team = 'a'",
]

ORDERINGS = [
    None,
    ["metrics.acc DESC"],
    ["params.depth ASC", "tags.team DESC"],
    ["attributes.run_name"],
]


def _log(client: mlflow.MlflowClient) -> None:
    """24 runs with gaps: some lack a metric, a param or a tag; one metric is NaN; statuses
    and datasets vary; every run starts at its own millisecond (so ties fall back to the
    same start time order in both stores, never to the run ids, which differ)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    exp = client.create_experiment("oracle")
    for i in range(24):
        run = client.create_run(exp, start_time=START + 1000 * i, run_name=f"run-{i}")
        rid = run.info.run_id
        metrics = [Metric("loss", 2.0 - i / 12, START + i, 0)]
        if i % 5:
            acc = float("nan") if i == 7 else round(i / 24, 3) if i != 12 else 0.5
            metrics += [Metric("acc", 0.1, START + i, 0), Metric("acc", acc, START + i + 1, 1)]
        params = [Param("lr", "0.1" if i % 2 else "0.01")]
        if i % 4:
            params.append(Param("depth", str(i % 3 + (10 if i % 7 == 0 else 1))))
        params.append(Param("opt", ["adam", "Adam", "sgd"][i % 3]))
        tags = [RunTag("team", ["a", "b", "ab", "A"][i % 4])] if i % 6 else []
        client.log_batch(rid, metrics=metrics, params=params, tags=tags)
        if i % 3 == 0:
            client.log_inputs(rid, [DatasetInput(
                Dataset("train" if i % 2 else "test", "abc123" if i % 4 else "def456", "local",
                        "/data"), [InputTag("mlflow.data.context", "training" if i % 2 else
                                            "eval")])])
        status = ["FINISHED", "FAILED", "KILLED", "RUNNING"][i % 4]
        if status != "RUNNING":
            client.set_terminated(rid, status, end_time=START + 1000 * i + 500)
    deleted = client.create_run(exp, start_time=START + 99_000, run_name="deleted")
    client.delete_run(deleted.info.run_id)
    for i, name in enumerate(["exp-a", "exp-b", "Exp-c", "other", "gone"]):
        time.sleep(0.002)  # each its own creation millisecond
        made = client.create_experiment(name, tags={"team": "x" if i % 2 else "y"} if i != 2
                                        else None)
        if name == "gone":
            client.delete_experiment(made)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """(MLflow's SQLite store, the plugin's store), holding the same runs."""
    root = tmp_path_factory.mktemp("oracle")
    (root / "project" / ".mlops").mkdir(parents=True)
    theirs = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    ours = mlflow.MlflowClient(tracking_uri=f"mlops://{root}/project")
    for client in (theirs, ours):
        _log(client)
    return theirs, ours


def _names(client, filter_string, order_by, **kwargs):
    exp = client.get_experiment_by_name("oracle").experiment_id
    return [r.info.run_name for r in client.search_runs([exp], filter_string, order_by=order_by,
                                                        **kwargs)]


@pytest.mark.parametrize("order_by", ORDERINGS, ids=lambda o: ",".join(o or ["default"]))
@pytest.mark.parametrize("filter_string", FILTERS)
def test_search_runs_answers_as_mlflows_own_store(stores, filter_string, order_by):
    theirs, ours = stores
    expected = _names(theirs, filter_string, order_by)
    assert _names(ours, filter_string, order_by) == expected


def test_the_oracle_is_not_trivial(stores):
    """The filters split the runs in many ways (a filter matching all or none of them every
    time would prove nothing)."""
    theirs, _ = stores
    sizes = {len(_names(theirs, f, None)) for f in FILTERS}
    assert len(sizes) > 10 and 0 in sizes and 24 in sizes


@pytest.mark.parametrize("view", ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"])
def test_view_types_and_pages_agree(stores, view):
    from mlflow.entities import ViewType

    theirs, ours = stores
    kind = getattr(ViewType, view)
    for order_by in ORDERINGS:
        expected = _names(theirs, "", order_by, run_view_type=kind)
        pages, token = [], None
        while True:
            exp = ours.get_experiment_by_name("oracle").experiment_id
            page = ours.search_runs([exp], "", run_view_type=kind, order_by=order_by,
                                    max_results=5, page_token=token)
            pages += [r.info.run_name for r in page]
            token = page.token
            if not token:
                break
        assert pages == expected


def test_runs_read_back_as_mlflows_store_has_them(stores):
    theirs, ours = stores

    def by_name(client):
        exp = client.get_experiment_by_name("oracle").experiment_id
        return {r.info.run_name: r for r in client.search_runs([exp], "")}

    mine, oracle = by_name(ours), by_name(theirs)
    assert mine.keys() == oracle.keys()
    for name, expected in oracle.items():
        got = mine[name]
        assert got.data.params == expected.data.params
        assert {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.source")} == {
            k: v for k, v in expected.data.tags.items() if not k.startswith("mlflow.source")}
        assert got.data.metrics.keys() == expected.data.metrics.keys()
        for key, value in expected.data.metrics.items():
            assert got.data.metrics[key] == value or (math.isnan(value) and math.isnan(
                got.data.metrics[key]))
        assert (got.info.status, got.info.start_time, got.info.end_time) == (
            expected.info.status, expected.info.start_time, expected.info.end_time)
        assert [(d.dataset.name, d.dataset.digest) for d in got.inputs.dataset_inputs] == [
            (d.dataset.name, d.dataset.digest) for d in expected.inputs.dataset_inputs]


@pytest.mark.parametrize("filter_string", [
    "metrics.acc IS NULL", "attributes.nonsense = 'x'", "metrics.acc LIKE '0.5'",
    "params.depth > '3' or params.depth < '1'", "acc > 1", "metrics.acc > 'high'",
    "params.depth = 3", "tags.team = a",
])
def test_filters_mlflow_refuses_are_refused_here_too(stores, filter_string):
    theirs, ours = stores
    with pytest.raises(mlflow.MlflowException) as oracle:
        _names(theirs, filter_string, None)
    with pytest.raises(mlflow.MlflowException) as mine:
        _names(ours, filter_string, None)
    assert mine.value.error_code == oracle.value.error_code == "INVALID_PARAMETER_VALUE"


EXPERIMENT_FILTERS = ["", "name = 'exp-a'", "name != 'exp-a'", "name LIKE 'exp-%'",
                      "name ILIKE 'EXP-%'", "tags.team = 'x'", "tags.team != 'x'",
                      "tags.team IS NULL", "tags.team LIKE '%y'", "name LIKE '%e%' and tags.team = 'y'"]
EXPERIMENT_ORDERINGS = [None, ["name DESC"], ["creation_time ASC"], ["last_update_time DESC"]]


@pytest.mark.parametrize("order_by", EXPERIMENT_ORDERINGS, ids=lambda o: ",".join(o or ["default"]))
@pytest.mark.parametrize("filter_string", EXPERIMENT_FILTERS)
@pytest.mark.parametrize("view", ["ACTIVE_ONLY", "ALL"])
def test_search_experiments_answers_as_mlflows_own_store(stores, filter_string, order_by, view):
    from mlflow.entities import ViewType

    def names(client, **kwargs):
        found, token = [], None
        while True:
            page = client.search_experiments(view_type=getattr(ViewType, view),
                                             filter_string=filter_string, order_by=order_by,
                                             page_token=token, **kwargs)
            found += [e.name for e in page]
            token = page.token
            if not token:
                return found

    theirs, ours = stores
    assert names(ours, max_results=2) == names(theirs)
