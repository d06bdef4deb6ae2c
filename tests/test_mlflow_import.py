"""`import_mlflow` and `jupyter mlops import mlflow`: MLflow stores written by MLflow itself
(SQLite, an ./mlruns folder, PostgreSQL, a real `mlflow server` over HTTP) copied in, then
read back through the plugin (`mlops:`) with MLflow's own client and compared run by run with
the source: info, params, tags, every metric point, dataset inputs, logged-model outputs,
artifact bytes; the registered model loads here and predicts as the original; a second import
adds nothing; an import killed midway (SIGKILL of a real process) resumes complete."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import cli, drop_pg_database, error_line, fresh_pg_database, require_postgres

pytest.importorskip("mlflow")

MODEL = "iris-clf"
RUNS = 6  # the scenario's runs, without the bulk ones
BULK_RUNS = 60
ROOT = Path(__file__).resolve().parent.parent


# -- the source stores, written with MLflow's own client -------------------------------------

def log_scenario(uri: str, bulk: int = 0) -> dict:
    """Experiments with tags, nested runs (three levels), params, metrics over steps with
    their own timestamps, tags, a dataset input, artifacts (a file and a folder), a failed and
    a deleted run, a run in the Default experiment, an sklearn model logged and registered in
    two versions with aliases and a version tag; `bulk` small runs in experiment "bulk"."""
    import tempfile

    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _log(uri, Path(tmp), bulk)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


def _log(uri: str, folder: Path, bulk: int) -> dict:
    import mlflow
    import mlflow.data
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    client = MlflowClient(uri, uri)
    (folder / "plots" / "deep").mkdir(parents=True)
    (folder / "notes.txt").write_text("first run notes\n")
    (folder / "plots" / "a.json").write_text('{"a": 1}')
    (folder / "plots" / "deep" / "b.bin").write_bytes(bytes(range(256)) * 3)
    X, y = load_iris(return_X_y=True, as_frame=True)
    exp_a = client.create_experiment("exp-a", tags={"team": "vision", "mlflow.note.content": "A"})
    exp_b = client.create_experiment("exp-b")
    base = 1_700_000_000_123
    with mlflow.start_run(experiment_id=exp_a, run_name="parent") as parent:
        mlflow.log_params({"depth": "3", "lr": "0.10", "note": "exact string 1e3"})
        for step in range(6):
            client.log_metric(parent.info.run_id, "loss", 1 / (step + 1), base + 7 * step, step)
        mlflow.log_metric("acc", 0.5, step=2)
        mlflow.set_tags({"team": "vision", "stage": "dev"})
        mlflow.log_input(mlflow.data.from_pandas(X.assign(target=y), name="iris",
                                                 targets="target"), context="training")
        mlflow.log_artifact(str(folder / "notes.txt"))
        mlflow.log_artifacts(str(folder / "plots"), "plots")
        with mlflow.start_run(experiment_id=exp_a, run_name="child", nested=True) as child:
            mlflow.log_metric("acc", 0.7, step=1)
            with mlflow.start_run(experiment_id=exp_a, run_name="grandchild", nested=True):
                mlflow.log_param("seed", "7")
        model = LogisticRegression(max_iter=300).fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL,
                                        pip_requirements=["scikit-learn"],
                                        serialization_format="pickle")
    client.create_model_version(MODEL, info.model_uri, run_id=child.info.run_id,
                                description="second version", model_id=info.model_id)
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    client.set_model_version_tag(MODEL, "1", "validated", "yes")
    client.set_registered_model_tag(MODEL, "owner", "vision")
    client.update_registered_model(MODEL, description="iris classifier")
    failed = client.create_run(exp_b, run_name="failed", tags={"k": "v"})
    client.log_batch(failed.info.run_id, metrics=[Metric("m", float(i), base + i, i)
                                                  for i in range(50)])
    client.set_terminated(failed.info.run_id, "FAILED", end_time=base + 999)
    gone = client.create_run(exp_b, run_name="deleted")
    client.set_terminated(gone.info.run_id)
    client.delete_run(gone.info.run_id)
    with mlflow.start_run(experiment_id="0", run_name="in-default"):
        mlflow.log_metric("x", 1.0)
    if bulk:
        exp_bulk = client.create_experiment("bulk")
        for i in range(bulk):
            run = client.create_run(exp_bulk, run_name=f"bulk-{i}")
            client.log_batch(run.info.run_id, metrics=[
                Metric(k, float(i * s), base + s, s) for k in ("m1", "m2") for s in range(20)],
                params=[Param("i", str(i))], tags=[RunTag("kind", "bulk")])
            client.log_text(run.info.run_id, f"bulk run {i}\n", "out/log.txt")
            client.set_terminated(run.info.run_id)
    return {"X": X, "predictions": model.predict(X), "parent": parent.info.run_id,
            "child": child.info.run_id}


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    cwd = os.getcwd()
    os.chdir(folder)  # MLflow's default artifact root (./mlruns) lands here
    try:
        uri = f"sqlite:///{folder}/mlflow.db"
        return uri, log_scenario(uri, bulk=BULK_RUNS)
    finally:
        os.chdir(cwd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` (one per module; it takes seconds to start): started when the
    module starts, so it comes up while the other tests run; waited for in its test."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
         f"sqlite:///{folder}/server.db", "--artifacts-destination", str(folder / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    yield proc, f"http://127.0.0.1:{port}", folder, time.monotonic()
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.fixture(scope="module", autouse=True)
def _start_server_early(mlflow_server):
    return mlflow_server


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """No progress bar per download when the tests read artifacts back."""
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def wait_for(server) -> str:
    proc, url, folder, started = server
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, (folder / "server.log").read_text()[-2000:]
        try:
            urllib.request.urlopen(url + "/health", timeout=2).close()
            print(f"mlflow server up {time.monotonic() - started:.1f} s after its start")
            return url
        except OSError:
            time.sleep(0.2)
    raise AssertionError("mlflow server did not come up in 120 s")


# -- checks ------------------------------------------------------------------------------------

def all_runs(client):
    from mlflow.entities import ViewType

    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000)


def artifact_bytes(client, run_id, path=None) -> dict[str, bytes]:
    import tempfile

    out = {}
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            out.update(artifact_bytes(client, run_id, info.path))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                out[info.path] = Path(client.download_artifacts(run_id, info.path, tmp)).read_bytes()
    return out


def assert_same_runs(source_uri: str, experiments: set[str] | None = None) -> int:
    """Every run of the source (of `experiments`) reads back identically through `mlops:`;
    returns how many runs were compared."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    src, ours = MlflowClient(source_uri, source_uri), MlflowClient("mlops:", "mlops:")
    names = {e.experiment_id: e.name for e in src.search_experiments(view_type=ViewType.ALL)}
    our_names = {e.experiment_id: e.name for e in ours.search_experiments(view_type=ViewType.ALL)}
    compared = 0
    for run in all_runs(src):
        if experiments is not None and names[run.info.experiment_id] not in experiments:
            continue
        a, b = src.get_run(run.info.run_id), ours.get_run(run.info.run_id)
        for field in ("run_id", "run_name", "status", "start_time", "end_time",
                      "lifecycle_stage", "user_id"):
            assert getattr(a.info, field) == getattr(b.info, field), field
        assert names[a.info.experiment_id] == our_names[b.info.experiment_id]
        assert a.data.params == b.data.params
        assert a.data.tags == b.data.tags
        assert a.data.metrics == b.data.metrics
        for key in a.data.metrics:
            history = [(m.key, m.value, m.step, m.timestamp)
                       for m in src.get_metric_history(run.info.run_id, key)]
            assert history == [(m.key, m.value, m.step, m.timestamp)
                               for m in ours.get_metric_history(run.info.run_id, key)], key
        assert [(d.dataset.name, d.dataset.digest, d.dataset.source, d.dataset.schema,
                 d.dataset.profile, sorted((t.key, t.value) for t in d.tags))
                for d in a.inputs.dataset_inputs] == [
                (d.dataset.name, d.dataset.digest, d.dataset.source, d.dataset.schema,
                 d.dataset.profile, sorted((t.key, t.value) for t in d.tags))
                for d in b.inputs.dataset_inputs]
        assert [(m.model_id, m.step) for m in a.outputs.model_outputs] == [
            (m.model_id, m.step) for m in b.outputs.model_outputs]
        assert artifact_bytes(src, run.info.run_id) == artifact_bytes(ours, run.info.run_id)
        compared += 1
    return compared


