"""The REST API of the Experiments workspace, against a real Jupyter server (pytest-jupyter):
grouped runs pages with chosen columns, the fields of a column picker, charts across runs,
single-value metrics as values, an AutoML search rebuilt from its runs, the model view's
per-version metrics, inputs and drift, and who the user is and may be on a team store."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from test_rest import values

BASE = ["run_id", "name", "experiment", "status", "start_time", "end_time", "parent_run_id",
        "user", "child_count"]


def tree(mlops):
    """A solo run and a search with three trials (only the second is above 0.81)."""
    with mlops.start_run(name="solo", experiment="ws", params={"depth": 3}, tags={"team": "a"}
                         ) as solo:
        for step in range(4):
            mlops.log_metric("loss", 1.0 / (step + 1), step=step)
        mlops.log_metric("acc", 0.5)
    with mlops.start_run(name="search", experiment="ws", params={"depth": 1}) as parent:
        mlops.log_metric("acc", 0.1)
        trials = []
        for i in range(3):
            with mlops.start_run(name=f"trial-{i}", nested=True, params={"depth": 10 + i}) as t:
                mlops.log_metric("acc", [0.8, 0.9, 0.7][i])
            trials.append(t.id)
    return solo.id, parent.id, trials


async def test_runs_pages_are_grouped_with_the_columns_asked(api, mlops):
    solo, parent, trials = tree(mlops)
    status, page = await api("runs", params={"experiment": "ws"})
    assert status == 200 and page["total"] == 2
    assert [(r["run_id"], r["child_count"]) for r in page["runs"]] == [(parent, 3), (solo, 0)]
    assert page["columns"] == ["metrics.acc", "metrics.loss", "params.depth"]  # the defaults
    assert list(page["runs"][0]) == [*BASE, *page["columns"]]

    status, page = await api("runs", params={"columns": "params.depth,metrics.acc,tags.team,host",
                                             "order_by": "metrics.acc DESC"})
    assert status == 200, page
    assert page["columns"] == ["params.depth", "metrics.acc", "tags.team", "host"]
    rows = page["runs"]
    assert [r["run_id"] for r in rows] == [solo, parent]
    assert all(list(r) == [*BASE, *page["columns"]] for r in rows)
    assert rows[1]["tags.team"] is None and rows[0]["tags.team"] == "a"
    assert rows[0]["params.depth"] == 3 and rows[0]["metrics.acc"] == 0.5

    # a filter that matches only a trial: its parent, with how many of its children match
    status, page = await api("runs", params={"filter": "metrics.acc > 0.85",
                                             "columns": "metrics.acc"})
    assert status == 200 and page["total"] == 1
    (row,) = page["runs"]
    assert (row["run_id"], row["child_count"], row["matched_children"]) == (parent, 3, 1)
    assert list(row) == [*BASE, "matched_children", "metrics.acc"]

    status, page = await api("runs", params={"parent": parent[:8], "columns": "metrics.acc",
                                             "order_by": "metrics.acc DESC", "limit": "2"})
    assert status == 200 and page["total"] == 3
    assert [r["run_id"] for r in page["runs"]] == [trials[1], trials[0]]
    status, page = await api("runs", params={"parent": parent, "filter": "metrics.acc > 0.85"})
    assert [r["run_id"] for r in page["runs"]] == [trials[1]] and page["total"] == 1

    status, page = await api("runs", params={"flat": "true", "experiment": "ws"})
    assert status == 200 and page["total"] == 5 and "child_count" not in page["runs"][0]
    assert {"notebook", "params.depth", "metrics.acc", "tags.team"} <= set(page["runs"][0])
    status, page = await api("runs", params={"flat": "true", "columns": "metrics.acc"})
    assert page["total"] == 5 and all(list(r) == [*BASE, "metrics.acc"] for r in page["runs"])


@pytest.mark.parametrize(("params", "code", "fragment"), [
    ({"columns": "metrics.acc,params.nope,tags.nope,bogus"}, 400,
     "unknown fields bogus, params.nope, tags.nope:"),
    ({"columns": "metrics.loss", "experiment": "other"}, 400, "unknown field metrics.loss"),
    ({"parent": "0123456789abcdef"}, 404, "no run with id starting 0123456789abcdef"),
    ({"parent": "not-a-run"}, 400, "is not a run id"),
    ({"filter": "metrics.acc >"}, 400, "expected a value"),
    ({"filter": "bogus.x = 1"}, 400, "unknown field 'bogus.x'"),
    ({"flat": "maybe"}, 400, "flat must be true or false"),
    ({"order_by": "metrics.`acc"}, 400, "acc"),
])
async def test_bad_runs_queries_are_4xx_naming_what_is_wrong(api, mlops, params, code,
                                                             fragment):
    tree(mlops)
    with mlops.start_run(name="elsewhere", experiment="other"):
        mlops.log_metric("acc", 1.0)
    status, body = await api("runs", params=params)
    assert status == code, body
    assert fragment in body["error"], body["error"]


async def test_run_fields(api, mlops):
    tree(mlops)
    with mlops.start_run(name="elsewhere", experiment="other", tags={"x": "1"}):
        mlops.log_metric("other_metric", 1.0)
    status, fields = await api("runs/fields", params={"experiment": "ws"})
    assert status == 200
    assert (fields["params"], fields["metrics"], fields["tags"]) == (["depth"], ["acc", "loss"],
                                                                    ["team"])
    assert {"name", "status", "start_time", "duration"} <= set(fields["attributes"])
    status, fields = await api("runs/fields")
    assert fields["metrics"] == ["acc", "loss", "other_metric"] and fields["tags"] == ["team", "x"]
    status, body = await api("runs/fields", params={"experiment": "ghost"})
    assert status == 400 and "no experiment named 'ghost'" in body["error"]


async def test_charts_across_runs(api, mlops):
    ids = []
    for i in range(200):
        with mlops.start_run(name=f"r{i}", experiment="many",
                             params={"depth": i % 5, "model": ["rf", "gbm"][i % 2]}) as run:
            mlops.log_metric("acc", i / 200)
        ids.append(run.id)
    status, fig = await api("charts/runs", params={
        "kind": "parallel", "fields": "params.depth,params.model,metrics.acc",
        "experiment": "many", "filter": "metrics.acc >= 0"})
    assert status == 200, fig
    (trace,) = fig["data"]
    assert trace["type"] == "parcoords"
    assert [d["label"] for d in trace["dimensions"]] == ["params.depth", "params.model",
                                                         "metrics.acc"]
    assert all(len(values(d["values"])) == 200 for d in trace["dimensions"])
    status, fig = await api("charts/runs", params={"kind": "scatter",
                                                   "fields": "params.depth,metrics.acc",
                                                   "runs": ",".join(ids[:3])})
    assert status == 200 and fig["data"][0]["text"] == ["r0", "r1", "r2"]
    status, fig = await api("charts/runs", params={"kind": "bars", "fields": "metrics.acc",
                                                   "experiment": "many", "limit": "10"})
    assert status == 200 and fig["data"][0]["type"] == "bar"
    assert fig["data"][0]["x"] == [f"r{i}" for i in range(199, 189, -1)]
    for params, fragment in (
            ({"kind": "pie", "fields": "metrics.acc"}, "kind must be one of"),
            ({"fields": "metrics.acc"}, "give kind=parallel, scatter or bars"),
            ({"kind": "parallel"}, "give fields=FIELD,FIELD"),
            ({"kind": "parallel", "fields": "metrics.acc,params.nope"}, "params.nope"),
            ({"kind": "scatter", "fields": "metrics.acc"}, "two fields"),
            ({"kind": "parallel", "fields": "metrics.acc", "limit": "10001"}, "limit must be"),
            ({"kind": "parallel", "fields": "metrics.acc", "filter": "x"}, "unknown field")):
        status, body = await api("charts/runs", params=params)
        assert status == 400 and fragment in body["error"], (params, body)
    status, body = await api("charts/runs", params={"kind": "bars", "fields": "metrics.acc",
                                                    "runs": "0123456789abcdef"})
    assert status == 404


async def test_single_value_metrics_are_values_in_the_run_view_and_compare(api, mlops):
    solo, parent, trials = tree(mlops)
    status, run = await api(f"runs/{solo}")
    assert status == 200 and run["metric_points"] == {"acc": 1, "loss": 4}
    assert run["kind"] == "run"
    status, fig = await api(f"runs/{solo}/chart")
    kinds = [t["type"] for t in fig["data"]]
    assert kinds == ["scatter", "table"]
    assert len(values(fig["data"][0]["y"])) == 4 and fig["data"][1]["cells"]["values"][0] == ["acc"]
    status, comparison = await api("compare", params={"runs": f"{solo},{trials[0]}"})
    assert status == 200
    assert [t["type"] for t in comparison["figure"]["data"]] == ["table"]  # acc: one value each


async def test_an_automl_search_rebuilt_from_its_runs(api, mlops):
    X, y = load_iris(return_X_y=True, as_frame=True)
    result = mlops.automl(X, y, n_trials=6, time_budget=None, cv=3, progress=False,
                          estimators=["linear", "knn"], experiment="am")
    status, run = await api(f"runs/{result.run_id}")
    assert status == 200 and run["kind"] == "automl"
    status, search = await api(f"runs/{result.run_id[:8]}/automl")
    assert status == 200, search
    assert (search["metric"], search["direction"], search["trials"]) == ("accuracy", "maximize",
                                                                         6)
    assert search["best"]["run_id"] == result.leaderboard.iloc[0].run_id
    assert search["best"]["score"] == pytest.approx(result.best_score)
    assert search["best"]["params"] == result.best_params
    board = result.leaderboard
    assert [r["run_id"] for r in search["leaderboard"]] == board.run_id.tolist()
    assert [r["folds"] for r in search["leaderboard"]] == board.folds.tolist()
    assert [r["params"] for r in search["leaderboard"]] == board.params.tolist()
    expected = json.loads(result.figure("history").to_json())["data"]
    assert [t["name"] for t in search["history"]["data"]] == [t["name"] for t in expected]
    assert search["importances"]["data"][0]["type"] == "bar"
    # the same from the Python API, and its importances match the study's
    from jupyter_mlops.automl.recorded import recorded_search

    recorded = recorded_search(result.run_id)
    assert recorded.to_frame().drop(columns="params").equals(board.drop(columns="params"))
    assert recorded.importances().keys() == result.importances().keys()

    status, body = await api(f"runs/{board.iloc[0].run_id}/automl")  # a trial, not a search
    assert status == 404 and "is not an AutoML search" in body["error"]
    status, body = await api("runs/0123456789abcdef/automl")
    assert status == 404


async def test_model_versions_carry_metrics_inputs_and_drift(api, mlops):
    X, y = load_iris(return_X_y=True, as_frame=True)
    for i in range(2):
        with mlops.start_run(name=f"fit-{i}", experiment="models"):
            mlops.version_dataset(X.iloc[: 100 + 20 * i], "iris", role="train")
            mlops.log_metrics({"acc": 0.9 + i / 100})
            model = LogisticRegression(max_iter=500).fit(X, y)
            mlops.register_model(model, "clf", alias="production" if i else None)
    with mlops.start_run(name="no-inputs", experiment="models"):
        mlops.register_model(model, "clf", signature=X)
    shifted = X.assign(**{"sepal length (cm)": X["sepal length (cm)"] * 3 + 10})
    mlops.monitor("clf@production", shifted, actuals=y)
    status, model_ = await api("models/clf")
    assert status == 200, model_
    v1, v2, v3 = model_["versions"]
    assert (v1["metrics"], v2["metrics"], v3["metrics"]) == ({"acc": 0.9}, {"acc": 0.91}, {})
    assert v1["inputs"] == [{"ref": "dataset:iris@1", "digest": _digest("iris@1")}]
    assert v2["inputs"][0]["ref"] == "dataset:iris@2" and v3["inputs"] == []
    assert v1["drift"] == {"status": "unmonitored", "at": None, "drift_share": None}
    assert v2["drift"]["status"] in ("ok", "drifted") and v2["drift"]["drift_share"] >= 0
    assert isinstance(v2["drift"]["at"], float)
    history = mlops.drift_history("clf@production").to_frame()
    assert v2["drift"]["status"] == ("drifted" if history.drifted.iloc[-1] else "ok")
    frame = mlops.list_models("clf", details=True)
    assert frame.columns.tolist()[-3:] == ["metrics", "inputs", "drift"]
    assert frame.drift.iloc[1] == v2["drift"]


def _digest(ref: str) -> str:
    from jupyter_mlops.data.versions import get_version

    return get_version(ref).digest


async def test_me_on_a_store_that_is_not_a_team_store(api, mlops):
    status, me = await api("me")
    assert status == 200
    assert me["team"] is False and me["role"] is None and me["user"]
    assert me["may"] == {"run": True, "promote": True, "request": False, "approve": False,
                         "policy": True}


async def test_me_on_a_team_store_for_each_role(api, team, mlops):
    seen = {}
    for role in ("viewer", "contributor", "maintainer", "service"):
        with team.acting_as(team.users[role]):
            status, me = await api("me")
            assert status == 200, me
            seen[role] = me
            assert me["user"] == team.users[role] and me["team"] is True
    assert seen["viewer"]["role"] == "viewer" and not any(seen["viewer"]["may"].values())
    assert seen["contributor"]["role"] == "contributor"
    assert seen["contributor"]["may"] == {"run": True, "promote": True, "request": True,
                                          "approve": False, "policy": False}
    assert seen["maintainer"]["role"] == "maintainer"
    assert seen["maintainer"]["may"] == {"run": True, "promote": True, "request": True,
                                         "approve": True, "policy": True}
    # the service role (scheduler, serve, monitor) is no person's: it reads like a viewer
    assert seen["service"]["role"] == "viewer" and not any(seen["service"]["may"].values())
    # what `may` says is what the database allows
    with team.acting_as(team.users["viewer"]), pytest.raises(Exception, match="refused"):
        mlops.start_run(name="nope", experiment="x")
    with team.acting_as(team.users["contributor"]), mlops.start_run(name="fine", experiment="x"):
        pass
    assert pd.notna(mlops.search_runs("x")["run_id"].iloc[0])
