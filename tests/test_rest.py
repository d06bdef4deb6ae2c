"""The REST API of the server extension, against a real Jupyter server (pytest-jupyter):
authentication and authorization on every route, XSRF, JSON errors, every endpoint."""

from __future__ import annotations

import json
import re
import urllib.parse

import numpy as np
import pandas as pd
from tornado.httpclient import HTTPClientError

from jupyter_mlops.server.routes import ROUTES

SAMPLE = {"run_id": "0123456789abcdef", "key": "loss", "name": "thing", "version": "1"}


async def raw(client, url: str, method: str = "GET", headers=None, body=None):
    try:
        resp = await client.fetch(url, method=method, headers=headers or {}, body=body,
                                  allow_nonstandard_methods=True, raise_error=False)
    except HTTPClientError as err:
        resp = err.response
    return resp


def values(array) -> list:
    """A plotly JSON array: a list, or plotly's typed-array form (base64 with a dtype)."""
    if isinstance(array, dict):
        import base64

        return np.frombuffer(base64.b64decode(array["bdata"]), array["dtype"]).tolist()
    return list(array)


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: SAMPLE.get(m.group(1), "x"), template)


async def test_every_route_refuses_a_request_without_credentials(
        jp_serverapp, http_server_client, jp_base_url, mlops):
    methods_seen = 0
    for template, handler in ROUTES:
        for method in handler.operations():
            url = f"{jp_base_url}mlops/api{concrete(template)}"
            body = b"{}" if method in ("post", "put", "patch") else None
            resp = await raw(http_server_client, url, method.upper(), body=body)
            assert resp.code == 403, (method, url, resp.code)
            methods_seen += 1
    assert methods_seen >= len(ROUTES)


async def test_openapi_documents_every_route(api):
    status, doc = await api("openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    expected = {(re.sub(r"\{(\w+)(?::path)?\}", r"{\1}", t), m) for t, h in ROUTES
                for m in h.operations()}
    assert documented == expected


def seed(mlops, n_points: int = 0):
    """Two runs with params, metrics and artifacts, a dataset in two versions, a model."""
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"id": range(6), "x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                          "y": [0, 0, 0, 1, 1, 1]})
    ids = []
    for i, (name, lr) in enumerate((("<img src=x onerror=alert(1)>", 0.1), ("second", 0.2))):
        with mlops.start_run(name=name, experiment="rest", params={"lr": lr}) as run:
            mlops.version_dataset(frame if i == 0 else frame.assign(x=frame.x * 2), "table",
                                  role="train")
            mlops.log_metrics({"acc": 0.5 + i / 10, "loss": 1.0 - i / 10})
            for step in range(5):
                mlops.log_metric("curve", step * (i + 1), step=step)
            mlops.log_artifact({"hello": "world"}, name="sub/data.json")
            model = LogisticRegression().fit(frame[["x"]], frame["y"])
            mlops.register_model(model, "clf")
        ids.append(run.id)
    return ids


