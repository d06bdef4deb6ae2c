"""A store that trusts no row: what a row says never decides that code runs here. Pickle
models load only on opt-in; skops trusts its defaults plus the project's trusted_types; a
feature view's stored source runs elsewhere only when the project names its digest; paths read
from the store stay inside their folder; webhook URLs are shown as scheme and host; and
max_active_runs holds when runs start at once."""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sqlalchemy import func, select, update
from test_monitoring import shifted
from webhook import Receiver

from jupyter_mlops.errors import MLOpsUsageError, StoreError, TrustError
from jupyter_mlops.store import tables


def double(X):
    """A function of ours that a model holds: skops builds it only if the project trusts it."""
    return X * 2


@pytest.fixture(scope="module")
def wine():
    frame = load_wine(as_frame=True).frame
    return frame, frame.drop(columns="target"), frame["target"]


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression())


def count(mlops, table) -> int:
    with mlops.get_store().read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


# --------------------------------------------------------------------------- models


def test_skops_trusts_its_defaults_and_the_projects_list_never_the_row(project, mlops, wine,
                                                                      monkeypatch):
    frame, X, y = wine
    pipe = make_pipeline(FunctionTransformer(double), StandardScaler(), LogisticRegression()).fit(X, y)
    with pytest.warns(UserWarning, match=r"'fn' is registered, but .* trusted_types: "
                                         r"test_trust\.double\. If you trust"):
        version = mlops.register_model(pipe, "fn", signature=X)
    # the row records what the saver saw, as information; the loader does not read it
    assert version.untrusted_types == ("test_trust.double",)
    assert version.to_dict()["untrusted_types"] == ["test_trust.double"]
    with pytest.raises(TrustError) as refused:
        mlops.load_model("fn@1")
    message = str(refused.value)
    assert message.startswith("model fn@1 was not loaded: its skops file needs types")
    assert "test_trust.double" in message and "MLOPS_TRUSTED_TYPES" in message
    suggested = json.loads(message.split("set trusted_types = ")[1].split(" under ")[0])
    assert "test_trust.double" in suggested and "sklearn.tree._tree.Tree" in suggested
    monkeypatch.setenv("MLOPS_TRUSTED_TYPES", "test_trust.double")
    np.testing.assert_array_equal(mlops.load_model("fn@1").predict(X), pipe.predict(X))

    # a forest needs scikit-learn's Tree: trusted by the default list, which a setting replaces
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning while the project trusts what it needs
        monkeypatch.delenv("MLOPS_TRUSTED_TYPES")
        mlops.register_model(forest, "forest", signature=X)
    np.testing.assert_array_equal(mlops.load_model("forest@1").predict(X), forest.predict(X))
    (project / "pyproject.toml").write_text("[tool.jupyter-mlops]\ntrusted_types = []\n")
    with pytest.raises(TrustError, match=r"forest@1 .*: sklearn\.tree\._tree\.Tree\. If you"):
        mlops.load_model("forest@1")
    (project / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntrusted_types = ["sklearn.tree._tree.Tree"]\n')
    assert mlops.load_model("forest@1").n_estimators == 3
    code, out, _ = cli_capture(["config", "--json"])
    assert json.loads(out)["trusted_types"] == {
        "value": "sklearn.tree._tree.Tree", "source": "pyproject.toml [tool.jupyter-mlops]"}
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\ntrusted_types = ["a b"]\n')
    with pytest.raises(MLOpsUsageError, match="trusted_types from pyproject.toml: 'a b' is not a"):
        mlops.load_model("forest@1")


def cli_capture(args: list[str]) -> tuple[int, str, str]:
    """`jupyter mlops ARGS` in this process, its output captured without capsys."""
    import contextlib
    import io

    from jupyter_mlops.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_pickle_models_load_only_on_opt_in_everywhere(project, mlops, wine, tmp_path,
                                                      monkeypatch):
    frame, X, y = wine
    model = classifier().fit(X, y)
    with mlops.start_run(name="train"):
        mlops.version_dataset(frame, "wine", role="train")
        mlops.register_model(model, "pk", alias="production", flavor="joblib")
    X.to_parquet(tmp_path / "in.parquet")
    batches = count(mlops, tables.drift_batches)
    refusals = [lambda: mlops.load_model("pk@production"),
                lambda: mlops.get_model_version("pk/1").load(),
                lambda: mlops.score_batch("pk@1", tmp_path / "in.parquet", tmp_path / "out.parquet",
                                          progress=False),
                lambda: mlops.monitor("pk@production", X, actuals=y)]
    for refuse in refusals:
        with pytest.raises(TrustError, match=r"model pk@1 is saved with joblib \(pickle\): "
                                             r"loading it can run any code .*allow_pickle=True"):
            refuse()
    code, out, err = cli_capture(["models", "score", "pk@1", str(tmp_path / "in.parquet"),
                                  str(tmp_path / "out.parquet")])
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("jupyter mlops: model pk@1 is saved with joblib")
    assert "MLOPS_ALLOW_PICKLE=1" in err and "Traceback" not in err
    assert not (tmp_path / "out.parquet").exists()
    assert count(mlops, tables.drift_batches) == batches  # refused: nothing written

    # the caller's opt-in, then the project's setting (servers, jobs)
    assert mlops.load_model("pk@1", allow_pickle=True).predict(X).tolist() == \
        model.predict(X).tolist()
    assert mlops.monitor("pk@production", X, actuals=y, allow_pickle=True).metrics["f1"] > 0.9
    monkeypatch.setenv("MLOPS_ALLOW_PICKLE", "1")
    code, out, err = cli_capture(["models", "score", "pk@1", str(tmp_path / "in.parquet"),
                                  str(tmp_path / "out.parquet")])
    assert code == 0, err
    assert pd.read_parquet(tmp_path / "out.parquet")["prediction"].tolist() == \
        model.predict(X).tolist()
    monkeypatch.delenv("MLOPS_ALLOW_PICKLE")
    (project / "pyproject.toml").write_text("[tool.jupyter-mlops]\nallow_pickle = true\n")
    assert mlops.load_model("pk@1").predict(X[:3]).tolist() == model.predict(X[:3]).tolist()
    # a caller's explicit False wins over the setting
    with pytest.raises(TrustError, match="allow_pickle"):
        mlops.load_model("pk@1", allow_pickle=False)


def test_versions_registered_before_the_migration_load_only_on_opt_in(project, wine):
    """A store at revision 0009 whose rows said which types to trust: after 0010 the column is
    information only, and its joblib version loads only on opt-in."""
    import io

    import joblib
    import skops.io as sio
    from alembic import command
    from blake3 import blake3
    from sqlalchemy import text

    from jupyter_mlops.store import engine, schema

    _, X, y = wine
    root = project / ".mlops"
    db = root / "mlops.db"
    blobs = []
    lr = classifier().fit(X, y)
    buf = io.BytesIO()
    joblib.dump(lr, buf)
    fn = make_pipeline(FunctionTransformer(double), StandardScaler(), LogisticRegression()).fit(X, y)
    for data in (buf.getvalue(), sio.dumps(fn)):
        digest = blake3(data).hexdigest()
        (root / "artifacts" / digest[:2]).mkdir(parents=True, exist_ok=True)
        (root / "artifacts" / digest[:2] / digest[2:]).write_bytes(data)
        blobs.append((digest, len(data)))
    eng = engine.create(f"sqlite:///{db}", 30)
    with eng.connect() as conn:
        command.upgrade(schema.alembic_config(conn), "0009")
        conn.commit()
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO models (id, name, created_at) VALUES (1, 'old', 0)"))
        for number, (flavor, (digest, size), types) in enumerate(
                [("joblib", blobs[0], []), ("sklearn", blobs[1], ["test_trust.double"])], 1):
            conn.execute(text(
                "INSERT INTO model_versions (model_id, version, digest, flavor, size, "
                "trusted_types, created_at) VALUES (1, :v, :d, :f, :s, :t, 0)"),
                {"v": number, "d": digest, "f": flavor, "s": size, "t": json.dumps(types)})
    eng.dispose()

    import jupyter_mlops as mlops

    old = mlops.get_model_version("old@2")  # opening the store upgrades it to 0010
    assert old.untrusted_types == ("test_trust.double",)  # kept, as what the saver saw
    with pytest.raises(TrustError, match="old@2 was not loaded: .*test_trust.double"):
        old.load()  # the row trusted it before 0010; now only the project can
    with pytest.raises(TrustError, match="old@1 is saved with joblib"):
        mlops.load_model("old@1")
    assert mlops.load_model("old@1", allow_pickle=True).predict(X[:5]).tolist() == \
        lr.predict(X[:5]).tolist()


# --------------------------------------------------------------------------- feature views


def test_a_stored_feature_source_runs_only_where_the_project_allows_it(project, mlops,
                                                                      monkeypatch):
    from jupyter_mlops.features import views

    @mlops.feature_view("squares", entities=["k"], timestamp="ts")
    def squares():
        import pandas as pd

        return pd.DataFrame({"k": range(3), "ts": pd.Timestamp("2026-01-01"),
                             "sq": [k * k for k in range(3)]})

    totals = views.define_view("totals", "k", "ts", "SELECT 1 AS k, TIMESTAMP '2026-01-01' "
                               "AS ts, 2.5 AS total", sql=True)
    view = mlops.get_view("squares")
    assert mlops.materialize("totals").rows == 1  # defined here: runs as always
    monkeypatch.setattr(views, "_FUNCTIONS", {})  # as in any other process
    for name, digest, what in (("squares", view.digest, "source"),
                               ("totals", totals.digest, "query")):
        code, out, err = cli_capture(["features", "materialize", name])
        assert (code, out) == (1, "") and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"jupyter mlops: feature view {name}@1 was not defined in this "
                              f"process, and its stored {what} runs here only if this project "
                              "allows it.")
        assert f'run_feature_sources = ["{digest}"]' in err
        assert f"MLOPS_RUN_FEATURE_SOURCES={digest}" in err
    assert count(mlops, tables.feature_materializations) == 1  # refused: nothing written

    monkeypatch.setenv("MLOPS_RUN_FEATURE_SOURCES", f"{totals.digest},{view.digest}")
    assert mlops.materialize("squares").rows == 3
    assert mlops.materialize("totals").rows == 1

    # the row's own digest proves nothing: a source changed in the store is refused
    evil = project / "evil"
    with mlops.get_store().write() as conn:
        conn.execute(update(tables.feature_views).where(tables.feature_views.c.name == "squares")
                     .values(source=view.source.replace(
                         "import pandas as pd", f"import pathlib; pathlib.Path({str(evil)!r})"
                         ".touch()\n    import pandas as pd")))
    changed = views.definition_digest("python", mlops.get_view("squares").source, ("k",), "ts",
                                      None)
    with pytest.raises(TrustError, match=f"its row says digest {view.digest[:12]}…, but its "
                                         f"content is {changed[:12]}…") as refused:
        mlops.materialize("squares")
    assert f'["{changed}"]' in str(refused.value) and not evil.exists()

    monkeypatch.delenv("MLOPS_RUN_FEATURE_SOURCES")
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nrun_feature_sources = "all"\n')
    assert mlops.materialize("totals").rows == 1
    for bad in ("0123abc", "ALL"):
        monkeypatch.setenv("MLOPS_RUN_FEATURE_SOURCES", bad)
        with pytest.raises(MLOpsUsageError, match="run_feature_sources from "
                                                  "MLOPS_RUN_FEATURE_SOURCES lists feature view "
                                                  "digests"):
            mlops.materialize("totals")