def assert_registry(scenario: dict, source_uri: str) -> None:
    """The model loads here and predicts as the original; versions keep their run (lineage)
    and tags; the aliases' history shows the import."""
    from mlflow import MlflowClient

    import jupyter_mlops as mlops

    model = mlops.load_model(f"{MODEL}@champion", allow_pickle=True)
    assert (model.predict(scenario["X"]) == scenario["predictions"]).all()
    import mlflow.sklearn

    previous = mlflow.get_registry_uri()
    mlflow.set_tracking_uri("mlops:")
    mlflow.set_registry_uri("mlops:")
    try:  # MLflow's own loader, through the plugin
        model = mlflow.sklearn.load_model(f"models:/{MODEL}@challenger")
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(previous)
    assert (model.predict(scenario["X"]) == scenario["predictions"]).all()
    v1, v2 = mlops.get_model_version(f"{MODEL}/1"), mlops.get_model_version(f"{MODEL}@challenger")
    assert (v1.run_id, v2.run_id, v2.version) == (scenario["parent"], scenario["child"], 2)
    graph = mlops.lineage(f"model:{MODEL}@1")
    assert any(n.kind == "run" and scenario["parent"] in n.id for n in graph.nodes.values())
    history = mlops.alias_history(MODEL)
    assert sorted(history["alias"]) == ["challenger", "champion"]
    assert history["comment"].str.contains("imported from MLflow").all()
    src, ours = MlflowClient(source_uri, source_uri), MlflowClient("mlops:", "mlops:")
    for number in ("1", "2"):
        a, b = src.get_model_version(MODEL, number), ours.get_model_version(MODEL, number)
        assert (a.tags, a.run_id, a.source, a.aliases, a.creation_timestamp) == (
            b.tags, b.run_id, b.source, b.aliases, b.creation_timestamp)
        assert (a.description or None) == b.description
    a, b = src.get_registered_model(MODEL), ours.get_registered_model(MODEL)
    assert (a.tags, a.description) == (b.tags, b.description)
    assert {k: str(v) for k, v in a.aliases.items()} == {k: str(v) for k, v in b.aliases.items()}
    mine = ours.search_logged_models([e.experiment_id for e in ours.search_experiments()])
    theirs = src.search_logged_models([e.experiment_id for e in src.search_experiments()])
    assert len(mine) == len(theirs) == 1

    def logged(client, m):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        files = get_artifact_repository(m.artifact_location,
                                        tracking_uri=client.tracking_uri).list_artifacts()
        return (m.model_id, m.name, m.params, m.tags, str(m.status), m.source_run_id,
                m.creation_timestamp, sorted((f.path, f.file_size) for f in files))

    assert logged(src, theirs[0]) == logged(ours, mine[0])