async def test_runs_search_run_metric_chart_compare(api, mlops):
    ids = seed(mlops)
    status, page = await api("runs", params={"filter": "params.lr > 0.15", "limit": "10"})
    assert status == 200 and page["total"] == 1 and page["runs"][0]["run_id"] == ids[1]
    status, page = await api("runs", params={"order_by": "metrics.acc ASC", "limit": "1",
                                             "offset": "1", "experiment": "rest"})
    assert status == 200, page
    assert (page["total"], [r["run_id"] for r in page["runs"]]) == (2, [ids[1]])
    assert page["runs"][0]["params.lr"] == 0.2 and page["runs"][0]["metrics.acc"] == 0.6
    status, page = await api("runs", params={"filter": "name = '<img src=x onerror=alert(1)>'"})
    assert page["runs"][0]["name"] == "<img src=x onerror=alert(1)>"  # data, as it was typed

    status, run = await api(f"runs/{ids[0]}")
    assert status == 200 and run["name"] == "<img src=x onerror=alert(1)>"
    assert run["params"] == {"lr": 0.1} and run["metrics"]["acc"] == 0.5
    assert [a["name"] for a in run["artifacts"]] == ["sub/data.json"]
    assert run["inputs"][0]["ref"] == "dataset:table@1"
    assert run["outputs"][0]["ref"] == "model:clf@1"

    status, curve = await api(f"runs/{ids[1][:8]}/metrics/curve")
    assert curve["step"] == [0, 1, 2, 3, 4] and curve["value"] == [0, 2, 4, 6, 8]
    status, figure = await api(f"runs/{ids[0]}/chart", params={"keys": "curve"})
    assert status == 200 and values(figure["data"][0]["y"]) == [0, 1, 2, 3, 4]
    status, figure = await api("charts/metrics", params={"runs": ",".join(ids), "keys": "curve"})
    assert len(figure["data"]) == 2
    status, comparison = await api("compare", params={"runs": ",".join(ids)})
    assert status == 200 and {row["key"] for row in comparison["table"]} >= {"params.lr",
                                                                              "metrics.acc"}
    assert comparison["figure"]["data"]
    status, experiments = await api("experiments")
    assert [e["name"] for e in experiments["experiments"]] == ["rest"]


async def test_a_million_point_history_arrives_small(api, mlops):
    with mlops.start_run(name="long") as run:
        values = np.sin(np.arange(1_000_000) / 1000.0)
        values[123_456] = 50.0  # a spike that must survive the downsampling
        for step, value in enumerate(values):
            mlops.log_metric("wave", float(value), step=step)
    status, curve = await api(f"runs/{run.id}/metrics/wave", params={"max_points": "1000"})
    assert status == 200 and curve["total"] == 1_000_000
    assert len(curve["step"]) <= 1000 and max(curve["value"]) == 50.0
    assert curve["step"][0] == 0 and curve["step"][-1] == 999_999


async def test_artifacts_download_and_refuse_escapes(api, mlops, jp_base_url, http_server_client,
                                                     jp_auth_header):
    ids = seed(mlops)
    base = f"{jp_base_url}mlops/api/runs/{ids[0]}/artifacts/"
    resp = await raw(http_server_client, base + "sub/data.json", headers=jp_auth_header)
    assert resp.code == 200 and resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.body) == {"hello": "world"}
    for name in ("..%2f..%2fetc%2fpasswd", "%2Fetc%2Fpasswd", "sub/../../../etc/passwd",
                 "sub%2f..%2f..%2f.mlops%2fmlops.db", "..", "sub//data.json"):
        resp = await raw(http_server_client, base + name, headers=jp_auth_header)
        assert resp.code in (400, 404), (name, resp.code)
        body = json.loads(resp.body)
        assert body["error"] and "Traceback" not in body["error"], name
    resp = await raw(http_server_client, base + "nope.txt", headers=jp_auth_header)
    assert resp.code == 404 and "has no artifact 'nope.txt'" in json.loads(resp.body)["error"]


async def test_errors_are_json_4xx(api, mlops):
    seed(mlops)
    status, body = await api("runs", params={"filter": "metrics.acc >"})
    assert status == 400 and "expected a value" in body["error"]
    status, body = await api("runs", params={"filter": "bogus.x = 1"})
    assert status == 400 and "unknown field 'bogus.x'" in body["error"]
    status, body = await api("runs", params={"limit": "many"})
    assert status == 400 and "limit must be an integer" in body["error"]
    status, body = await api("runs/ffffffffffffffff")
    assert status == 404 and body["error"]
    status, body = await api("runs/zz")
    assert status == 400
    status, body = await api("datasets/ghost")
    assert status == 404 and "no dataset named 'ghost'" in body["error"]
    status, body = await api("models/clf/versions/9")
    assert status == 404
    status, body = await api("lineage", params={"ref": "nothing@1"})
    assert status == 404 and "nothing named" in body["error"]
    status, body = await api("models/clf/aliases", method="POST", body={"alias": "Prod",
                                                                        "version": 1})
    assert status == 400 and "must match" in body["error"]
    status, body = await api("models/clf/aliases", method="POST", body="not an object")
    assert status == 400