# --------------------------------------------------------------------------- dataset files


def test_paths_read_from_the_store_stay_inside_their_folder(project, mlops, tmp_path):
    folder = tmp_path / "docs"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b.txt").write_text("b")
    (folder / "c.txt").write_text("c")
    version = mlops.version_dataset(folder, "docs")
    cache = project / ".mlops" / "cache" / "datasets"
    files = tables.dataset_files
    with mlops.get_store().read() as conn:
        c_digest = conn.execute(select(files.c.digest).where(files.c.path == "c.txt")).scalar()
    current = {"path": "c.txt"}

    def tamper(**values):
        with mlops.get_store().write() as conn:
            conn.execute(update(files).where(files.c.path == current["path"]).values(**values))
        current.update(values)

    for bad in ("../escaped.txt", "/tmp/absolute.txt", "C:/x.txt", "c:x.txt", "a/../../x.txt",
                "a\\..\\..\\x.txt", "\\\\server\\share\\x.txt", "a/\0/x.txt", "./c.txt", "a//c",
                ""):
        tamper(path=bad)
        with pytest.raises(StoreError, match=re.escape(f"dataset docs@1: the store lists the "
                                                       f"file {bad!r}, which is not a plain "
                                                       "relative path")):
            mlops.load_dataset("docs@1")
        assert not cache.exists()  # every row checked before any file is written
    tamper(path="c.txt", digest="../../../../escaped")
    with pytest.raises(StoreError, match=r"dataset docs@1: the store holds '\.\./\.\./"):
        mlops.load_dataset("docs@1")
    with mlops.get_store().write() as conn:
        conn.execute(update(files).where(files.c.path == "c.txt").values(digest=c_digest))
        conn.execute(update(tables.dataset_versions).values(digest="../../../outside"))
    with pytest.raises(StoreError, match="where a digest .* belongs"):
        mlops.load_dataset("docs@1")
    assert not (project / "outside").exists() and not (tmp_path / "escaped").exists()
    with mlops.get_store().write() as conn:
        conn.execute(update(tables.dataset_versions).values(digest=version.digest))
    loaded = Path(mlops.load_dataset("docs@1"))
    assert (loaded / "a" / "b.txt").read_text() == "b" and (loaded / "c.txt").read_text() == "c"


