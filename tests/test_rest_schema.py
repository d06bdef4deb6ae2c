"""The whole REST API against its OpenAPI document, with schemathesis: a real Jupyter server
(its own process) on a store holding something of every kind (tests/rest_store.py), every
operation of the document called with generated input, valid and invalid, and every answer
checked: never a server error, its status and content type documented, its body matching the
schema. Then each GET is called once with real names and ids, and must answer 2xx, its body
matching too. Every route added to the table is in the document, so it is tested here."""

from __future__ import annotations

from http.cookiejar import DefaultCookiePolicy

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from jupyter_process import jupyter_server, shared_project
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from jupyter_mlops.server.openapi import document

DOCUMENT = document()
# the token is sent by the session, never generated (nor left out on purpose)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=SchemathesisConfig.from_dict(
    {"generation": {"with-security-parameters": False}}))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
EXAMPLES = 12  # per operation and kind (valid, invalid): 50 operations, about 1,200 requests


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The seeded project, its store shared with the server below."""
    from rest_store import seed

    import jupyter_mlops

    root = tmp_path_factory.mktemp("rest-schema") / "project"
    root.mkdir()
    with shared_project(root):
        yield root, seed(jupyter_mlops, root)


@pytest.fixture(scope="module")
def server(seeded, tmp_path_factory):
    """A Jupyter server with the extension on the seeded project: (API base URL, session)."""
    root, _ = seeded
    with jupyter_server("jupyter_server", root, tmp_path_factory.mktemp("server"),
                        "--ServerApp.jpserver_extensions=jupyter_mlops=True") as running:
        session = requests.Session()
        session.headers["Authorization"] = f"token {running.token}"
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the token alone
        yield f"{running.base}mlops/api", session
        session.close()
    assert not running.errors(), "the server logged errors:\n" + "\n".join(running.errors())


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, server):
    base, session = server
    case.call_and_validate(base_url=base, session=session, checks=CHECKS)


def real_values(seeded) -> dict[tuple[str, str], dict]:
    """For each GET of the document: the path and query parameters of one request that must
    succeed on the seeded store."""
    _, s = seeded
    run, other = s.runs
    return {
        "/experiments": {},
        "/runs": {"query": {"experiment": [s.experiment], "order_by": ["duration DESC"],
                            "filter": "metrics.accuracy > 0", "limit": 5,
                            "columns": ["params.max_depth", "metrics.loss", "tags.note", "host"]}},
        "/runs/fields": {"query": {"experiment": [s.experiment]}},
        "/runs/{run_id}": {"path": {"run_id": run}},
        "/runs/{run_id}/automl": {"path": {"run_id": s.search}},
        "/runs/{run_id}/metrics/{key}": {"path": {"run_id": run[:8], "key": "loss"},
                                         "query": {"max_points": 10}},
        "/runs/{run_id}/chart": {"path": {"run_id": run}, "query": {"keys": ["loss"]}},
        "/runs/{run_id}/diff/{other_id}": {"path": {"run_id": run, "other_id": other[:8]}},
        "/runs/{run_id}/artifacts/{name}": {"path": {"run_id": run,
                                                     "name": "config/params.json"}},
        "/runs/{run_id}/reproductions": {"path": {"run_id": s.reproduced}},
        "/reproductions/{reproduction_id}": {"path": {"reproduction_id": s.reproduction}},
        "/charts/metrics": {"query": {"runs": [run, other]}},
        "/charts/runs": {"query": {"kind": "parallel", "experiment": [s.experiment],
                                   "fields": ["params.max_depth", "params.criterion",
                                              "params.layers", "metrics.accuracy"]}},
        "/compare": {"query": {"runs": [run, other]}},
        "/datasets": {},
        "/datasets/{name}": {"path": {"name": s.dataset}},
        "/datasets/{name}/versions/{version}": {"path": {"name": s.dataset, "version": "latest"}},
        "/dataset-diff": {"query": {"a": f"{s.dataset}@1", "b": f"{s.dataset}@2"}},
        "/features": {},
        "/features/{name}": {"path": {"name": s.view}},
        "/features/{name}/versions/{version}": {"path": {"name": s.view, "version": "1"}},
        "/models": {},
        "/models/{name}": {"path": {"name": s.model}},
        "/models/{name}/versions/{version}": {"path": {"name": s.model,
                                                       "version": "production"}},
        "/models/{name}/compare": {"path": {"name": s.model}, "query": {"versions": ["1", "2"]}},
        "/models/{name}/events": {"path": {"name": s.model}, "query": {"since": 0, "limit": 5}},
        "/events": {"query": {"limit": 10}},
        "/hooks": {"query": {"model": s.model}},
        # a store that is not a team store protects nothing: no policies, no requests
        "/models/{name}/policies": {"path": {"name": s.model}},
        "/models/{name}/requests": {"path": {"name": s.model}, "query": {"state": "all"}},
        "/requests": {},
        "/pipelines": {},
        "/pipelines/{name}": {"path": {"name": s.pipeline}},
        "/pipeline-runs/{run_id}": {"path": {"run_id": s.pipeline_run}},
        "/pipeline-runs/{run_id}/steps/{step_id}/notebook": {
            "path": {"run_id": s.pipeline_run, "step_id": s.step}},
        "/drift": {},
        "/drift/{name}": {"path": {"name": f"{s.model}@production"}, "query": {"limit": 10}},
        "/drift/{name}/batches/{batch_id}": {"path": {"name": s.model,
                                                      "batch_id": s.batches[-1]}},
        "/lineage": {"query": {"ref": f"model:{s.model}@1"}},
        "/changes": {"query": {"since": 0, "limit": 10}},
        "/openapi.json": {},
        "/me": {},
    }


def test_every_get_succeeds_on_real_names(seeded, server):
    base, session = server
    values = real_values(seeded)
    gets = sorted(path for path, ops in DOCUMENT["paths"].items() if "get" in ops)
    assert sorted(values) == gets  # a new GET route needs its real values here
    for path in gets:
        case = schema[path]["GET"].Case(path_parameters=values[path].get("path"),
                                        query=values[path].get("query"))
        response = case.call_and_validate(base_url=base, session=session, checks=CHECKS)
        assert 200 <= response.status_code < 300, (path, response.status_code, response.text)


def test_runs_sort_by_duration_through_rest(seeded, server):
    """What the sidebar's duration column asks for: the longest first, the parent (which
    lasted as long as both children) before them; grouped, the children are under it."""
    base, session = server
    _, s = seeded
    flat = {"flat": "true", "experiment": s.experiment}
    answer = session.get(f"{base}/runs", params={"order_by": "duration DESC", **flat}).json()
    ids = [r["run_id"] for r in answer["runs"]]
    assert ids[0] == s.parent and set(ids[1:]) == set(s.runs)
    answer = session.get(f"{base}/runs", params={"order_by": "duration ASC", **flat}).json()
    assert [r["run_id"] for r in answer["runs"]][-1] == s.parent
    answer = session.get(f"{base}/runs", params={"order_by": "duration DESC",
                                                 "experiment": s.experiment}).json()
    assert [(r["run_id"], r["child_count"]) for r in answer["runs"]] == [(s.parent, 2)]


# pytest-jupyter (loaded for the in-process REST tests) gives every test an asyncio loop and a
# server cleanup; these tests run their own server process, so they opt out of both.
@pytest.fixture
def jp_asyncio_loop():
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield
