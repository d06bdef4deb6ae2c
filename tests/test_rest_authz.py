"""Reads and changes are authorized separately: a user Jupyter lets read `mlops` but not
write it can browse, and every change it asks for is a 403 that changes nothing."""

from __future__ import annotations

import json

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError


class ReadOnlyAuthorizer(Authorizer):
    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (resource == "mlops" and action == "write")


@pytest.fixture
def jp_server_config(project):
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True},
                          "authorizer_class": ReadOnlyAuthorizer}}


async def test_a_reader_cannot_move_aliases(jp_fetch, mlops):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    mlops.register_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "clf", signature=X)
    resp = await jp_fetch("mlops", "api", "models", "clf")
    assert resp.code == 200 and json.loads(resp.body)["versions"][0]["version"] == 1
    for path, method, body in (("aliases", "POST", {"alias": "production", "version": 1}),
                               ("promote", "POST", {"alias": "production", "version": 1}),
                               ("aliases", "DELETE", None)):
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch("mlops", "api", "models", "clf", path, method=method,
                           params={"alias": "production"} if method == "DELETE" else None,
                           body=None if body is None else json.dumps(body),
                           allow_nonstandard_methods=True)
        assert caught.value.code == 403
    assert mlops.alias_history("clf").empty