# --------------------------------------------------------------------------- webhooks


def test_webhook_urls_are_shown_as_scheme_and_host_everywhere(project, mlops, wine, ip):
    frame, X, y = wine
    with mlops.start_run(name="train"):
        mlops.version_dataset(frame, "wine", role="train")
        mlops.register_model(classifier().fit(X, y), "clf")
    hook = Receiver()
    try:
        url = f"{hook.url}/T000/B000/s3cret?token=t0ken"
        host = hook.url.removesuffix("/hook")
        rule = mlops.add_alert("clf", "drift_share > 0.1", webhook=url)
        assert rule.webhook == host and rule.to_dict()["webhook"] == host
        assert "s3cret" not in repr(rule)
        with mlops.get_store().read() as conn:  # stored whole: it is where alerts go
            assert conn.execute(select(tables.alert_rules.c.webhook)).scalar() == url
        assert mlops.list_alerts("clf", rules=True)["webhook"].tolist() == [host]
        assert [r["webhook"] for r in mlops.drift_history("clf").rules] == [host]
        batch = mlops.monitor("clf", shifted(X))
        assert [a["webhook"] for a in batch.alerts] == [host]
        hook.wait()
        assert hook.paths == ["/hook/T000/B000/s3cret?token=t0ken"]  # posted to the full URL

        # a post that fails quoting its path records it without the path
        mlops.add_alert("clf", "rows > 0", webhook="http://127.0.0.1:9/T1/s3cret path")
        mlops.monitor("clf", X)
        deadline = time.monotonic() + 10
        while mlops.list_alerts("clf")["webhook_status"].isna().any():
            assert time.monotonic() < deadline, "the webhook's answer was not recorded"
            time.sleep(0.05)
        statuses = mlops.list_alerts("clf")["webhook_status"].tolist()
        assert any(s.startswith("failed: ") for s in statuses), statuses
        with mlops.get_store().read() as conn:
            stored = list(conn.execute(select(tables.alerts.c.webhook_status)).scalars())
        assert all("s3cret" not in s for s in statuses + stored), (statuses, stored)

        # the command line, the magic, and a refused URL
        for args in (["drift", "alerts", "clf", "--rules"],
                     ["drift", "alerts", "clf", "--rules", "--format", "json"],
                     ["drift", "alerts", "clf", "--format", "csv"],
                     ["drift", "alert", "clf", "f1 < 0.5", "--webhook", url]):
            code, out, err = cli_capture(args)
            assert code == 0 and "s3cret" not in out + err and "t0ken" not in out + err, args
        out = cli_capture(["drift", "alerts", "clf", "--rules", "--format", "json"])[1]
        assert {json.loads(line)["webhook"] for line in out.splitlines()} == {
            host, "http://127.0.0.1:9"}
        shown = ip.run_line_magic("drift", "alerts clf --rules")
        assert set(shown["webhook"]) == {host, "http://127.0.0.1:9"}
        for bad in ("ftp://host/s3cret", "hooks.example.com/s3cret", "https:///s3cret"):
            with pytest.raises(MLOpsUsageError, match="webhook must be an http") as refused:
                mlops.add_alert("clf", "f1 < 0.5", webhook=bad)
            assert "s3cret" not in str(refused.value)
    finally:
        hook.close()


