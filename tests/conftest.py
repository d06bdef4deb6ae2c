"""Shared fixtures: a temporary project with its own store, on SQLite or the real PostgreSQL.

PostgreSQL tests run against the server on 127.0.0.1:5432 (trust auth). When it cannot be
reached they are skipped, except under CI=true, where that is a failure."""

from __future__ import annotations

import atexit
import json
import os
import uuid

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)  # jp_fetch and a real Jupyter server

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV_KEYS = ("MLOPS_PROJECT_ROOT", "MLOPS_STORE_URI", "MLOPS_ARTIFACT_URI", "MLOPS_EXPERIMENT",
            "MLOPS_NOTEBOOK", "MLOPS_HEARTBEAT_TIMEOUT", "MLOPS_HEARTBEAT_INTERVAL",
            "MLOPS_FLUSH_INTERVAL", "MLOPS_BUSY_TIMEOUT", "MLOPS_GC_GRACE", "MLOPS_AUTOLOG",
            "MLOPS_RECORD_CELLS", "MLOPS_ONLINE_STORE", "MLOPS_ALLOW_PICKLE",
            "MLOPS_TRUSTED_TYPES", "MLOPS_RUN_FEATURE_SOURCES", "MLOPS_SQLITE_SYNCHRONOUS",
            "MLOPS_EXECUTOR", "MLOPS_AUTOML_STORAGE", "JPY_SESSION_NAME")


def _forget() -> None:
    from jupyter_mlops.store import reset
    from jupyter_mlops.tracking import autolog, fluent, writer

    while fluent._stack:
        try:
            fluent.end_run()
        except Exception:
            fluent._stack.pop()
    fluent._experiment = None
    fluent._session_inputs.clear()
    autolog.set_enabled(False)
    _forget_mlflow()
    try:
        writer.forget_all()
    except Exception:  # a test that broke its store on purpose: drop what is buffered
        with writer._writers_lock:
            writer._writers.clear()
    reset()


def _forget_mlflow() -> None:
    """MLflow keeps its active runs, tracking and registry URIs and the experiment set last
    for the process (its setters also set MLFLOW_* environment variables): each test has
    another project."""
    import sys

    if "mlflow" not in sys.modules:
        return
    import mlflow
    from mlflow.tracking import fluent

    while mlflow.active_run() is not None:
        try:
            mlflow.end_run()
        except Exception:
            fluent._active_run_stack.get().pop()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    fluent._active_experiment_id = None
    # what MLflow's setters also put in the environment (for subprocesses: kernels, papermill)
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)


def pg_available() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        return True
    except OSError:
        return False


def require_postgres() -> None:
    if not pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required under CI=true")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")


def fresh_pg_database() -> str:
    """Create an empty database; returns its URI (dropped by the caller)."""
    import psycopg

    name = f"mlops_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN.replace("postgresql://", "postgresql://", 1),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(uri: str) -> None:
    import psycopg

    name = uri.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder whose embedded SQLite store is used by the API."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(root))
    monkeypatch.chdir(root)
    _forget()
    yield root
    _forget()


@pytest.fixture
def pg_uri(project, monkeypatch):
    """A fresh, upgraded PostgreSQL database used as the store of `project`."""
    require_postgres()
    uri = fresh_pg_database()
    from jupyter_mlops.store import Store

    Store(uri, str(project / "artifacts"), check=False).upgrade()
    monkeypatch.setenv("MLOPS_STORE_URI", uri)
    _forget()
    yield uri
    _forget()
    drop_pg_database(uri)


@pytest.fixture
def team(pg_uri, project):
    """`pg_uri`'s database made a team store, with a login role in each team role; the API
    acts as the owner until `team.acting_as(user)`."""
    from team_store import drop_users, make_team_store

    made = make_team_store(pg_uri, str(project / "artifacts"))
    _forget()
    yield made
    _forget()
    drop_users(made)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, project):
    """Run a test once on the embedded SQLite store and once on the real PostgreSQL."""
    if request.param == "postgres":
        request.getfixturevalue("pg_uri")
    return request.param


@pytest.fixture
def mlops(project):
    import jupyter_mlops

    return jupyter_mlops


@pytest.fixture
def ip(project, tmp_path, monkeypatch):
    """A fresh InteractiveShell (history in memory) with the extension loaded. Figures render
    as in a kernel (plotly's mime type): plotly picks its default renderer when first
    imported, which in pytest may have happened with no shell around (then: a browser)."""
    import plotly.io as pio
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=cfg)
    shell.run_line_magic("load_ext", "jupyter_mlops")
    yield shell
    from jupyter_mlops.tracking import fluent

    while fluent.active_run() is not None:
        fluent.end_run()
    # each shell registers an exit hook that resets it (a full gc.collect); not needed here
    atexit.unregister(shell.atexit_operations)
    InteractiveShell.clear_instance()


@pytest.fixture
def jp_server_config(project):
    """A Jupyter server (pytest-jupyter's) with the extension enabled, on the project's store."""
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def api(jp_fetch):
    """GET/POST JSON under mlops/api; returns (status, body) and never raises on 4xx."""
    from tornado.httpclient import HTTPClientError

    async def call(path: str, method: str = "GET", body=None, params=None, headers=None):
        try:
            resp = await jp_fetch("mlops", "api", *path.strip("/").split("/"), method=method,
                                  params=params, headers=headers,
                                  body=None if body is None else json.dumps(body),
                                  allow_nonstandard_methods=True)
        except HTTPClientError as err:
            resp = err.response
        text = resp.body.decode() if resp.body else ""
        content_type = resp.headers.get("Content-Type", "")
        return resp.code, (json.loads(text) if "json" in content_type and text else resp)

    return call


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `jupyter mlops ARGS` in this process: (exit code, stdout, stderr)."""
    from jupyter_mlops.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: --help and bad usage
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The error line of a command's bad-usage output, checked to be the only one and to
    follow the command's usage (as argparse prints its own errors)."""
    lines = err.splitlines()
    errors = [line for line in lines if "error:" in line]
    assert lines[0].startswith("usage: jupyter mlops") and len(errors) == 1, err
    return errors[0]
