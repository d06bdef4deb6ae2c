"""`jupyter mlops` groups runs, experiments, store and the commands config and gc: a thin adapter,
so these tests check what it passes to the API, what it prints and its exit codes
(0 done, 1 the work failed, 2 bad usage), in-process and through the real command."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli, drop_pg_database, error_line, fresh_pg_database, require_postgres

DEAD_PG = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/x"


def command(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it (a fresh interpreter)."""
    return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def make_runs(mlops) -> dict[str, str]:
    """Three finished runs in two experiments; returns {name: run id}."""
    ids = {}
    for name, exp, lr, acc in (("rf-1", "cli", 0.1, 0.8), ("rf-2", "cli", 0.2, 0.9),
                               ("lin", "other", 0.1, 0.5)):
        with mlops.start_run(name=name, experiment=exp, params={"lr": lr, "model": name[:2]},
                             tags={"team": "a"}) as run:
            mlops.log_metric("acc", acc - 0.1, step=0)
            mlops.log_metric("acc", acc, step=1)
        ids[name] = run.id
    return ids


# -- runs ------------------------------------------------------------------------------------

def test_runs_list_table_json_csv(mlops, capsys):
    ids = make_runs(mlops)
    code, out, err = cli(capsys, "runs", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run_id", "name", "experiment", "status"]
    assert len(lines) == 4 and all(ids[n] in out for n in ids)

    code, out, err = cli(capsys, "runs", "list", "--format", "json")
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == set(ids)
    assert by_name["rf-2"]["run_id"] == ids["rf-2"]
    assert by_name["rf-2"]["params.lr"] == 0.2 and by_name["rf-2"]["metrics.acc"] == 0.9
    assert by_name["rf-2"]["params.model"] == "rf" and by_name["rf-2"]["tags.team"] == "a"
    assert by_name["rf-2"]["status"] == "finished"
    assert by_name["rf-2"]["start_time"].startswith("20")  # ISO dates

    code, out, err = cli(capsys, "runs", "list", "--format", "csv", "-e", "other")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in table] == ["lin"]


def test_runs_list_passes_its_options_to_search_runs(project, capsys, monkeypatch):
    import pandas as pd

    from jupyter_mlops.tracking import search

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return pd.DataFrame({"run_id": ["abc"], "name": ["x"]})

    monkeypatch.setattr(search, "search_runs", fake)
    code, out, _ = cli(capsys, "runs", "list", "-e", "a", "-e", "b", "--filter", "metrics.acc > 1",
                       "--order-by", "metrics.acc DESC", "--order-by", "name", "--limit", "5",
                       "--offset", "2", "--archived")
    assert code == 0 and "abc" in out
    assert seen == {"experiment": ["a", "b"], "filter": "metrics.acc > 1",
                    "order_by": ["metrics.acc DESC", "name"], "limit": 5, "offset": 2,
                    "include_archived": True}
    cli(capsys, "runs", "list")
    assert seen == {"experiment": None, "filter": None, "order_by": None, "limit": 100,
                    "offset": 0, "include_archived": False}


def test_runs_list_filter_and_empty(mlops, capsys):
    ids = make_runs(mlops)
    code, out, _ = cli(capsys, "runs", "list", "--filter", "metrics.acc > 0.85 and params.lr = 0.2",
                       "--format", "json")
    assert code == 0
    assert [json.loads(line)["run_id"] for line in out.splitlines()] == [ids["rf-2"]]
    code, out, _ = cli(capsys, "runs", "list", "--filter", "name = 'nobody'")
    assert (code, out) == (0, "(none)\n")


def test_runs_show(mlops, capsys):
    with mlops.start_run(name="shown", experiment="cli", params={"n": 3, "kind": "rf"},
                         tags={"stage": "dev"}) as run:
        mlops.log_metric("loss", 0.25)
        mlops.log_artifact({"a": 1}, name="conf.json")
    code, out, err = cli(capsys, "runs", "show", run.id[:10])
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert shown["run"]["id"] == run.id and shown["run"]["name"] == "shown"
    assert shown["run"]["experiment"] == "cli" and shown["run"]["status"] == "finished"
    assert shown["params"] == {"n": 3, "kind": "rf"}
    assert shown["metrics"] == {"loss": 0.25}
    assert shown["tags"] == {"stage": "dev"}
    assert shown["artifacts"]["conf.json"]["media_type"] == "application/json"
    assert shown["artifacts"]["conf.json"]["size"] > 0