def row_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import metadata

    with get_store().read() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar()
                for name, table in metadata.tables.items() if name != "changes"}


def assert_nothing_added(summary) -> None:
    assert not summary.dry_run
    assert all(getattr(summary, k) == 0 for k in (
        "experiments", "runs", "metric_points", "artifacts", "logged_models",
        "registered_models", "versions", "aliases")), summary.to_dict()
    assert summary.skipped > 0


# -- tests -------------------------------------------------------------------------------------

def test_sqlite_import_reads_back_identically_and_twice_adds_nothing(project, sqlite_source,
                                                                     monkeypatch):
    """Through the reader processes (used from POOL_MIN runs on: here from 10, in batches
    of 16, so that two readers answer in turn)."""
    import jupyter_mlops as mlops
    from jupyter_mlops.mlflow import import_source

    monkeypatch.setattr(import_source, "POOL_MIN", 10)
    monkeypatch.setattr(import_source, "BATCH", 16)
    uri, scenario = sqlite_source
    summary = mlops.import_mlflow(uri)
    assert (summary.runs, summary.experiments, summary.versions, summary.aliases) == (
        RUNS + BULK_RUNS, 4, 2, 2)
    assert (summary.registered_models, summary.logged_models, summary.datasets) == (1, 1, 1)
    assert summary.metric_points == 6 + 1 + 1 + 50 + 1 + BULK_RUNS * 40
    assert summary.artifacts == 3 + BULK_RUNS and summary.skipped == 0
    assert "runs" in str(summary) and "<table>" in summary._repr_html_()
    assert json.loads(json.dumps(summary.to_dict()))["runs"] == summary.runs
    assert assert_same_runs(uri) == RUNS + BULK_RUNS
    assert_registry(scenario, uri)
    from sqlalchemy import select

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import runs

    with get_store().read() as conn:  # the parent chain, as MLflow's tags say
        parents = dict(conn.execute(select(runs.c.id, runs.c.parent_run_id)).all())
    assert parents[scenario["child"]] == scenario["parent"]
    before = row_counts()
    again = mlops.import_mlflow(uri)
    assert_nothing_added(again)
    assert (again.skipped_runs, again.skipped_versions, again.skipped_logged_models) == (
        RUNS + BULK_RUNS, 2, 1)
    assert row_counts() == before


