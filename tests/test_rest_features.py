"""The feature REST endpoints against a real Jupyter server: every view with its freshness, one
view (or version) in full with its profile and figure, and bad input as JSON 4xx. The joins
and lookups themselves are tested at the API (test_features.py)."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from feature_views import define

VIEW_KEYS = {"name", "version", "versions", "kind", "entities", "timestamp", "ttl", "features",
             "description", "created_at", "materialized", "freshness"}
MATERIALIZED_KEYS = {"view", "rows", "digest", "at", "start", "end", "first_event",
                     "last_event", "online", "inputs"}


@pytest.fixture
def views(mlops):
    """The shared views (feature_views.py), customers' newest row 2 days old; returns the time
    the rows are dated from."""
    now = pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)
    define(mlops, pd.DataFrame({
        "customer_id": [1, 1, 2], "ts": [now - pd.Timedelta(days=9), now - pd.Timedelta(days=2),
                                         now - pd.Timedelta(days=5)],
        "spend": [10.0, 12.5, 3.0], "segment": ["a", "b", "a"]}), now)
    return now


async def test_every_view_with_its_freshness(backend, api, views):  # one query, on both stores
    now, before = views, time.time()
    status, body = await api("features")
    after = time.time()
    assert status == 200
    assert [v["name"] for v in body["views"]] == ["customers", "orders", "stale"]
    customers, orders, stale = body["views"]
    assert set(customers) == VIEW_KEYS
    assert customers["version"] == 2 and customers["versions"] == 2
    assert customers["entities"] == ["customer_id"] and customers["timestamp"] == "ts"
    assert customers["ttl"] == 30 * 86400 and customers["description"] == "what customers spend"
    assert customers["features"] == [{"name": "spend", "dtype": "float64"},
                                     {"name": "segment", "dtype": "str"}]
    done = customers["materialized"]
    assert set(done) == MATERIALIZED_KEYS and done["view"] == "customers@2"
    assert done["rows"] == 3 and done["online"] == 2  # two keys, each its latest row
    assert done["first_event"] == (now - pd.Timedelta(days=9)).tz_localize("UTC").timestamp()
    assert done["last_event"] == (now - pd.Timedelta(days=2)).tz_localize("UTC").timestamp()
    fresh = customers["freshness"]
    assert fresh["materialized_at"] == done["at"] <= before
    assert before - done["last_event"] <= fresh["age"] <= after - done["last_event"]
    assert fresh["expired"] is False
    assert stale["freshness"]["expired"] is True  # 40 days old, ttl 7: nothing online is live
    assert stale["materialized"]["online"] is None
    assert orders["materialized"] is None
    assert orders["freshness"] == {"materialized_at": None, "last_event": None, "age": None,
                                   "expired": None}


async def test_one_view_in_full(api, views):
    status, body = await api("features/customers")
    assert status == 200
    assert body["name"] == "customers" and body["version"] == 2
    assert "def customers():" in body["source"] and body["kind"] == "python"
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["features"] == 2
    assert body["materialized"] == body["materializations"][0]
    assert len(body["materializations"]) == 1 and body["freshness"]["expired"] is False
    profile = {row["column"]: row for row in body["profile"]}
    assert list(profile) == ["spend", "segment"]
    assert profile["spend"]["mean"] == pytest.approx(25.5 / 3) and profile["spend"]["max"] == 12.5
    assert profile["segment"]["top"].startswith("a (2)")
    assert {t["type"] for t in body["figure"]["data"]} == {"box", "bar"}
    assert [a["text"] for a in body["figure"]["layout"]["annotations"]] == ["spend", "segment"]


async def test_one_version_and_a_view_never_materialized(api, views):
    status, body = await api("features/customers/versions/1")
    assert status == 200 and body["version"] == 1 and body["ttl"] == 7 * 86400
    assert body["materialized"] is None and body["materializations"] == []
    assert [row["column"] for row in body["profile"]] == ["spend", "segment"]
    assert body["profile"][0]["mean"] is None  # no materialization: no statistics
    status, latest = await api("features/customers/versions/latest")
    assert status == 200 and latest["version"] == 2
    status, orders = await api("features/orders")
    assert status == 200 and orders["materialized"] is None and orders["figure"]["data"] == []


@pytest.mark.parametrize(("path", "code", "message"), [
    ("features/ghost", 404, "no feature view named 'ghost'"),
    ("features/customers/versions/9", 404, "feature view 'customers' has no version 9"),
    ("features/customers/versions/production", 400, "is not a feature view reference"),
    ("features/a:b", 400, "unknown kind 'a' in 'a:b'"),
])
async def test_bad_requests_are_json_errors(api, views, path, code, message):
    status, body = await api(path)
    assert status == code and message in body["error"]


async def test_an_empty_store(api, mlops):
    status, body = await api("features")
    assert status == 200 and body == {"views": []}