def test_webhook_urls_in_magic_output_are_shown_as_scheme_and_host(project, mlops, wine, ip,
                                                                  capsys):
    from IPython.core.error import UsageError

    frame, X, y = wine
    mlops.register_model(classifier().fit(X, y), "clf", signature=X)
    ip.run_line_magic("drift", "alert clf 'f1 < 0.4' --webhook 'https://chat.example.com/s3cret'")
    with pytest.raises(UsageError, match="scheme 'gopher'") as refused:
        ip.run_line_magic("drift", "alert clf 'f1 < 0.4' --webhook 'gopher://chat.example.com/s3'")
    out, err = capsys.readouterr()
    assert "alert rule 1 on clf" in out
    assert "s3cret" not in out + err and "s3" not in str(refused.value).split("\n")[0]
    shown = ip.run_line_magic("drift", "alerts clf --rules")
    assert shown["webhook"].tolist() == ["https://chat.example.com"]


# --------------------------------------------------------------------------- max_active_runs


def test_max_active_runs_holds_when_runs_start_at_once(backend, project, mlops, monkeypatch):
    """Eight starts at once (new runs, claims of queued runs, resumes) of a pipeline that
    allows two: exactly two start, on SQLite and on PostgreSQL."""
    from test_pipelines import notebook

    from jupyter_mlops.pipelines import runner
    from jupyter_mlops.pipelines.spec import load_spec, parse, save_spec, spec_path

    notebook(project / "step.ipynb", None, "x = 1")
    mlops.export_pipeline("busy", notebooks=["step.ipynb"])
    save_spec(parse({**load_spec("busy").model_dump(), "max_active_runs": 2},
                    spec_path("busy")))
    store = mlops.get_store()
    with store.write() as conn:
        queued = [runner.queue_pipeline(conn, "busy", "alert") for _ in range(2)]
    failed = []
    for _ in range(2):
        run_id = f"{len(failed):032x}"
        with store.write() as conn:
            conn.execute(tables.pipeline_runs.insert().values(
                id=run_id, pipeline="busy", status="failed", trigger="manual", params="{}",
                spec=runner.dump(load_spec("busy")), started_at=time.time(),
                ended_at=time.time(), heartbeat=time.time()))
        failed.append(run_id)

    release, started, refused = threading.Event(), [], []

    def hold(spec, run_id, *rest):  # a run that keeps running
        started.append(run_id)
        release.wait(60)
        return {}

    monkeypatch.setattr(runner, "_execute", hold)
    starts = ([lambda: runner.run_pipeline("busy", progress=False)] * 4
              + [lambda q=q: runner.run_pipeline("busy", queued=q, progress=False)
                 for q in queued]
              + [lambda f=f: runner.run_pipeline("busy", resume=f, progress=False)
                 for f in failed])
    barrier = threading.Barrier(len(starts))

    def start(fn):
        barrier.wait()
        try:
            fn()
        except MLOpsUsageError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=start, args=(fn,)) for fn in starts]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(started) + len(refused) < len(starts):
        assert time.monotonic() < deadline, (started, refused)
        time.sleep(0.05)
    with store.read() as conn:
        running = conn.execute(select(func.count()).select_from(tables.pipeline_runs).where(
            tables.pipeline_runs.c.status == "running")).scalar()
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(started) == 2 and running == 2, (started, refused)
    assert len(refused) == 6 and all("max_active_runs=2" in r for r in refused), refused
    with store.read() as conn:  # refused starts wrote nothing: still queued, still failed
        states = dict(conn.execute(select(tables.pipeline_runs.c.id,
                                          tables.pipeline_runs.c.status)).all())
    assert len(states) == 4 + sum(run_id not in queued + failed for run_id in started)
    assert all(states[q] in ("queued", "finished") for q in queued)
    assert all(states[f] in ("failed", "finished") for f in failed)