async def test_inputs_that_made_500s_are_400s(api, mlops):
    """Found by schemathesis (tests/test_rest_schema.py): numbers past what the store's
    integer columns and LIMIT/OFFSET hold, and digits str.isdigit accepts that int() does not,
    were answered {"error": "Internal Server Error", "detail": null}; a metric logged as
    infinity made the run, the comparisons and the model comparison answer 500 too."""
    from sklearn.dummy import DummyClassifier

    ids = seed(mlops)
    with mlops.start_run(name="overflowing", experiment="rest") as run:
        mlops.log_metric("overflow", float("inf"))
        X = pd.DataFrame({"x": [0.0, 1.0]})
        mlops.register_model(DummyClassifier().fit(X, [0, 1]), "clf", signature=X)  # clf@3
    huge = "9223372036854775808"
    for path, params, message in (
            ("runs", {"offset": huge}, "offset must be between 0 and 9223372036854775807"),
            ("changes", {"since": huge}, "since must be between 0 and 9223372036854775807"),
            ("runs", {"limit": "\u0663"}, "limit must be an integer"),
            (f"datasets/table/versions/{huge}", None, "versions start at 1 (and end at"),
            ("datasets/table/versions/\u00b2", None, "alias '\u00b2' must match"),
            (f"models/clf/versions/{huge}", None, "versions start at 1"),
            ("models/clf/compare", {"versions": f"1,{huge}"}, "versions start at 1"),
            ("dataset-diff", {"a": "table@1", "b": f"table@{huge}"}, "versions start at 1"),
            ("lineage", {"ref": f"clf@{huge}"}, "versions start at 1"),
            ("drift/wine", {"limit": "1_000"}, "limit must be an integer")):
        status, body = await api(path, params=params)
        assert (status, body["detail"]) == (400, None) and message in body["error"], path
    status, body = await api(f"runs/{run.id}")
    assert status == 200 and body["metrics"]["overflow"] is None  # JSON has no infinity
    status, body = await api("compare", params={"runs": f"{ids[0]},{run.id}"})
    assert status == 200 and body["metrics"][run.id]["overflow"] is None
    status, body = await api("models/clf/compare", params={"versions": "1,3"})
    assert status == 200 and [m.get("overflow") for m in body["metrics"].values()] == [None, None]


async def test_names_with_a_nul_are_refused_on_both_stores(backend, api, mlops):
    """PostgreSQL refuses NUL in text: a name holding one was answered 503, as if the store
    were down; names may not hold control characters, so it is a 400 on either store."""
    for path in ("datasets/a\x00b", "models/a\x00b", "features/a\x00b", "drift/a\x00b",
                 "models/a\x00b/versions/1"):
        status, body = await api(path)
        assert status == 400 and "may not contain control characters" in body["error"], path
    status, body = await api("models/a\x00b/aliases", method="POST",
                             body={"alias": "production", "version": 1})
    assert status == 400


async def test_datasets_models_lineage(api, mlops):
    ids = seed(mlops)
    status, body = await api("datasets")
    assert [d["name"] for d in body["datasets"]] == ["table"]
    status, body = await api("datasets/table")
    assert [v["version"] for v in body["versions"]] == [1, 2]
    status, body = await api("datasets/table/versions/latest")
    assert body["version"] == 2 and body["profile"]["x"]["max"] == 10.0
    assert "sketch" not in body["profile"]["x"] and body["table"][1]["column"] == "x"
    status, body = await api("dataset-diff", params={"a": "table@1", "b": "table@2", "key": "id"})
    assert status == 200 and body["figure"]["data"]
    status, body = await api("models")
    assert body["models"][0]["name"] == "clf" and body["models"][0]["versions"] == 2
    status, body = await api("models/clf/versions/2")
    assert body["run_id"] == ids[1] and body["signature"]["inputs"] == [{"name": "x",
                                                                         "type": "float"}]
    status, body = await api("models/clf/compare", params={"versions": "1,2"})
    assert [row["key"] for row in body["table"]][:1] == ["params.lr"]
    status, body = await api("lineage", params={"ref": "model:clf@1"})
    assert status == 200 and body["root"] == "model:clf@1"
    assert f"run:{ids[0]}" in {n["id"] for n in body["nodes"]} and body["figure"]["data"]


