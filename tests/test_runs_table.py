"""The runs table of the Experiments view, in the Python API: grouped pages (top-level runs,
or one run's children) with their counts, a filter that keeps the parents of what it matches,
chosen columns (only those read, unknown ones refused), sorting on any of them, the fields a
column picker offers, charts across runs, and single-value metrics drawn as values. The
queries themselves run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import math
import random

import pandas as pd
import pytest

from jupyter_mlops.errors import FilterSyntaxError, MLOpsUsageError, NotFoundError

BASE = ["run_id", "name", "experiment", "status", "start_time", "end_time", "parent_run_id",
        "user"]


def search_tree(mlops):
    """A solo run and a search with three trials, one of which has a child of its own."""
    with mlops.start_run(name="solo", experiment="e", params={"depth": 3},
                         tags={"team": "a"}) as solo:
        mlops.log_metric("acc", 0.5)
    with mlops.start_run(name="search", experiment="e", params={"depth": 1}) as parent:
        mlops.log_metric("acc", 0.1)
        trials = []
        for i in range(3):
            with mlops.start_run(name=f"trial-{i}", nested=True,
                                 params={"depth": 10 + i, "kind": "x"}) as trial:
                mlops.log_metric("acc", 0.80 + i / 100)
                if i == 0:
                    with mlops.start_run(name="refit", nested=True) as grandchild:
                        mlops.log_metric("refit_acc", 0.99)
            trials.append(trial.id)
    return solo.id, parent.id, trials, grandchild.id


def test_grouped_pages_are_top_level_runs_with_their_children_counted(backend, mlops):
    solo, parent, trials, grandchild = search_tree(mlops)
    frame = mlops.search_runs("e", nested=True)
    assert frame["run_id"].tolist() == [parent, solo]  # newest first
    assert frame["child_count"].tolist() == [3, 0]
    assert "matched_children" not in frame  # no filter
    assert mlops.search_runs("e", nested=True).shape[0] == 2
    from jupyter_mlops.tracking.search import count_runs

    assert (count_runs("e"), count_runs("e", nested=True)) == (6, 2)
    children = mlops.search_runs(parent=parent[:8], order_by="name")
    assert children["run_id"].tolist() == trials
    assert children["child_count"].tolist() == [1, 0, 0]
    assert count_runs(parent=parent) == 3
    assert mlops.search_runs(parent=trials[0])["run_id"].tolist() == [grandchild]
    # an archived child is neither a row nor counted, unless archived runs are asked for
    from jupyter_mlops.tracking.manage import delete_run

    delete_run(trials[2])
    assert mlops.search_runs("e", nested=True)["child_count"].tolist() == [2, 0]
    assert mlops.search_runs("e", nested=True, include_archived=True)[
        "child_count"].tolist() == [3, 0]
    assert count_runs(parent=parent) == 2
    # the flat search is what it was: every run, every key
    flat = mlops.search_runs("e")
    assert len(flat) == 5 and "notebook" in flat and "child_count" not in flat
    assert {"params.depth", "params.kind", "metrics.acc", "metrics.refit_acc",
            "tags.team"} <= set(flat.columns)


def test_a_filter_matching_only_a_child_returns_its_parent_with_the_count(backend, mlops):
    solo, parent, trials, grandchild = search_tree(mlops)
    from jupyter_mlops.tracking.search import count_runs

    page = mlops.search_runs("e", nested=True, filter="metrics.acc > 0.805")
    assert page["run_id"].tolist() == [parent]  # the parent itself does not match
    assert page["matched_children"].tolist() == [2] and page["child_count"].tolist() == [3]
    assert count_runs("e", nested=True, filter="metrics.acc > 0.805") == 1
    # a match two levels down keeps both runs above it: the trial holding it counts
    page = mlops.search_runs("e", nested=True, filter="metrics.refit_acc > 0.9")
    assert page["run_id"].tolist() == [parent] and page["matched_children"].tolist() == [1]
    children = mlops.search_runs(parent=parent, filter="metrics.refit_acc > 0.9")
    assert children["run_id"].tolist() == [trials[0]]
    assert children["matched_children"].tolist() == [1]
    # a parent that matches by itself shows 0 matching children
    page = mlops.search_runs("e", nested=True, filter="params.depth < 5")
    assert set(page["run_id"]) == {parent, solo}
    assert page.set_index("run_id")["matched_children"].to_dict() == {parent: 0, solo: 0}
    assert mlops.search_runs("e", nested=True, filter="metrics.acc > 5").empty
    with pytest.raises(FilterSyntaxError):
        mlops.search_runs("e", nested=True, filter="metrics.acc >")


def test_a_parent_that_does_not_exist_is_not_found(mlops):
    search_tree(mlops)
    with pytest.raises(NotFoundError, match="no run with id starting 0123abcd"):
        mlops.search_runs(parent="0123abcd")
    with pytest.raises(MLOpsUsageError, match="not a run id"):
        mlops.search_runs(parent="nope")


def test_columns_are_exactly_those_asked_with_nulls_where_a_run_has_none(backend, mlops):
    solo, parent, trials, _ = search_tree(mlops)
    asked = ["params.depth", "metrics.acc", "tags.team", "params.kind", "host", "duration",
             "name", "params.depth"]  # a base field and a repeat add nothing
    frame = mlops.search_runs("e", nested=True, columns=asked)
    assert frame.columns.tolist() == [*BASE, "child_count", "params.depth", "metrics.acc",
                                      "tags.team", "params.kind", "host", "duration"]
    rows = frame.set_index("run_id")
    assert rows.loc[solo, "tags.team"] == "a" and rows.loc[parent, "tags.team"] is None
    assert rows.loc[parent, "params.kind"] is pd.NA or rows.loc[parent, "params.kind"] is None
    assert str(frame["params.depth"].dtype) == "Int64" and frame["metrics.acc"].dtype == float
    assert (frame["duration"] >= 0).all() and frame["host"].notna().all()
    trial_rows = mlops.search_runs(parent=parent, columns="params.kind")
    assert trial_rows.columns.tolist() == [*BASE, "child_count", "params.kind"]
    assert trial_rows["params.kind"].tolist() == ["x", "x", "x"]
    flat = mlops.search_runs("e", columns=["metrics.acc"])  # flat, only that column
    assert flat.columns.tolist() == [*BASE, "child_count", "metrics.acc"] and len(flat) == 6


def test_keys_with_odd_characters_in_columns(mlops):
    with mlops.start_run(name="odd", experiment="o"):
        mlops.log_metrics({"val/loss": 0.25, "a b": 1.0})
    frame = mlops.search_runs("o", columns=["metrics.val/loss", "metrics.`a b`"])
    assert frame["metrics.val/loss"].tolist() == [0.25] and frame["metrics.a b"].tolist() == [1.0]
    assert mlops.search_runs("o", order_by="metrics.`val/loss` DESC", columns=[
        "metrics.val/loss"])["name"].tolist() == ["odd"]


def test_unknown_columns_are_refused_naming_every_one(backend, mlops):
    search_tree(mlops)
    with mlops.start_run(name="other", experiment="f", params={"only_in_f": 1}):
        pass
    with pytest.raises(MLOpsUsageError) as err:
        mlops.search_runs("e", nested=True, columns=["params.depth", "params.only_in_f",
                                                     "metrics.nope", "bogus", "params."])
    message = str(err.value)
    for name in ("params.only_in_f", "metrics.nope", "bogus", "params."):
        assert name in message
    assert "params.depth," not in message and "'e'" in message
    # a key of another experiment is known when searching every experiment
    frame = mlops.search_runs(nested=True, columns=["params.only_in_f"])
    assert frame.set_index("name")["params.only_in_f"].to_dict()["other"] == 1
    with pytest.raises(MLOpsUsageError, match="unknown field tags.team"):
        mlops.search_runs("f", columns=["tags.team"])  # a key of experiment e only


def test_default_columns_are_the_most_common_metrics_and_params_of_the_page(mlops):
    for i in range(4):
        with mlops.start_run(name=f"r{i}", experiment="d",
                             params={"a": i, "b": i, "c": i} if i else {"z": 1}):
            mlops.log_metrics({"m1": 1.0, "m2": 2.0, "m3": 3.0, "m4": 4.0} if i else
                              {"m9": 9.0})
    frame = mlops.search_runs("d", nested=True)
    assert frame.columns.tolist() == [*BASE, "child_count", "metrics.m1", "metrics.m2",
                                      "metrics.m3", "params.a", "params.b"]


def test_sorting_by_a_chosen_metric_gives_the_right_top_row(backend, mlops):
    rng = random.Random(7)
    values = {}
    for i in range(300):
        with mlops.start_run(name=f"run-{i}", experiment="many",
                             params={"lr": rng.choice([0.1, 0.01, 0.001]), "seed": i}) as run:
            acc = rng.random()
            mlops.log_metrics({"acc": acc, "loss": 1 - acc})
            if i % 50 == 0:
                with mlops.start_run(name=f"child-{i}", nested=True):
                    mlops.log_metric("acc", 2.0)  # better than any parent: not a row
        values[run.id] = acc
    best = max(values, key=values.get)
    page = mlops.search_runs("many", nested=True, order_by="metrics.acc DESC", limit=10,
                             columns=["metrics.acc", "params.lr"])
    assert page["run_id"].iloc[0] == best and page["metrics.acc"].is_monotonic_decreasing
    page = mlops.search_runs("many", nested=True, order_by=["metrics.loss ASC"], limit=1,
                             offset=0, columns=["metrics.loss"])
    assert page["run_id"].tolist() == [best]
    worst = min(values, key=values.get)
    page = mlops.search_runs("many", nested=True, order_by="metrics.acc ASC", limit=5,
                             offset=0, columns=["metrics.acc"])
    assert page["run_id"].iloc[0] == worst
    # a param column sorts numerically, ties broken by the next key
    page = mlops.search_runs("many", nested=True, order_by=["params.lr DESC",
                                                            "metrics.acc DESC"],
                             columns=["params.lr", "metrics.acc"], limit=300)
    assert len(page) == 300 and page["params.lr"].iloc[0] == 0.1
    top = {k: v for k, v in values.items() if page.set_index("run_id").loc[k, "params.lr"] == 0.1}
    assert page["run_id"].iloc[0] == max(top, key=top.get)


def test_run_fields_lists_every_key_per_experiment(mlops):
    search_tree(mlops)
    with mlops.start_run(name="other", experiment="f", params={"only_in_f": 1},
                         tags={"zz": "1"}):
        mlops.log_metric("f_metric", 1.0)
    from jupyter_mlops.tracking.columns import run_fields

    fields = run_fields("e")
    assert fields == {"attributes": sorted(fields["attributes"]), "params": ["depth", "kind"],
                      "metrics": ["acc", "refit_acc"], "tags": ["team"]}
    assert {"name", "status", "duration", "host", "notebook"} <= set(fields["attributes"])
    every = run_fields()
    assert every["params"] == ["depth", "kind", "only_in_f"] and "zz" in every["tags"]
    assert run_fields(["e", "f"])["metrics"] == ["acc", "f_metric", "refit_acc"]
    with pytest.raises(MLOpsUsageError, match="no experiment named 'ghost'"):
        run_fields("ghost")


def test_parallel_coordinates_hold_one_value_per_run(mlops):
    for i in range(200):
        with mlops.start_run(name=f"r{i}", experiment="par",
                             params={"depth": i % 7, "model": ["rf", "gbm"][i % 2]}):
            mlops.log_metric("acc", i / 200)
    from jupyter_mlops.tracking.charts import runs_chart

    fig = runs_chart("parallel", ["params.depth", "params.model", "metrics.acc"],
                     experiment="par", filter="metrics.acc >= 0")
    (trace,) = json.loads(fig.to_json())["data"]
    assert trace["type"] == "parcoords" and len(trace["dimensions"]) == 3
    assert all(len(d["values"]) == 200 for d in trace["dimensions"])
    model = trace["dimensions"][1]
    assert model["ticktext"] == ["gbm", "rf"] and set(model["values"]) == {0, 1}
    assert len(trace["line"]["color"]) == 200  # coloured by the last metric by default
    assert trace["line"]["colorbar"]["title"]["text"] == "metrics.acc"
    assert len(json.loads(runs_chart("parallel", "metrics.acc", experiment="par", limit=50)
                          .to_json())["data"][0]["dimensions"][0]["values"]) == 50


def test_scatter_and_bars_across_chosen_runs(mlops):
    ids = []
    for i, name in enumerate(("a", "b", "a")):
        with mlops.start_run(name=name, experiment="sc", params={"lr": 0.1 * (i + 1)}) as run:
            for step in range(3):
                mlops.log_metric("acc", i + step / 10, step=step)
        ids.append(run.id)
    from jupyter_mlops.tracking.charts import runs_chart

    scatter = json.loads(runs_chart("scatter", ["params.lr", "metrics.acc"],
                                    run_ids=[i[:8] for i in ids]).to_json())["data"][0]
    assert scatter["mode"] == "markers" and scatter["text"] == ["a", "b", "a"]
    assert scatter["x"] == pytest.approx([0.1, 0.2, 0.3]) and scatter["y"] == [0.2, 1.2, 2.2]
    bars = json.loads(runs_chart("bars", ["metrics.acc"], experiment="sc").to_json())["data"][0]
    assert bars["type"] == "bar" and bars["y"] == [2.2, 1.2, 0.2]  # final values, newest first
    assert bars["x"] == [f"a ({ids[2][:8]})", "b", f"a ({ids[0][:8]})"]  # repeated names told apart


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "pie", "fields": ["metrics.acc"]}, "kind must be one of parallel, scatter, bars"),
    ({"kind": "scatter", "fields": ["metrics.acc"]}, "a scatter chart takes two fields"),
    ({"kind": "bars", "fields": ["params.lr"]}, "bars show a metric's final value"),
    ({"kind": "parallel", "fields": []}, "a parallel chart takes one or more fields"),
    ({"kind": "parallel", "fields": ["metrics.nope", "bad name"]},
     "unknown fields bad name, metrics.nope"),
    ({"kind": "parallel", "fields": ["metrics.acc"], "color": "tags.nope"},
     "unknown field tags.nope"),
    ({"kind": "parallel", "fields": ["metrics.acc"], "limit": 10_001}, "limit must be"),
    ({"kind": "parallel", "fields": ["metrics.acc"], "filter": "metrics.acc >"},
     "expected a value"),
])
def test_charts_across_runs_refuse_bad_input(mlops, kwargs, message):
    with mlops.start_run(name="x", experiment="sc", params={"lr": 0.1}):
        mlops.log_metric("acc", 1.0)
    from jupyter_mlops.tracking.charts import runs_chart

    with pytest.raises(MLOpsUsageError, match=message):
        runs_chart(**kwargs)


def single_and_history(mlops):
    ids = []
    for i in range(2):
        with mlops.start_run(name=f"r{i}", experiment="sv") as run:
            for step in range(5):
                mlops.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            mlops.log_metrics({"best_score": 0.9 + i / 100, "trials": 17.0})
        ids.append(run.id)
    return ids


def test_single_value_metrics_are_values_never_one_point_lines(mlops):
    ids = single_and_history(mlops)
    run = mlops.get_run(ids[0])
    info = run.to_dict()
    assert info["metric_points"] == {"best_score": 1, "loss": 5, "trials": 1}
    assert info["kind"] == "run"
    from jupyter_mlops.tracking.compare import compare_runs

    for fig in (compare_runs(ids).figure(), _run_chart(run)):
        data = json.loads(fig.to_json())["data"]
        lines = [t for t in data if t["type"] == "scatter"]
        assert lines and all(len(_values(t["y"])) == 5 for t in lines)  # only the history
        (table,) = [t for t in data if t["type"] == "table"]
        assert table["cells"]["values"][0] == ["best_score", "trials"]
    compared = json.loads(compare_runs(ids).figure().to_json())["data"]
    table = next(t for t in compared if t["type"] == "table")
    assert table["header"]["values"][1:] == [f"r{i} ({ids[i][:8]})" for i in range(2)]
    assert table["cells"]["values"][1:] == [["0.9", "17"], ["0.91", "17"]]


def test_a_metric_that_is_one_point_in_one_run_only_is_a_marker_there(mlops):
    ids = single_and_history(mlops)
    with mlops.start_run(name="short", experiment="sv") as run:
        mlops.log_metric("loss", 0.5)
    from jupyter_mlops.tracking.compare import compare_runs

    data = json.loads(compare_runs([*ids, run.id], metric=["loss"]).figure().to_json())["data"]
    modes = [(len(_values(t["y"])), t["mode"]) for t in data]
    assert modes == [(5, "lines+markers"), (5, "lines+markers"), (1, "markers")]


def _run_chart(run):
    from jupyter_mlops.charts.tracking import metric_histories

    keys = sorted(run.metrics)
    return metric_histories({run.name: {k: run.metric_history(k) for k in keys}}, keys)


def _values(array) -> list:
    if isinstance(array, dict):
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), array["dtype"]).tolist()
    return list(array)


def test_nan_metric_values_stay_null(mlops):
    with mlops.start_run(name="nan", experiment="n") as run:
        mlops.log_metric("odd", float("nan"))
    frame = mlops.search_runs("n", columns=["metrics.odd"])
    assert math.isnan(frame["metrics.odd"].iloc[0])
    assert run.to_dict()["metric_points"] == {"odd": 1}
