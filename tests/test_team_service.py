"""The long-running processes of a team (`scheduler`, `serve`, `monitor`) as real processes
logged in as a user of the service role: each writes what it must (schedules, pipeline runs,
monitoring samples and batches, drift references) and nothing a person's work needs (runs,
alias moves); a scheduler whose pipelines track runs gets the contributor's rights too, with
`team add --also contributor`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from test_pipelines import notebook
from test_serving import post, serving

from jupyter_mlops.errors import AccessError

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
TRACKED = "import jupyter_mlops as mlops\nwith mlops.start_run(name='nightly'):\n" \
          "    mlops.log_metric('rows', rows)"


def mlops_cli(team, user: str, *args: str) -> subprocess.CompletedProcess:
    """`jupyter mlops ARGS` in a process of its own, logged in to the store as `user`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_STORE_URI": team.uri_of(user)}
    return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def wait_for_run(team, pipeline: str, count: int) -> tuple:
    """The newest of `count` runs of `pipeline` once it has ended: (status, started_by, id)."""
    deadline = time.monotonic() + 120
    with psycopg.connect(team.uri, autocommit=True) as conn:
        while True:
            rows = conn.execute("SELECT status, started_by, id FROM pipeline_runs WHERE "
                                "pipeline = %s ORDER BY started_at DESC", (pipeline,)).fetchall()
            if len(rows) == count and rows[0][0] not in ("queued", "running"):
                return rows[0]
            assert time.monotonic() < deadline, f"pipeline {pipeline} did not end: {rows}"
            time.sleep(0.3)


def test_the_scheduler_as_the_service_role_fires_a_due_schedule(team, mlops, project):
    from jupyter_mlops.pipelines import scheduler
    from jupyter_mlops.team import setup

    notebook(project / "nightly.ipynb", "rows = 3", TRACKED)
    mlops.export_pipeline("nightly", notebooks=["nightly.ipynb"], schedule="* * * * *")
    service = team.users["service"]
    with team.acting_as(service):  # the scheduler learned the schedule an hour ago: due now
        scheduler.tick(now=time.time() - 3600, start=lambda name: None)
    done = mlops_cli(team, service, "scheduler", "--once")
    assert done.returncode == 0 and "started nightly" in done.stdout, done.stderr
    # the service role records the pipeline run; the notebook's run is a contributor's right
    status, started_by, run_id = wait_for_run(team, "nightly", 1)
    assert (status, started_by) == ("failed", service)
    step = mlops.get_pipeline_run(run_id).latest["nightly"]
    assert f"refused this to {service} (role service)" in step.error
    assert "needs contributor" in step.error

    setup.add(service, "service", also="contributor")  # what a deployment does
    assert sorted(setup.members().query("user == @service").role) == ["contributor", "service"]
    with psycopg.connect(team.uri, autocommit=True) as conn:
        conn.execute("UPDATE schedules SET next_fire = 0")
    done = mlops_cli(team, service, "scheduler", "--once")
    assert done.returncode == 0 and "started nightly" in done.stdout, done.stderr
    status, started_by, run_id = wait_for_run(team, "nightly", 2)
    assert (status, started_by) == ("finished", service)
    tracked = mlops.get_pipeline_run(run_id).latest["nightly"].runs
    assert [mlops.get_run(r).to_dict()["user"] for r in tracked] == [service]
    with psycopg.connect(team.uri) as conn:
        assert conn.execute("SELECT updated_by FROM schedules").fetchone()[0] == service


def test_serve_and_monitor_as_the_service_role_write_samples_batches_and_references(
        team, mlops):
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    frame = load_wine(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    with team.acting_as(team.users["contributor"]), mlops.start_run(name="training"):
        mlops.version_dataset(frame, "wine", role="train")
        mlops.register_model(LogisticRegression(max_iter=5000).fit(X, y), "wine-clf",
                             alias="live")
    with psycopg.connect(team.uri, autocommit=True) as conn:  # as for a model registered
        conn.execute("DELETE FROM drift_references")  # before drift existed: made on first use
    service = team.users["service"]
    with serving("wine-clf@live", MLOPS_STORE_URI=team.uri_of(service)) as url:
        status, body = post(url, {"dataframe_split": {
            "columns": list(X.columns), "data": X.head(40).to_numpy().tolist()}})
        assert status == 200 and len(body["predictions"]) == 40
    with psycopg.connect(team.uri) as conn:
        assert conn.execute("SELECT sum(rows) FROM monitoring_batches").fetchone()[0] == 40
    done = mlops_cli(team, service, "monitor", "wine-clf", "--include-current")
    assert done.returncode == 0 and "wine-clf@1 batch" in done.stdout, done.stderr
    with psycopg.connect(team.uri) as conn:
        assert conn.execute("SELECT count(*) FROM drift_batches").fetchone()[0] == 1
        assert conn.execute("SELECT kind, name FROM drift_references").fetchall() == [
            ("model", "wine-clf")]
    with team.acting_as(service):  # and nothing of a person's work
        with pytest.raises(AccessError, match=r"\(role service\).*needs contributor"), \
                mlops.start_run():
            pass
        with pytest.raises(AccessError, match=r"\(role service\).*model_aliases needs "
                                              "contributor"):
            mlops.set_alias("wine-clf", "live", 1)