async def login(client, base_url: str, auth_header: dict) -> dict[str, str]:
    """A browser's session: the login cookie and the XSRF token, as JupyterLab sends them."""
    token = auth_header["Authorization"].split()[1]
    resp = await raw(client, f"{base_url}lab?token={token}")
    cookies = "; ".join(c.split(";")[0] for c in resp.headers.get_list("Set-Cookie"))
    xsrf = urllib.parse.unquote(re.search(r"_xsrf=([^;]+)", cookies).group(1))
    return {"Cookie": cookies, "X-XSRFToken": xsrf}


async def test_alias_moves_and_gates_are_recorded_under_the_jupyter_user(
        http_server_client, jp_base_url, jp_auth_header, mlops):
    import getpass

    seed(mlops)
    session = await login(http_server_client, jp_base_url, jp_auth_header)

    async def call(path, method="GET", body=None):
        resp = await raw(http_server_client, f"{jp_base_url}{path}", method, headers=session,
                         body=None if body is None else json.dumps(body))
        return resp.code, json.loads(resp.body)

    status, me = await call("api/me")
    me = me["identity"]["username"]
    assert me and me != getpass.getuser()
    status, body = await call("mlops/api/models/clf/aliases", "POST",
                              {"alias": "production", "version": 1, "comment": "via rest"})
    assert status == 200 and body["aliases"] == ["production"]
    status, body = await call("mlops/api/models/clf/promote", "POST",
                              {"version": 2, "alias": "production",
                               "require": "metrics.acc > production.metrics.acc + 1"})
    assert status == 400  # arithmetic is not part of the language
    status, body = await call("mlops/api/models/clf/promote", "POST",
                              {"version": 2, "alias": "production",
                               "require": "metrics.acc < production.metrics.acc"})
    assert status == 409
    assert body["error"] == ("clf@2 was not promoted to production: metrics.acc = 0.6 is not < "
                             "production.metrics.acc = 0.5")
    status, body = await call("mlops/api/models/clf/promote", "POST",
                              {"version": 2, "alias": "production",
                               "require": "metrics.acc > production.metrics.acc"})
    assert status == 200 and body["version"] == 2
    status, model = await call("mlops/api/models/clf")
    assert model["aliases"] == {"production": 2}
    assert [(h["actor"], h["to_version"]) for h in model["history"]] == [(me, 1), (me, 2)]
    assert model["history"][0]["comment"] == "via rest"
    status, body = await call("mlops/api/models/clf/aliases?alias=production", "DELETE")
    assert status == 200 and mlops.alias_history("clf")["actor"].tolist() == [me] * 3


async def test_change_feed(api, mlops):
    status, start = await api("changes")
    assert status == 200 and start["changes"] == [] and start["cursor"] == 0
    with mlops.start_run(name="live") as run:
        mlops.log_metric("acc", 0.1)
        mlops.flush()
        status, feed = await api("changes", params={"since": str(start["cursor"])})
        assert {(c["kind"], c["key"], c["action"]) for c in feed["changes"]} >= {
            ("run", run.id, "started"), ("run", run.id, "logged")}
        cursor = feed["cursor"]
        assert cursor == feed["changes"][-1]["seq"]
        mlops.log_metric("acc", 0.2)
        mlops.flush()
    status, feed = await api("changes", params={"since": str(cursor)})
    assert [c["seq"] > cursor for c in feed["changes"]] and feed["changes"]
    assert {c["action"] for c in feed["changes"]} >= {"logged", "finished"}
    status, body = await api("changes", params={"since": "-1"})
    assert status == 400