def test_runs_compare(mlops, capsys):
    ids = make_runs(mlops)
    code, out, err = cli(capsys, "runs", "compare", ids["rf-1"], ids["rf-2"][:8])
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[0] == "field"
    assert f"rf-1 ({ids['rf-1'][:8]})" in header and f"rf-2 ({ids['rf-2'][:8]})" in header
    fields = [r.split()[0] for r in rows]
    assert fields == ["params.lr", "params.model", "metrics.acc"]
    code, out, _ = cli(capsys, "runs", "compare", ids["rf-1"], ids["rf-2"], "--differences")
    assert [r.split()[0] for r in out.splitlines()[1:]] == ["params.lr", "metrics.acc"]


def test_runs_delete_restore_purge(mlops, capsys):
    ids = make_runs(mlops)
    code, out, _ = cli(capsys, "runs", "delete", ids["lin"])
    assert code == 0 and out == f"archived 1 run(s): {ids['lin']}\n"
    _, out, _ = cli(capsys, "runs", "list", "--format", "json")
    assert ids["lin"] not in out
    _, out, _ = cli(capsys, "runs", "list", "--format", "json", "--archived")
    assert ids["lin"] in out
    code, out, _ = cli(capsys, "runs", "restore", ids["lin"][:8])
    assert (code, out) == (0, "restored 1 run(s)\n")
    _, out, _ = cli(capsys, "runs", "list", "--format", "json")
    assert ids["lin"] in out
    code, out, _ = cli(capsys, "runs", "delete", ids["lin"], "--purge")
    assert code == 0 and out.startswith("purged 1 run(s)")
    code, out, err = cli(capsys, "runs", "show", ids["lin"])
    assert code == 2 and out == ""
    assert error_line(err) == f"jupyter mlops: error: no run with id {ids['lin']}"


# -- experiments -----------------------------------------------------------------------------

def test_experiments_lifecycle(mlops, capsys):
    make_runs(mlops)
    code, out, err = cli(capsys, "experiments", "create", "fresh", "--description", "new one")
    assert (code, out, err) == (0, "created experiment 'fresh'\n", "")
    code, out, err = cli(capsys, "experiments", "create", "fresh")
    assert code == 2 and out == ""
    assert error_line(err) == "jupyter mlops: error: experiment 'fresh' exists already"

    code, out, _ = cli(capsys, "experiments", "list", "--format", "json")
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and set(rows) == {"cli", "other", "fresh"}
    assert rows["cli"]["runs"] == 2 and rows["fresh"]["runs"] == 0
    assert rows["fresh"]["description"] == "new one"
    _, out, _ = cli(capsys, "experiments", "list")
    assert out.split()[:4] == ["name", "lifecycle", "created_at", "runs"]

    code, out, _ = cli(capsys, "experiments", "delete", "cli")
    assert (code, out) == (0, "archived experiment 'cli' and 2 run(s)\n")
    _, out, _ = cli(capsys, "experiments", "list", "--format", "json")
    assert {json.loads(x)["name"] for x in out.splitlines()} == {"other", "fresh"}
    assert len(mlops.search_runs()) == 1  # its runs are hidden too
    _, out, _ = cli(capsys, "experiments", "list", "--archived", "--format", "json")
    assert {json.loads(x)["name"] for x in out.splitlines()} == {"cli", "other", "fresh"}
    code, out, _ = cli(capsys, "experiments", "restore", "cli")
    assert (code, out) == (0, "restored experiment 'cli' and 2 run(s)\n")
    assert len(mlops.search_runs()) == 3

    code, out, _ = cli(capsys, "experiments", "delete", "other", "--purge")
    assert (code, out) == (0, "purged experiment 'other' and 1 run(s)\n")
    _, out, _ = cli(capsys, "experiments", "list", "--archived", "--format", "json")
    assert {json.loads(x)["name"] for x in out.splitlines()} == {"cli", "fresh"}
    code, _, err = cli(capsys, "experiments", "restore", "other")
    assert code == 2 and error_line(err) == "jupyter mlops: error: no experiment named 'other'"


