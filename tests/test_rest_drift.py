"""The drift REST endpoints against a real Jupyter server: the monitored models, one model's
history with its rules, alerts and last report, a batch's stored report, and bad input as
JSON 4xx. The numbers themselves are tested at the API (test_drift.py, test_monitoring.py)."""

from __future__ import annotations

import time

import pytest
from webhook import Receiver

BATCH_KEYS = {"id", "at", "version", "source", "method", "rows", "columns", "drifted_columns",
              "drift_share", "drifted", "prediction_drift", "prediction_drifted", "accuracy",
              "f1", "roc_auc", "rmse", "mae", "alerts"}
ALERT_KEYS = {"id", "model", "version", "at", "rule_id", "condition", "reason", "pipeline",
              "pipeline_run_id", "webhook_status", "drift_share", "batch_id", "observed"}
REPORT_KEYS = {"batch_id", "model", "version", "at", "reference", "current", "reference_rows",
               "current_rows", "method", "drifted", "drift_share", "dataset_threshold", "drifted_columns",
               "columns", "figure"}
COLUMN_KEYS = {"column", "type", "method", "statistic", "threshold", "pvalue", "alpha", "score",
               "drifted", "reference", "current", "note"}


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def monitored(mlops, hook):
    """wine-clf@production trained on the wine data: a clean batch, a rule posting to a
    webhook whose URL holds a token, a shifted batch that breaches it; `idle` registered but
    never monitored, `watched` with a rule and no batch."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    X, y = load_wine(return_X_y=True, as_frame=True)
    with mlops.start_run("train"):
        mlops.version_dataset(X, "wine", role="train")
        model = LogisticRegression(max_iter=5000).fit(X, y)
        mlops.register_model(model, "wine-clf", alias="production")
        mlops.register_model(model, "idle")
        mlops.register_model(model, "watched", alias="production")
    clean = mlops.monitor("wine-clf@production", X, actuals=y, timestamp=time.time() - 3600)
    mlops.add_alert("wine-clf@production", "drift_share > 0.1", webhook=f"{hook.url}?token=s3cret")
    mlops.add_alert("watched@production", "f1 < 0.5")
    shifted = mlops.monitor("wine-clf@production",
                            X.assign(alcohol=X.alcohol + 1.5, proline=X.proline * 1.6),
                            actuals=y)
    assert len(shifted.alerts) == 1
    hook.wait()
    deadline = time.monotonic() + 10
    while not mlops.list_alerts("wine-clf")["webhook_status"].notna().all():
        assert time.monotonic() < deadline, "the webhook's answer was not recorded"
        time.sleep(0.05)
    return clean, shifted


async def test_monitored_models(backend, api, monitored):  # one query, on both stores
    clean, shifted = monitored
    status, body = await api("drift")
    assert status == 200
    assert [m["model"] for m in body["models"]] == ["watched", "wine-clf"]  # never `idle`
    watched, wine = body["models"]
    assert wine == {"model": "wine-clf", "versions": [1], "batches": 2, "last_at": shifted.at,
                    "last_drift_share": shifted.drift_share, "last_drifted": shifted.drifted,
                    "last_method": "auto", "alerts": 1, "rules": 1}
    assert wine["last_drift_share"] > 0.1
    assert watched == {"model": "watched", "versions": [], "batches": 0, "last_at": None,
                       "last_drift_share": None, "last_drifted": None, "last_method": None,
                       "alerts": 0, "rules": 1}


async def test_one_models_history_rules_alerts_and_last_report(backend, api, monitored):
    clean, shifted = monitored
    status, body = await api("drift/wine-clf")
    assert status == 200
    assert set(body) == {"model", "history", "figure", "rules", "alerts", "last_report"}
    assert body["model"] == "wine-clf"
    history = body["history"]
    assert set(history) == {"model", "batches", "alerts", "rules"}
    assert history["rules"] == body["rules"]
    assert [b["id"] for b in history["batches"]] == [clean.id, shifted.id]  # oldest first
    assert set(history["batches"][0]) == BATCH_KEYS
    assert [b["method"] for b in history["batches"]] == ["auto", "auto"]
    assert [b["alerts"] for b in history["batches"]] == [0, 1]
    assert history["batches"][1]["f1"] == pytest.approx(shifted.metrics["f1"])
    assert {t.get("name") for t in body["figure"]["data"]} >= {"v1 drift share", "alert"}

    [rule] = body["rules"]
    assert rule["condition"] == "drift_share > 0.1" and rule["ref"] == "wine-clf@production"
    assert rule["webhook"].startswith("http://127.0.0.1:")  # scheme and host: no path, no token
    assert rule["webhook"].rsplit(":", 1)[1].isdigit()

    [alert] = body["alerts"]
    assert set(alert) == ALERT_KEYS and history["alerts"] == body["alerts"]
    assert alert["batch_id"] == shifted.id and alert["condition"] == "drift_share > 0.1"
    assert alert["reason"].startswith("drift_share = ") and alert["webhook_status"] == "204"
    assert alert["observed"]["rows"] == 178

    report = body["last_report"]
    assert set(report) == REPORT_KEYS
    assert (report["batch_id"], report["model"], report["version"]) == (shifted.id, "wine-clf", 1)
    assert sorted(report["drifted_columns"]) == ["alcohol", "proline"]
    assert set(report["columns"][0]) == COLUMN_KEYS and report["method"] == "auto"
    assert report["columns"][0]["method"] == "wasserstein+ks"
    assert {c["column"]: c["drifted"] for c in report["columns"]}["alcohol"] is True
    assert report["figure"]["data"] and report["figure"]["layout"]

    status, one = await api("drift/wine-clf@production", params={"limit": "1"})
    assert status == 200 and [b["id"] for b in one["history"]["batches"]] == [shifted.id]


async def test_a_batch_report(api, monitored):
    clean, shifted = monitored
    status, body = await api(f"drift/wine-clf/batches/{clean.id}")
    assert status == 200 and set(body) == REPORT_KEYS
    assert (body["batch_id"], body["drifted"], body["drifted_columns"]) == (clean.id, False, [])
    assert body["at"] == clean.at and body["current_rows"] == 178
    assert len(body["columns"]) == 13 and body["figure"]["data"]
    status, body = await api(f"drift/wine-clf/batches/{shifted.id}")
    assert status == 200 and sorted(body["drifted_columns"]) == ["alcohol", "proline"]


async def test_models_without_batches(api, monitored):
    status, body = await api("drift/idle")
    assert status == 200 and body["history"]["batches"] == [] and body["last_report"] is None
    assert body["rules"] == [] and body["alerts"] == [] and "data" in body["figure"]
    status, body = await api("drift/watched")
    assert status == 200 and [r["condition"] for r in body["rules"]] == ["f1 < 0.5"]


async def test_bad_input_is_json_4xx(api, monitored):
    clean, shifted = monitored
    status, body = await api("drift/ghost")
    assert status == 404 and body["error"] == "no model named 'ghost'"
    status, body = await api("drift/ghost/batches/1")
    assert status == 404 and body["error"] == "no model named 'ghost'"
    status, body = await api(f"drift/idle/batches/{clean.id}")  # a batch of another model
    assert status == 404 and body["error"] == f"model 'idle' has no monitoring batch {clean.id}"
    status, body = await api("drift/wine-clf/batches/999")
    assert status == 404
    for bad in ("x", "0", "-1", "1.5", "99999999999999999999999"):
        status, body = await api(f"drift/wine-clf/batches/{bad}")
        assert status == 400 and "batch id" in body["error"], bad
    status, body = await api("drift/wine-clf", params={"limit": "0"})
    assert status == 400 and "limit must be between" in body["error"]
    status, body = await api("drift/wine-clf@nope")
    assert status == 404 and "Traceback" not in body["error"]


async def test_monitoring_reaches_the_change_feed(api, mlops, monitored):
    status, feed = await api("changes", params={"since": "0"})
    seen = {(c["kind"], c["key"], c["action"]) for c in feed["changes"]}
    assert ("model", "wine-clf", "monitored") in seen  # what the sidebar's Drift section hears
    assert any(kind == "alert" for kind, _, _ in seen)  # the webhook's answer