async def test_xsrf_is_required_for_changes_by_cookie(jp_serverapp, http_server_client,
                                                      jp_base_url, jp_auth_header, mlops):
    seed(mlops)
    session = await login(http_server_client, jp_base_url, jp_auth_header)
    cookie_only = {"Cookie": session["Cookie"]}
    url = f"{jp_base_url}mlops/api/models/clf/aliases"
    body = json.dumps({"alias": "production", "version": 1})
    resp = await raw(http_server_client, url, "POST", headers=cookie_only, body=body)
    assert resp.code == 403 and mlops.alias_history("clf").empty
    resp = await raw(http_server_client, url, "POST", body=body, headers=session)
    assert resp.code == 200 and len(mlops.alias_history("clf")) == 1
    resp = await raw(http_server_client, f"{jp_base_url}mlops/api/runs", headers=cookie_only)
    assert resp.code == 200  # reads need no XSRF token


async def test_a_slow_query_does_not_block_the_server(api, jp_fetch, mlops, monkeypatch):
    import asyncio
    import time

    from jupyter_mlops.server.handlers import runs

    real = runs._runs_page

    def slow(*args, **kwargs):
        time.sleep(1.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "_runs_page", slow)
    started = time.monotonic()
    pending = asyncio.ensure_future(api("runs"))
    await asyncio.sleep(0.1)
    status = await jp_fetch("api", "status")
    answered = time.monotonic() - started
    assert status.code == 200 and answered < 1.0  # the server answered while the query ran
    assert (await pending)[0] == 200 and time.monotonic() - started >= 1.5


async def test_pipelines_list_run_steps_notebook_resume(api, mlops, project):
    import asyncio

    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("result = n * 2")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, project / "double.ipynb")
    mlops.export_pipeline("tiny", notebooks=["double.ipynb"], params={"n": 1},
                          schedule="0 2 * * *")
    status, body = await api("pipelines")
    assert status == 200 and body["pipelines"][0]["pipeline"] == "tiny"
    assert body["pipelines"][0]["schedule"] == "0 2 * * *" and body["pipelines"][0]["next_run"]
    status, body = await api("pipelines/tiny")
    assert body["spec"]["steps"][0]["notebook"] == "double.ipynb" and body["figure"]["data"]
    assert body["parameters"] == [{"parameter": "n", "step": "double", "default": "1",
                                   "source": "pipeline", "help": ""}]
    status, body = await api("pipelines/tiny/runs", method="POST", body={"params": {"m": 1}})
    assert status == 400 and "has no parameter m" in body["error"]
    status, body = await api("pipelines/ghost/runs", method="POST", body={})
    assert status == 404
    status, body = await api("pipelines/tiny/runs", method="POST", body={"params": {"n": 21}})
    assert status == 202 and body["started"]
    run_id = body["run_id"]  # recorded (queued) before the answer: never lost
    assert mlops.list_pipeline_runs("tiny")["run_id"].tolist() == [run_id]
    for _ in range(240):
        runs = mlops.list_pipeline_runs("tiny")
        if runs["status"].iloc[0] not in ("queued", "running"):
            break
        await asyncio.sleep(0.25)
    status, run = await api(f"pipeline-runs/{run_id}")
    assert status == 200 and run["status"] == "finished" and run["params"] == {"n": 21}
    step = run["steps"][0]
    status, executed = await api(f"pipeline-runs/{run_id}/steps/{step['id']}/notebook")
    assert status == 200 and "n = 21" in "".join(
        "".join(c["source"]) for c in executed["cells"])
    status, body = await api(f"pipeline-runs/{run_id}/resume", method="POST", body={})
    assert status == 404 and "nothing to resume" in body["error"]