def test_cli_experiment_filter_dry_run_and_exit_codes(project, sqlite_source, capsys):
    uri, _ = sqlite_source
    code, out, err = cli(capsys, "import", "mlflow", uri, "--dry-run", "--format", "json")
    assert code == 0, err
    planned = json.loads(out)
    assert planned["dry_run"] and planned["runs"] == RUNS + BULK_RUNS and planned["versions"] == 2
    assert sum(row_counts()[t] for t in ("runs", "experiments", "models")) == 0

    code, out, err = cli(capsys, "import", "mlflow", uri, "--experiment", "exp-b",
                         "--experiment", "Default")
    assert code == 0, err
    assert "copied" in out and "runs" in out
    assert row_counts()["runs"] == 3 and row_counts()["models"] == 0  # the model is exp-a's
    assert assert_same_runs(uri, {"exp-b", "Default"}) == 3

    code, out, err = cli(capsys, "import", "mlflow", uri, "--format", "json")
    done = json.loads(out)
    assert code == 0 and done["skipped_runs"] == 3
    assert {k: done[k] for k in ("runs", "metric_points", "versions", "artifacts")} == {
        k: planned[k] - (3 if k == "runs" else 0) - (51 if k == "metric_points" else 0)
        for k in ("runs", "metric_points", "versions", "artifacts")}


def test_bad_sources_are_one_clear_error_and_write_nothing(project, sqlite_source, tmp_path,
                                                            capsys):
    import jupyter_mlops as mlops
    from jupyter_mlops.errors import MLOpsUsageError

    uri, _ = sqlite_source
    mlops.import_mlflow(uri, experiments=["exp-b"])
    capsys.readouterr()  # its progress bar
    before = row_counts()
    cases = {
        f"http://127.0.0.1:{free_port()}": "cannot reach the MLflow server",
        "nonsense://what": "not an MLflow store URI",
        str(tmp_path / "no-such-mlruns"): "no MLflow folder",
        f"sqlite:///{tmp_path}/missing.db": "does not exist",
        "mlops:": "already a jupyter-mlops store",
    }
    for source, message in cases.items():
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.import_mlflow(source)
        code, _out, err = cli(capsys, "import", "mlflow", source)
        assert code == 2 and message in error_line(err)
    assert not (tmp_path / "no-such-mlruns").exists() and not (tmp_path / "missing.db").exists()
    with pytest.raises(MLOpsUsageError, match="no experiment 'nope'.*exp-a"):
        mlops.import_mlflow(uri, experiments=["exp-a", "nope"])
    code, _out, err = cli(capsys, "import", "mlflow", uri, "--experiment", "nope")
    assert code == 2 and "no experiment 'nope'" in error_line(err)
    assert row_counts() == before


def test_killed_import_resumes_complete_without_duplicates(project, sqlite_source):
    """A real `jupyter mlops import mlflow` SIGKILLed after some runs; the re-run imports the
    rest, and every row is there exactly once."""
    import jupyter_mlops as mlops

    uri, _ = sqlite_source
    env = {**os.environ, "MLOPS_PROJECT_ROOT": str(project),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "import", "mlflow", uri,
                             "--experiment", "bulk"], env=env, cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database, done = project / ".mlops" / "mlops.db", 0
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
                done = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= 5:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        killed_at = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    assert 0 < killed_at < BULK_RUNS, f"the import was not caught midway ({killed_at} runs)"

    summary = mlops.import_mlflow(uri, experiments=["bulk"])
    assert (summary.skipped_runs, summary.runs) == (killed_at, BULK_RUNS - killed_at)
    from mlflow import MlflowClient

    source = MlflowClient(uri)
    bulk = source.search_runs([source.get_experiment_by_name("bulk").experiment_id])
    counts = row_counts()
    assert (counts["runs"], counts["params"], counts["artifacts"], counts["tags"]) == (
        BULK_RUNS, BULK_RUNS, BULK_RUNS, sum(len(r.data.tags) for r in bulk))
    assert (counts["metric_chunks"], counts["latest_metrics"]) == (2 * BULK_RUNS, 2 * BULK_RUNS)
    assert assert_same_runs(uri, {"bulk"}) == BULK_RUNS
    assert_nothing_added(mlops.import_mlflow(uri, experiments=["bulk"]))