# -- store -----------------------------------------------------------------------------------

def test_store_info(mlops, project, capsys):
    make_runs(mlops)
    code, out, err = cli(capsys, "store", "info")
    assert (code, err) == (0, "")
    assert f"store:      sqlite:///{project.resolve()}/.mlops/mlops.db (schema " in out
    assert f"artifacts:  {project.resolve()}/.mlops/artifacts" in out
    assert "2 experiment(s), 3 run(s) (3 finished)" in out
    assert "6 metric point(s)" in out


@pytest.fixture
def empty_pg(project, monkeypatch):
    """A new, empty PostgreSQL database as the store (never upgraded)."""
    require_postgres()
    uri = fresh_pg_database()
    monkeypatch.setenv("MLOPS_STORE_URI", uri)
    yield uri
    from jupyter_mlops.store import reset

    reset()
    drop_pg_database(uri)


@pytest.mark.postgres
def test_store_upgrade_on_a_fresh_postgres(mlops, empty_pg, capsys):
    from jupyter_mlops.errors import SchemaError
    from jupyter_mlops.store.schema import HEAD

    code, out, err = cli(capsys, "runs", "list")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert "`jupyter mlops store upgrade`" in err and "empty" in err
    with pytest.raises(SchemaError, match="jupyter mlops store upgrade"):
        mlops.start_run(name="too-early")

    code, out, err = cli(capsys, "store", "upgrade")
    assert (code, err) == (0, "")
    shown = empty_pg.rsplit("/", 1)[1]
    assert out == f"store postgresql://postgres@127.0.0.1:5432/{shown}: schema (empty) -> {HEAD}\n"

    with mlops.start_run(name="after") as run:
        mlops.log_metric("x", 1.0)
    assert mlops.get_run(run.id).metrics == {"x": 1.0}
    code, out, _ = cli(capsys, "runs", "list", "--format", "json")
    assert code == 0 and json.loads(out)["name"] == "after"
    code, out, _ = cli(capsys, "store", "upgrade")
    assert code == 0 and out.endswith(f"schema {HEAD} -> {HEAD}\n")
    code, out, _ = cli(capsys, "store", "info")
    assert code == 0 and f"postgresql://postgres@127.0.0.1:5432/{shown} (schema {HEAD})" in out


# -- config ----------------------------------------------------------------------------------

