"""Monitoring a registered model: the training sketches stored at registration, monitoring
batches and their history, alert rules that queue exactly one retraining run and post to a
webhook, the scoring server's sample turned into batches, and the adapters."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sqlalchemy import func, inspect, select
from test_pipelines import notebook
from webhook import Receiver

from jupyter_mlops.errors import MLOpsUsageError, NotFoundError
from jupyter_mlops.store import tables


@pytest.fixture(scope="module")
def wine():
    frame = load_wine(as_frame=True).frame
    return frame, frame.drop(columns="target"), frame["target"]


def register(mlops, wine, name="wine-clf"):
    frame, X, y = wine
    with mlops.start_run(name="train"):
        mlops.version_dataset(frame, "wine", role="train")
        model = LogisticRegression(max_iter=5000).fit(X, y)
        return mlops.register_model(model, name, alias="production"), model


def shifted(X):
    return X.assign(alcohol=X.alcohol + 1.5, proline=X.proline * 1.6, hue=X.hue * 0.6,
                    flavanoids=X.flavanoids + 1.0, color_intensity=X.color_intensity * 1.5,
                    magnesium=X.magnesium + 25, ash=X.ash + 0.4)


def counts(mlops) -> dict[str, int]:
    with mlops.get_store().read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.drift_batches, tables.alert_rules, tables.alerts,
                          tables.pipeline_runs, tables.drift_references)}


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_training_sketches_are_stored_at_registration_and_need_no_training_data(
        backend, mlops, wine, monkeypatch):
    frame, X, y = wine
    version, _ = register(mlops, wine)
    with mlops.get_store().read() as conn:
        row = conn.execute(select(tables.drift_references)).mappings().one()
    assert (row["kind"], row["name"], row["version"], row["rows"]) == ("model", "wine-clf", 1, 178)
    assert row["columns"] == 13  # the signature's inputs, not the target
    raw = mlops.drift_report(X, shifted(X)).to_frame()
    # from here on the training data is out of reach: the stored sketches are enough
    import jupyter_mlops.data.versions as versions

    monkeypatch.setattr(versions, "read_version", lambda *a, **k: pytest.fail("read training data"))
    stored = mlops.drift_report("wine-clf@production", shifted(X))
    pd.testing.assert_frame_equal(stored.to_frame().drop(columns="reference"),
                                  raw.drop(columns="reference"))
    assert stored.labels[0] == "wine-clf@production"
    reference = mlops.drift_report("wine-clf@1", X).reference
    assert reference.predictions is not None and reference.predictions.kind == "numeric"


def test_the_sketches_come_from_a_registration_hook_and_a_failing_hook_only_warns(
        project, mlops, wine, monkeypatch):
    import ast
    from importlib.metadata import entry_points
    from pathlib import Path

    import jupyter_mlops.drift.references as references
    import jupyter_mlops.registry as registry

    [hook] = [ep for ep in entry_points(group="jupyter_mlops.on_register") if ep.name == "drift"]
    assert hook.value == "jupyter_mlops.drift.references:on_register"
    for source in Path(registry.__file__).parent.glob("*.py"):  # registry never imports drift
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "drift" not in (node.module or ""), source

    def boom(version, model):
        raise RuntimeError("boom")

    hook_itself = references.on_register
    monkeypatch.setattr(references, "on_register", boom)
    with pytest.warns(UserWarning, match=r"the registration hook 'drift' failed on wine-clf@1 "
                                         r"\(boom\)"):
        version, _ = register(mlops, wine)
    assert mlops.get_model_version("wine-clf@production").version == version.version == 1
    assert counts(mlops)["drift_references"] == 0
    monkeypatch.setattr(references, "on_register", hook_itself)
    assert mlops.drift_report("wine-clf@production", wine[1]).drifted_columns == []
    assert counts(mlops)["drift_references"] == 1  # computed on first use instead


def test_models_registered_before_drift_get_their_sketches_on_first_use(project, mlops, wine):
    frame, X, _ = wine
    register(mlops, wine)
    with mlops.get_store().write() as conn:  # as if registered before drift existed
        conn.execute(tables.drift_references.delete())
    report = mlops.drift_report("wine-clf@production", shifted(X))
    assert "alcohol" in report.drifted_columns
    assert counts(mlops)["drift_references"] == 1
    # a dataset version as the reference is sketched once, then reused
    mlops.drift_report("wine@1", frame)
    mlops.drift_report("dataset:wine@1", frame)
    assert counts(mlops)["drift_references"] == 2


def test_monitoring_history_with_performance(backend, mlops, wine):
    frame, X, y = wine
    register(mlops, wine)
    t0 = pd.Timestamp("2026-11-01T00:00:00Z")
    clean = mlops.monitor("wine-clf@production", X, actuals=y, timestamp=t0)
    assert clean.id and not clean.drifted and clean.metrics["accuracy"] > 0.95
    assert set(clean.metrics) == {"accuracy", "f1", "roc_auc"}
    assert clean.prediction_drifted is False
    half = X.sample(frac=0.5, random_state=0)
    mlops.monitor("wine-clf@production", half, predictions=LogisticRegression(max_iter=5000)
                  .fit(X, y).predict(half), timestamp=t0 + pd.Timedelta("1h"))
    bad = mlops.monitor("wine-clf@production", shifted(X), actuals=y,
                        timestamp=(t0 + pd.Timedelta("2h")).timestamp())
    assert bad.drifted and bad.metrics["accuracy"] < clean.metrics["accuracy"]
    history = mlops.drift_history("wine-clf")
    frame = history.to_frame()
    assert list(frame["at"]) == [t0, t0 + pd.Timedelta("1h"), t0 + pd.Timedelta("2h")]
    assert frame["drift_share"].iloc[-1] > 0.5 > frame["drift_share"].iloc[0]
    assert frame["accuracy"].notna().tolist() == [True, False, True]
    assert frame["prediction_drift"].notna().all()
    fig = history.figure()
    assert {t.name for t in fig.data} >= {"v1 drift share", "v1 accuracy", "v1 f1"}
    assert mlops.drift_history("wine-clf@production").to_frame().shape[0] == 3
    # the stored report is rebuilt with its figure
    from jupyter_mlops.drift.monitor import stored_report

    again = stored_report(bad.id)
    assert again.drifted_columns == bad.report.drifted_columns
    assert len(again.figure().data) == len(bad.report.figure().data)


def test_each_batch_records_its_method_preset_and_a_model_keeps_its_own(backend, mlops, wine):
    """A model never monitored gets `auto`; after that the preset of its latest batch holds
    until the caller names another, so alert rules keep the meaning they were written for."""
    frame, X, y = wine
    register(mlops, wine)
    t0 = pd.Timestamp("2026-11-01T00:00:00Z")

    def batch(hour, method=None):
        return mlops.monitor("wine-clf@production", shifted(X), predictions=y,
                             timestamp=t0 + pd.Timedelta(hours=hour), method=method)

    first = batch(0)
    assert first.method == "auto" and first.to_dict()["method"] == "auto"
    assert {c.method for c in first.report.columns} == {"wasserstein+ks"}
    assert first.report.to_dict()["method"] == "auto" and "(method auto)" in first.summary()
    evidently = batch(1, "evidently")
    assert {c.method for c in evidently.report.columns} == {"ks"}  # Evidently's, at 178 rows
    kept = batch(2)
    assert kept.method == "evidently" and kept.report.columns[0].method == "ks"
    assert kept.report.drifted_columns == evidently.report.drifted_columns
    assert batch(3, "auto").method == "auto" and batch(4).method == "auto"
    history = mlops.drift_history("wine-clf")
    assert list(history.to_frame()["method"]) == ["auto", "evidently", "evidently", "auto", "auto"]
    assert [b["method"] for b in history.to_dict()["batches"]] == list(history.to_frame().method)
    from jupyter_mlops.drift.history import monitored_models
    from jupyter_mlops.drift.monitor import stored_report

    assert monitored_models()["models"][0]["last_method"] == "auto"
    again = stored_report(kept.id)
    assert again.method == "evidently" and again.to_dict()["columns"][0]["method"] == "ks"


def test_a_store_from_before_presets_keeps_evidently_for_its_batches(backend, mlops, wine):
    """A store at revision 0008 (no method column) with a monitoring batch, upgraded: the
    batch reads `evidently`, what it was computed with, and the model goes on with it."""
    from alembic import command

    from jupyter_mlops.store import get_store, schema

    frame, X, y = wine
    register(mlops, wine)
    old = mlops.monitor("wine-clf@production", X, timestamp=pd.Timestamp("2026-11-01", tz="UTC"))
    store = get_store()
    with store.engine.connect() as conn:
        command.downgrade(schema.alembic_config(conn), "0008")
        conn.commit()
        assert schema.current_revision(conn) == "0008"
        assert "method" not in {c["name"] for c in inspect(conn).get_columns("drift_batches")}
    assert store.upgrade() == ("0008", schema.HEAD)
    assert list(mlops.drift_history("wine-clf").to_frame()["method"]) == ["evidently"]
    later = mlops.monitor("wine-clf@production", shifted(X))
    assert later.method == "evidently" and later.report.columns[0].method == "ks"
    assert list(mlops.drift_history("wine-clf").to_frame()["id"]) == [old.id, later.id]


def test_regression_batches_get_rmse_and_mae(project, mlops):
    frame = load_diabetes(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    with mlops.start_run(name="reg"):
        mlops.version_dataset(frame, "diabetes", role="train")
        mlops.register_model(LinearRegression().fit(X, y), "diabetes-reg", alias="production")
    batch = mlops.monitor("diabetes-reg@production", X, actuals=y)
    assert set(batch.metrics) == {"rmse", "mae"} and 40 < batch.metrics["rmse"] < 70


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()  # None, False or an empty list: not yet
        if value is not None and value is not False and not (isinstance(value, list)
                                                             and not value):
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_breach_queues_one_retraining_run_and_posts_to_the_webhook(backend, project, mlops,
                                                                       wine, hook):
    frame, X, y = wine
    register(mlops, wine)
    notebook(project / "retrain.ipynb", "rows = 10",
             "import jupyter_mlops as mlops\nwith mlops.start_run(name='retrained'):\n"
             "    mlops.log_metric('rows', rows)")
    mlops.export_pipeline("retrain", notebooks=["retrain.ipynb"])
    rule = mlops.add_alert("wine-clf@production", "drift_share > 0.3 or f1 < 0.5",
                           pipeline="retrain", webhook=hook.url)
    quiet = mlops.monitor("wine-clf@production", X, actuals=y)
    assert quiet.alerts == [] and mlops.list_pipeline_runs("retrain").empty
    loud = mlops.monitor("wine-clf@production", shifted(X), actuals=y)
    assert len(loud.alerts) == 1
    alert = loud.alerts[0]
    assert alert["rule_id"] == rule.id and alert["reason"].startswith("drift_share = ")
    assert "is > 0.3" in alert["reason"]
    runs = wait_for(lambda: (lambda r: r if len(r) and r.status.iloc[0] == "finished" else None)(
        mlops.list_pipeline_runs("retrain")))
    assert len(runs) == 1 and runs.run_id.iloc[0] == alert["pipeline_run_id"]
    assert runs.trigger.iloc[0] == "alert"
    hook.wait()
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["alert_id"] == alert["alert_id"] and body["pipeline_run_id"] == runs.run_id.iloc[0]
    assert body["observed"]["drift_share"] > 0.3 and body["model"] == "wine-clf"
    alerts = wait_for(lambda: (lambda a: a if a.webhook_status.iloc[0] == "204" else None)(
        mlops.list_alerts("wine-clf")))
    assert len(alerts) == 1 and alerts.reason.iloc[0] == alert["reason"]
    # one lineage chain: model version → monitoring batch → alert → the retraining run
    graph = mlops.lineage(alert["pipeline_run_id"], depth=3)
    relations = {(graph.nodes[e.source].kind, e.relation, graph.nodes[e.target].kind)
                 for e in graph.edges}
    assert {("model", "monitored", "monitoring_batch"), ("monitoring_batch", "raised", "alert"),
            ("alert", "triggered", "pipeline_run")} <= relations
    # another clean batch: nothing more
    mlops.monitor("wine-clf@production", X, actuals=y)
    assert len(mlops.list_pipeline_runs("retrain")) == 1 and len(hook.received) == 1


def test_an_alert_whose_pipeline_went_away_is_still_recorded(project, mlops, wine):
    frame, X, y = wine
    register(mlops, wine)
    notebook(project / "a.ipynb", "x = 1", "y = x")
    mlops.export_pipeline("retrain", notebooks=["a.ipynb"])
    mlops.add_alert("wine-clf", "drifted_columns >= 3", pipeline="retrain")
    (project / "pipelines" / "retrain.yaml").unlink()
    batch = mlops.monitor("wine-clf", shifted(X))
    assert len(batch.alerts) == 1 and batch.alerts[0]["pipeline_run_id"] is None
    assert "pipeline retrain not queued" in batch.alerts[0]["reason"]
    assert counts(mlops)["pipeline_runs"] == 0


def test_a_queued_run_is_claimed_once_and_the_scheduler_starts_one_left_waiting(project, mlops):
    from jupyter_mlops.pipelines import runner, scheduler

    notebook(project / "a.ipynb", "x = 1", "y = x")
    mlops.export_pipeline("retrain", notebooks=["a.ipynb"])
    with mlops.get_store().write() as conn:
        run_id = runner.queue_pipeline(conn, "retrain", "alert")
    started = []
    assert scheduler.tick(now=time.time() + 1, start=started.append,
                          start_queued=lambda n, r: started.append((n, r))) == []
    assert scheduler.tick(now=time.time() + 60, start=started.append,
                          start_queued=lambda n, r: started.append((n, r))) == ["retrain"]
    assert started == [("retrain", run_id)]
    assert mlops.run_pipeline("retrain", queued=run_id, progress=False).status == "finished"
    with pytest.raises(MLOpsUsageError, match="is finished, not queued"):
        mlops.run_pipeline("retrain", queued=run_id, progress=False)


def test_the_serving_sample_becomes_one_batch_per_window(project, mlops, wine, capsys):
    from jupyter_mlops.cli import main
    from jupyter_mlops.serving.samples import record_batch

    frame, X, y = wine
    version, model = register(mlops, wine)
    start = pd.Timestamp("2026-11-20T10:00:00Z")
    for hour, rows in ((0, X.iloc[:90]), (0, X.iloc[90:]), (1, shifted(X))):
        sample = rows.assign(prediction=model.predict(rows),
                             timestamp=start + pd.Timedelta(hours=hour, minutes=5))
        record_batch("wine-clf", 1, sample.reset_index(drop=True), "serving")
    assert main(["monitor", "wine-clf@production", "--window", "1h", "--method", "evidently"]) == 0
    out = capsys.readouterr().out
    assert out.count("wine-clf@1 batch") == 2 and out.count("(method evidently)") == 2
    history = mlops.drift_history("wine-clf").to_frame()
    assert list(history["rows"]) == [178, 178] and list(history["source"]) == ["serving"] * 2
    assert list(history["method"]) == ["evidently"] * 2
    assert main(["drift", "history", "wine-clf", "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert [json.loads(line)["method"] for line in printed.splitlines()] == ["evidently"] * 2
    assert list(history["at"]) == [start + pd.Timedelta("1h"), start + pd.Timedelta("2h")]
    assert history["drifted"].tolist() == [False, True]
    assert history["prediction_drift"].notna().all()
    assert main(["monitor", "wine-clf", "--window", "1h"]) == 0  # nothing new
    assert "no complete window" in capsys.readouterr().out
    assert len(mlops.drift_history("wine-clf").to_frame()) == 2
    assert main(["monitor", "wine-clf", "--window", "soon"]) == 2
    assert main(["monitor", "wine-clf", "--method", "psi"]) == 2
    assert "monitor takes a drift method preset (auto, evidently), got 'psi'" in (
        capsys.readouterr().err)


def test_bad_input_leaves_the_store_untouched(project, mlops, wine):
    frame, X, y = wine
    register(mlops, wine)
    notebook_free = counts(mlops)
    cases = [
        (lambda: mlops.monitor("wine-clf@production", X.head(0)), "the batch has no rows"),
        (lambda: mlops.monitor("wine-clf@production", X.drop(columns=["hue"])),
         "lacks column hue"),
        (lambda: mlops.monitor("wine-clf@production", X, predictions=[1, 2]),
         "predictions has 2 values but the batch has 178 rows"),
        (lambda: mlops.monitor("wine-clf@staging", X), "has no alias 'staging'"),
        (lambda: mlops.monitor("ghost@production", X), "no model named 'ghost'"),
        (lambda: mlops.monitor("wine-clf", [1, 2]), "the batch is a DataFrame"),
        (lambda: mlops.monitor("wine-clf", X, timestamp="yesterday-ish"), "is not a time"),
        (lambda: mlops.monitor("wine-clf", X, method="ks"),
         r"monitor takes a drift method preset \(auto, evidently\), got 'ks'"),
        (lambda: mlops.add_alert("wine-clf", "drift_share >"), "expected a value"),
        (lambda: mlops.add_alert("wine-clf", "loss > 1"), "unknown field 'loss'"),
        (lambda: mlops.add_alert("wine-clf", "f1 < 0.8", pipeline="ghost"), "ghost"),
        (lambda: mlops.add_alert("wine-clf", "f1 < 0.8", webhook="file:///etc/passwd"),
         "webhook must be an http"),
        (lambda: mlops.add_alert("ghost", "f1 < 0.8"), "no model named 'ghost'"),
        (lambda: mlops.remove_alert(99), "no active alert rule 99"),
        (lambda: mlops.drift_history("ghost"), "no model named 'ghost'"),
        (lambda: mlops.drift_report("ghost@1", X), "no dataset or model named 'ghost'"),
        (lambda: mlops.drift_report("wine@7", X), "has no version 7"),
    ]
    for call, message in cases:
        with pytest.raises((MLOpsUsageError, NotFoundError), match=message):
            call()
    assert counts(mlops) == notebook_free
    with mlops.start_run(name="untracked-model"):
        mlops.register_model(LogisticRegression(max_iter=5000).fit(X, y), "no-data",
                             signature=X.head())
    with pytest.raises(MLOpsUsageError, match="has no training data recorded"):
        mlops.drift_report("no-data@1", X)


def test_the_drift_magic(ip, mlops, wine, capsys):
    from IPython.core.error import UsageError

    frame, X, y = wine
    register(mlops, wine)
    ip.user_ns.update(X=X, moved=shifted(X), y=y)
    report = ip.run_line_magic("drift", "X moved --columns alcohol,hue --method psi")
    assert report.drifted_columns == ["alcohol", "hue"] and set(report.to_frame().method) == {"psi"}
    assert ip.run_line_magic("drift", "wine-clf@production moved --threshold 0.5").drifted
    batch = ip.run_line_magic("drift", "monitor wine-clf@production moved --actuals y "
                                       "--method evidently")
    assert batch.drifted and "accuracy" in batch.metrics and batch.method == "evidently"
    ip.run_line_magic("drift", 'alert wine-clf "drift_share > 0.9"')
    assert len(mlops.list_alerts("wine-clf", rules=True)) == 1
    history = ip.run_line_magic("drift", "history wine-clf")
    assert len(history.rows) == 1 and history.rows[0]["method"] == "evidently"
    assert "<td>evidently</td>" in history._repr_html_()
    for line, message in (("X", "the following arguments are required"),
                          ("ghost@1 X", "no dataset or model named 'ghost'"),
                          ("X ghost@1", "no dataset named 'ghost'"),
                          ("monitor wine-clf nothing", "no variable named 'nothing'"),
                          ("monitor wine-clf moved --method psi", "takes a drift method preset"),
                          ('alert wine-clf "rows >"', "expected a value")):
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("drift", line)
    assert ip.run_line_magic("drift", "--help") is None
    assert ip.run_line_magic("drift", "monitor --help") is None
    ip.run_line_magic("pinfo", "%drift")
    out = capsys.readouterr().out
    assert "%drift alert MODEL" in out and "usage: %drift monitor MODEL VAR" in out
    assert "Measure drift, monitor a model" in out
    assert len(mlops.drift_history("wine-clf").rows) == 1  # errors wrote nothing


def test_the_drift_cli(project, mlops, wine, tmp_path, capsys):
    from jupyter_mlops.cli import main

    frame, X, y = wine
    register(mlops, wine)
    X.to_parquet(tmp_path / "ref.parquet")
    shifted(X).to_csv(tmp_path / "cur.csv", index=False)
    assert main(["drift", "report", str(tmp_path / "ref.parquet"), str(tmp_path / "cur.csv"),
                 "--html", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "alcohol" in out and "wasserstein+ks" in out
    assert (tmp_path / "r.html").stat().st_size > 1_000_000
    # Evidently's choice for 178 rows: the KS test alone
    assert main(["drift", "report", str(tmp_path / "ref.parquet"), str(tmp_path / "cur.csv"),
                 "--method", "evidently"]) == 0
    out = capsys.readouterr().out
    assert "alcohol" in out and "wasserstein" not in out and " ks " in out
    assert main(["drift", "report", "wine-clf@production", str(tmp_path / "cur.csv"),
                 "--format", "json", "--fail-on-drift"]) == 1
    assert json.loads(capsys.readouterr().out)["drifted"] is True
    assert main(["drift", "alert", "wine-clf", "drift_share > 0.2",
                 "--webhook", "http://127.0.0.1:9/hook?token=s3cret"]) == 0
    assert main(["drift", "alerts", "wine-clf", "--rules", "--format", "json"]) == 0
    rule = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert rule["condition"] == "drift_share > 0.2"
    assert rule["webhook"] == "http://127.0.0.1:9"  # scheme and host: never the path or query
    assert main(["drift", "history", "wine-clf"]) == 0
    assert main(["drift", "unalert", "1"]) == 0
    assert main(["drift", "report", "ghost@1", str(tmp_path / "cur.csv")]) == 2
    assert "no dataset or model named 'ghost'" in capsys.readouterr().err
    assert main(["drift", "report", "wine@1", str(tmp_path / "cur.csv"), "--method", "nope"]) == 2