def test_import_into_a_postgresql_store(pg_uri, sqlite_source):
    """The same rows on the team store's database: one experiment and the model made there."""
    import jupyter_mlops as mlops

    uri, scenario = sqlite_source
    summary = mlops.import_mlflow(uri, experiments=["exp-a"])
    assert (summary.runs, summary.versions, summary.aliases, summary.logged_models) == (
        3, 2, 2, 1)
    assert assert_same_runs(uri, {"exp-a"}) == 3
    assert_registry(scenario, uri)
    assert_nothing_added(mlops.import_mlflow(uri, experiments=["exp-a"]))


def test_what_is_here_already_is_left_alone_and_said(project, sqlite_source):
    """A model of the same name registered here: its version 1 and its alias stay as they
    are (the summary's warnings say so); MLflow's version 2 joins it."""
    from sklearn.dummy import DummyClassifier

    import jupyter_mlops as mlops

    uri, scenario = sqlite_source
    mine = DummyClassifier().fit(scenario["X"], scenario["predictions"])
    mlops.register_model(mine, MODEL, alias="challenger")
    summary = mlops.import_mlflow(uri, experiments=["exp-a"])
    assert (summary.versions, summary.aliases, summary.registered_models) == (1, 0, 0)
    assert any("version 1 of model 'iris-clf' not copied" in w for w in summary.warnings)
    assert any("'challenger'" in w and "left as it is" in w for w in summary.warnings)
    assert mlops.get_model_version(f"{MODEL}@challenger").version == 1
    assert mlops.get_model_version(f"{MODEL}/2").run_id == scenario["child"]
    assert "warning: version 1" in str(summary)
    again = mlops.import_mlflow(uri, experiments=["exp-a"])
    assert (again.versions, again.skipped_versions, len(again.warnings)) == (0, 1, 2)


def test_file_store_import(project, tmp_path, monkeypatch):
    """MLflow 3.17 refuses to open an ./mlruns folder unless MLFLOW_ALLOW_FILE_STORE is set
    (its file store is in maintenance mode): the import sets it while it reads."""
    import jupyter_mlops as mlops

    source = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    scenario = log_scenario(str(source))
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    summary = mlops.import_mlflow("./" + os.path.relpath(source, project))
    assert (summary.runs, summary.versions, summary.aliases) == (RUNS, 2, 2)
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # to read the source back
    assert assert_same_runs(str(source)) == RUNS
    assert_registry(scenario, str(source))
    assert_nothing_added(mlops.import_mlflow(source.as_uri()))


def test_postgresql_import(project):
    """MLflow writes PostgreSQL through SQLAlchemy's psycopg (3) driver here (psycopg2 is not
    installed): the import takes the plain postgresql:// URI and picks that driver."""
    import jupyter_mlops as mlops

    require_postgres()
    database = fresh_pg_database()
    try:
        mlflow_uri = database.replace("postgresql://", "postgresql+psycopg://", 1)
        scenario = log_scenario(mlflow_uri)
        summary = mlops.import_mlflow(database)
        assert (summary.runs, summary.versions, summary.aliases) == (RUNS, 2, 2)
        assert assert_same_runs(mlflow_uri) == RUNS
        assert_registry(scenario, mlflow_uri)
        assert_nothing_added(mlops.import_mlflow(database))
    finally:
        drop_pg_database(database)


def test_server_import(project, mlflow_server):
    import jupyter_mlops as mlops

    url = wait_for(mlflow_server)
    scenario = log_scenario(url)
    summary = mlops.import_mlflow(url)
    assert (summary.runs, summary.versions, summary.aliases, summary.logged_models) == (
        RUNS, 2, 2, 1)
    assert assert_same_runs(url) == RUNS
    assert_registry(scenario, url)
    assert_nothing_added(mlops.import_mlflow(url + "/"))