def config_json(capsys) -> dict:
    code, out, err = cli(capsys, "config", "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def test_config_values_and_sources(project, capsys, monkeypatch):
    (project / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\nexperiment = "from-pyproject"\ngc-grace = 10\nautolog = false\n')
    shown = config_json(capsys)
    assert shown["experiment"] == {"value": "from-pyproject",
                                   "source": "pyproject.toml [tool.jupyter-mlops]"}
    assert shown["gc_grace"]["value"] == "10.0"
    assert shown["autolog"]["value"] == "False"
    assert shown["busy_timeout"] == {"value": "30.0", "source": "default"}
    assert shown["sqlite_synchronous"] == {"value": "normal", "source": "default"}
    assert shown["project_root"] == {"value": str(project.resolve()),
                                     "source": "env MLOPS_PROJECT_ROOT"}
    assert shown["store_uri"]["value"] == f"sqlite:///{project.resolve()}/.mlops/mlops.db"

    monkeypatch.setenv("MLOPS_EXPERIMENT", "from-env")
    monkeypatch.setenv("MLOPS_STORE_URI", DEAD_PG)
    shown = config_json(capsys)
    assert shown["experiment"] == {"value": "from-env", "source": "env MLOPS_EXPERIMENT"}
    assert shown["gc_grace"]["source"] == "pyproject.toml [tool.jupyter-mlops]"
    assert shown["store_uri"] == {"value": "postgresql://postgres:***@127.0.0.1:1/x",
                                  "source": "env MLOPS_STORE_URI"}

    code, out, err = cli(capsys, "config")
    assert (code, err) == (0, "")
    assert "s3cr3t" not in out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["experiment"].split() == ["experiment", "from-env", "(env", "MLOPS_EXPERIMENT)"]
    assert lines["store_uri"].split()[1] == "postgresql://postgres:***@127.0.0.1:1/x"
    assert lines["busy_timeout"].endswith("(default)")


def test_config_discovers_the_project_root(tmp_path, project, capsys, monkeypatch):
    monkeypatch.delenv("MLOPS_PROJECT_ROOT")
    (project / ".mlops").mkdir()
    (project / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(project / "sub" / "deeper")
    shown = config_json(capsys)
    assert shown["project_root"] == {"value": str(project.resolve()), "source": "discovered"}


def test_config_refuses_unknown_settings(project, capsys):
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nexperimnet = "typo"\n')
    code, out, err = cli(capsys, "config")
    assert code == 2 and out == ""
    assert "unknown setting(s)" in error_line(err) and "experimnet" in err


def test_config_refuses_bad_values(project, capsys, monkeypatch):
    monkeypatch.setenv("MLOPS_FLUSH_INTERVAL", "soon")
    code, _, err = cli(capsys, "config")
    assert code == 2
    assert error_line(err) == "jupyter mlops: error: flush_interval from MLOPS_FLUSH_INTERVAL " \
                              "must be a float, got 'soon'"


# -- gc --------------------------------------------------------------------------------------

def test_gc_removes_only_unreferenced_blobs(mlops, capsys):
    from jupyter_mlops.store import get_store

    with mlops.start_run(name="keep") as keep:
        mlops.log_artifact(b"kept bytes", name="kept.bin")
    with mlops.start_run(name="drop") as dropped:
        mlops.log_artifact(b"bytes only this run has", name="only.bin")
    store = get_store()
    kept = store.artifacts.path(keep.artifacts["kept.bin"].digest)
    only = store.artifacts.path(dropped.artifacts["only.bin"].digest)
    assert Path(kept).is_file() and Path(only).is_file()

    code, out, _ = cli(capsys, "gc", "--dry-run", "--grace", "0")
    assert (code, out) == (0, "would remove 0 unreferenced blob(s), 0 bytes; 2 blob(s) in use "
                              "or younger than the grace period\n")
    assert cli(capsys, "runs", "delete", dropped.id)[0] == 0  # archived still references it
    assert "would remove 0" in cli(capsys, "gc", "--dry-run", "--grace", "0")[1]
    assert cli(capsys, "runs", "delete", dropped.id, "--purge")[0] == 0

    code, out, _ = cli(capsys, "gc", "--dry-run")  # default grace: an hour
    assert code == 0 and out.startswith("would remove 0 unreferenced blob(s)")
    code, out, _ = cli(capsys, "gc", "--dry-run", "--grace", "0")
    assert code == 0 and out.startswith("would remove 1 unreferenced blob(s), 23 bytes;")
    assert Path(only).is_file()
    code, out, _ = cli(capsys, "gc", "--grace", "0")
    assert code == 0 and out.startswith("removed 1 unreferenced blob(s), 23 bytes; 1 blob(s)")
    assert not Path(only).exists() and Path(kept).is_file()
    assert mlops.get_run(keep.id).load_artifact("kept.bin") == b"kept bytes"
    assert cli(capsys, "gc", "--grace", "0")[1].startswith("removed 0")


def test_gc_refuses_negative_grace(project, capsys):
    code, out, err = cli(capsys, "gc", "--grace", "-1")
    assert (code, out) == (2, "")
    assert error_line(err) == "jupyter mlops: error: --grace must not be negative"


# -- exit codes and errors -------------------------------------------------------------------

def test_store_failure_exits_1_with_one_redacted_line(project, capsys, monkeypatch):
    monkeypatch.setenv("MLOPS_STORE_URI", DEAD_PG)
    for args in (("runs", "list"), ("experiments", "list"), ("store", "info"), ("gc",)):
        code, out, err = cli(capsys, *args)
        assert code == 1 and out == "", args
        assert len(err.splitlines()) == 1, err
        assert err.startswith("jupyter mlops: cannot open the store at "
                              "postgresql://postgres:***@127.0.0.1:1/x")
        assert "s3cr3t" not in err


@pytest.mark.parametrize(("args", "message"), [
    (("runs", "list", "--filter", "metrics.acc >"), "jupyter mlops: error: expected a value"),
    (("runs", "list", "--filter", "drop table runs"), "jupyter mlops: error: unknown field 'drop'"),
    (("runs", "list", "--order-by", "bogus"), "jupyter mlops: error: unknown field 'bogus'"),
    (("runs", "list", "-e", "nosuch"), "jupyter mlops: error: no experiment named 'nosuch'"),
    (("runs", "show", "nothex"), "jupyter mlops: error: 'nothex' is not a run id"),
    (("runs", "list", "--limit", "many"), "argument --limit: invalid int value: 'many'"),
    (("runs", "list", "--format", "xml"), "argument --format: invalid choice: 'xml'"),
    (("runs", "frobnicate"), "invalid choice: 'frobnicate'"),
    (("nosuchgroup",), "invalid choice: 'nosuchgroup'"),
    (("runs",), "the following arguments are required: COMMAND"),
    (("experiments", "create"), "the following arguments are required: name"),
])
def test_bad_usage_exits_2(mlops, capsys, args, message):
    from jupyter_mlops.store.info import summary

    make_runs(mlops)
    before = summary()
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert message in error_line(err)
    assert "Traceback" not in err
    assert summary() == before


def test_help_exits_0(project, capsys):
    code, out, err = cli(capsys, "--help")
    assert code == 0 and err == ""
    for group in ("runs", "experiments", "store", "config", "gc", "demo"):
        assert group in out
    code, out, _ = cli(capsys, "runs", "list", "--help")
    assert code == 0 and "--filter" in out and "--format" in out


def test_injection_in_cli_arguments_stays_data(mlops, capsys):
    evil = "'; DROP TABLE runs; --"
    code, out, _ = cli(capsys, "experiments", "create", evil)
    assert (code, out) == (0, f"created experiment {evil!r}\n")
    with mlops.start_run(name=evil, experiment=evil):
        pass
    code, out, _ = cli(capsys, "runs", "list", "-e", evil, "--format", "json",
                       "--filter", "name = '''; DROP TABLE runs; --'")
    assert code == 0 and json.loads(out)["name"] == evil
    assert cli(capsys, "runs", "list", "--filter", f"name = '{evil}'")[0] == 2
    code, out, _ = cli(capsys, "experiments", "delete", evil, "--purge")
    assert code == 0 and len(mlops.search_runs()) == 0


# -- the real command ------------------------------------------------------------------------

def test_real_command(mlops, project):
    """`python -m jupyter_mlops.cli`, `jupyter-mlops` and `jupyter mlops` in fresh processes
    (they run the installed copy of the package)."""
    ids = make_runs(mlops)
    env = {"MLOPS_PROJECT_ROOT": str(project)}
    proc = command("runs", "list", "--format", "json", "--filter", "params.lr = 0.2", cwd=project,
                   env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout)["run_id"] == ids["rf-2"]

    bindir = Path(sys.executable).parent
    script = bindir / "jupyter-mlops"
    assert script.is_file(), "pip install . puts the jupyter-mlops script next to python"
    proc = subprocess.run([str(script), "store", "info"], cwd=project, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 0 and "3 run(s) (3 finished)" in proc.stdout

    jupyter = shutil.which("jupyter", path=str(bindir))
    assert jupyter is not None
    path_env = {**env, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([jupyter, "mlops", "experiments", "list", "--format", "json"],
                          cwd=project, capture_output=True, text=True,
                          env={**os.environ, **path_env}, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert {json.loads(x)["name"] for x in proc.stdout.splitlines()} == {"cli", "other"}

    proc = command("runs", "list", cwd=project, env={**env, "MLOPS_STORE_URI": DEAD_PG})
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "s3cr3t" not in proc.stderr
    proc = command("runs", "list", "--filter", "metrics.acc >", cwd=project, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert error_line(proc.stderr).startswith("jupyter mlops: error: expected a value")
    proc = command("bogus", cwd=project, env=env)
    assert proc.returncode == 2 and "invalid choice: 'bogus'" in proc.stderr
