"""Pipelines on a real Dask cluster (a `dask scheduler` and two one-thread `dask worker`
processes on localhost): a DAG whose parallel steps run on different workers with the same
record as the local runner, a worker killed mid-step (its attempt killed, its processes gone,
the retry elsewhere), and the executor errors that write nothing."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli
from dask_cluster import dask_cluster
from test_pipelines import WORK, notebook

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.executors import ExecutorError

pytestmark = pytest.mark.slow

# attempt 1 (the first to write its pid) runs until its worker is killed; a retry finishes
LONG = """import os, pathlib, time
folder = pathlib.Path(pids)
first = not any(folder.iterdir())
(folder / os.environ["MLOPS_STEP_ID"]).write_text(str(os.getpid()))
if first:
    time.sleep(300)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("cluster"), workers=2) as c:
        yield c


def worker_names(cluster) -> dict[str, str]:
    """Worker address → name (w1, w2)."""
    from distributed import Client

    with Client(cluster.address, timeout=10) as client:
        return {addr: w["name"] for addr, w in client.scheduler_info(n_workers=-1)["workers"].items()}


def survivors(procs: list, timeout: float) -> list:
    """Those of `procs` still running after `timeout` s (a zombie, dead but not reaped by
    whoever adopted it, is not running)."""
    import psutil

    def running(p) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    while any(running(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in procs if running(p)]


def test_a_dag_runs_its_parallel_steps_on_different_workers(cluster, project, mlops,
                                                             monkeypatch):
    nb = project / "notebooks"
    for name in ("prepare", "train_a", "train_b", "report"):
        notebook(nb / f"{name}.ipynb", "seconds = 0\nfail_marker = ''\nrows = 1",
                 WORK.replace("NAME", repr(name)))
    mlops.export_pipeline("fan", steps=[
        {"name": "prepare", "notebook": "notebooks/prepare.ipynb"},
        {"name": "train_a", "notebook": "notebooks/train_a.ipynb", "depends_on": ["prepare"],
         "params": {"seconds": 2}},
        {"name": "train_b", "notebook": "notebooks/train_b.ipynb", "depends_on": ["prepare"],
         "params": {"seconds": 2}},
        {"name": "report", "notebook": "notebooks/report.ipynb",
         "depends_on": ["train_a", "train_b"]},
    ])
    # the scheduler's way (and the CLI's default): the executor setting
    monkeypatch.setenv("MLOPS_EXECUTOR", cluster.url)
    with pytest.raises(MLOpsUsageError, match="workers=2 bounds the local runner's parallel "
                                              "steps; on the Dask cluster"):
        mlops.run_pipeline("fan", workers=2, progress=False)
    assert mlops.list_pipeline_runs("fan").empty
    result = mlops.run_pipeline("fan", params={"rows": 7}, progress=False)
    assert result.status == "finished", result.summary()
    latest = result.latest
    assert set(latest) == {"prepare", "train_a", "train_b", "report"}
    assert all(s.status == "finished" and s.attempt == 1 for s in latest.values())
    names = worker_names(cluster)
    assert {s.worker for s in latest.values()} <= set(names)
    assert latest["train_a"].worker != latest["train_b"].worker
    assert result.to_frame()["worker"].tolist() == [s.worker for s in result.steps]
    assert f"train_a: finished on {latest['train_a'].worker}" in result.summary()
    # the record of the local runner: parameters, executed notebooks, tracked runs
    for name, step in latest.items():
        assert step.params["rows"] == 7
        executed = step.notebook()
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
        assert len(step.runs) == 1
        tracked = mlops.get_run(step.runs[0])
        assert tracked.name == name and tracked.params["rows"] == 7
        assert tracked.tags["mlops.pipeline_run"] == result.id
        assert tracked.tags["mlops.step_run"] == step.id
        assert tracked.notebook(executed=True) == executed
    assert {"step", "executed_notebook", "run"} <= {
        n.kind for n in mlops.lineage(result.id).nodes.values()}


def test_executor_errors_are_one_clear_error_and_write_nothing(project, mlops, monkeypatch,
                                                               capsys):
    from jupyter_mlops.executors import dask as executors_dask
    from jupyter_mlops.pipelines.runner import start_pipeline

    notebook(project / "a.ipynb", "x = 1", "y = x")
    mlops.export_pipeline("one", notebooks=["a.ipynb"])
    monkeypatch.setattr(executors_dask, "CONNECT_TIMEOUT", 1)
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at "
                                            r"dask://127\.0\.0\.1:1 within 1 s"):
        mlops.run_pipeline("one", executor="dask://127.0.0.1:1", progress=False)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        start_pipeline("one", executor="dask://127.0.0.1:1")
    for bad in ("spark://10.0.0.5:7077", "dask://", "dask://127.0.0.1", 8786):
        with pytest.raises(MLOpsUsageError, match="executor is 'local'"):
            mlops.run_pipeline("one", executor=bad, progress=False)
    code, _, err = cli(capsys, "pipeline", "run", "one", "--executor", "daks://host:8786")
    assert code == 2 and "executor is 'local' or a Dask scheduler's address such as " \
                         "'dask://host:8786', got 'daks://host:8786'" in err
    monkeypatch.setenv("MLOPS_EXECUTOR", "dask://127.0.0.1:1")
    code, _, err = cli(capsys, "pipeline", "run", "one", "--quiet")
    assert code == 1 and "cannot reach the Dask scheduler" in err
    assert mlops.list_pipeline_runs().empty


@contextlib.contextmanager
def worker_without(cluster, name: str, hidden: Path):
    """A worker of `cluster` that sees an empty folder at `hidden` (a tmpfs mounted over it
    in a mount namespace of its own): a host without the project. Needs root and unshare
    (under CI=true their absence is a failure)."""
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("a mount namespace (root and unshare) is required under CI=true")
        pytest.skip("a mount namespace needs root and unshare")
    cwd = cluster.root / name
    cwd.mkdir(parents=True, exist_ok=True)
    with open(cwd / "worker.log", "ab") as log:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs none "$0" && exec "$@"', str(hidden),
             str(Path(sys.executable).with_name("dask")), "worker", cluster.address,
             "--nthreads", "1", "--name", name, "--host", "127.0.0.1", "--no-dashboard",
             "--no-nanny", "--local-directory", str(cwd / "dask-scratch")],
            cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cluster.workers[name] = proc
    try:
        cluster.wait_for(lambda names: name in names, f"worker {name}")
        yield
    finally:
        cluster.kill_worker(name)
        del cluster.workers[name]
        cluster.wait_for(lambda names: name not in names, f"worker {name} gone")


def test_a_worker_without_the_project_is_refused_before_anything_is_written(
        cluster, project, mlops, pg_uri, tmp_path, monkeypatch):
    """The store is shared (PostgreSQL, artifacts outside the project) so every worker
    reaches it, but one worker does not see the project's files."""
    monkeypatch.setenv("MLOPS_ARTIFACT_URI", str(tmp_path / "artifacts"))
    notebook(project / "a.ipynb", "x = 1", "y = x")
    mlops.export_pipeline("one", notebooks=["a.ipynb"])
    with worker_without(cluster, "w3", project), pytest.raises(ExecutorError) as caught:
        mlops.run_pipeline("one", executor=cluster.url, progress=False)
    address = re.search(r"\((tcp://127\.0\.0\.1:\d+): no ", str(caught.value))[1]
    assert str(caught.value) == (
        f"1 of 3 Dask worker(s) do not see the project of pipeline 'one' ({address}: no "
        f"{project / 'pipelines' / 'one.yaml'}, {project / 'a.ipynb'}); each worker needs the "
        f"project at {project} (a shared file system, or the same checkout); nothing was "
        "submitted")
    assert mlops.list_pipeline_runs().empty


def test_a_step_timeout_is_kept_on_a_worker(cluster, project, mlops):
    notebook(project / "slow.ipynb", "seconds = 300\nfail_marker = ''\nrows = 1",
             WORK.replace("NAME", "'slow'"))
    mlops.export_pipeline("slow", steps=[{"notebook": "slow.ipynb", "timeout": "3s"}])
    result = mlops.run_pipeline("slow", executor=cluster.url, progress=False)
    step = result.latest["slow"]
    assert result.status == "failed" and step.status == "timeout" and step.worker
    assert "timed out after 3s" in step.error


def test_a_worker_lost_mid_step_kills_its_attempt_and_the_retry_runs_elsewhere(
        cluster, project, mlops):
    """Dask re-runs a task whose worker died (allowed-failures): the re-run finds the attempt
    claimed, closes it as killed and runs nothing; the runner's retry runs the step."""
    run = lose_a_worker_mid_step(cluster, project, mlops, retries=1)
    assert run.status == "finished"
    killed, retry = run.steps
    assert killed.error == "the worker running it was lost"
    assert retry.worker not in (None, killed.worker)


def test_a_killed_worker_seen_by_the_client_kills_the_attempt_and_resume_runs_it(
        tmp_path, project, mlops, monkeypatch):
    """A scheduler that re-runs nothing (allowed-failures 0) fails the task with KilledWorker:
    the runner closes the attempt as killed itself; without retries the run fails, and
    `resume` on the cluster runs the step again."""
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "0")
    with dask_cluster(tmp_path / "cluster", workers=2) as c:
        failed = lose_a_worker_mid_step(c, project, mlops, retries=0)
        assert failed.status == "failed" and failed.error == "step long killed"
        assert failed.latest["long"].error == "the worker running it was lost (KilledWorker)"
        run = mlops.resume_pipeline(failed.id, executor=c.url, progress=False)
    assert run.id == failed.id and run.status == "finished"
    killed, retry = run.steps
    assert retry.worker not in (None, killed.worker)


def lose_a_worker_mid_step(cluster, project, mlops, retries: int):
    """Run a one-step pipeline through the CLI in a process of its own, kill the worker
    running the step once its kernel is up; checks that the step process and its kernel died
    with the worker, that the attempt was killed and, with `retries`, that the retry
    finished. The pipeline run."""
    import psutil

    pids = project / "pids"
    pids.mkdir()
    notebook(project / "long.ipynb", "pids = ''", LONG)
    mlops.export_pipeline("flaky", steps=[{"name": "long", "notebook": "long.ipynb",
                                           "retries": retries, "retry_delay": "0.5s"}],
                          params={"pids": str(pids)})
    runner = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "pipeline", "run",
                               "flaky", "--executor", cluster.url, "--quiet"],
                              env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(pids.iterdir()):
            assert time.monotonic() < deadline and runner.poll() is None, runner.stdout.read()
            time.sleep(0.2)
        first = next(pids.iterdir())
        step_id, kernel = first.name, psutil.Process(int(first.read_text()))
        step_process = kernel.parent()
        assert "run-step" in step_process.cmdline() and kernel.environ()["MLOPS_STEP_ID"] == step_id
        doomed = [kernel, step_process, *step_process.children(recursive=True)]
        run_id = mlops.list_pipeline_runs("flaky")["run_id"][0]
        attempt = next(s for s in mlops.get_pipeline_run(run_id).steps if s.id == step_id)
        assert attempt.status == "running"
        cluster.kill_worker(worker_names(cluster)[attempt.worker])
        assert runner.wait(timeout=120) == (0 if retries else 1), runner.stdout.read()
    finally:
        if runner.poll() is None:
            runner.kill()
    alive = survivors(doomed, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
    run = mlops.get_pipeline_run(run_id)
    assert [(s.step, s.attempt, s.status) for s in run.steps] == [
        ("long", 1, "killed"), ("long", 2, "finished")][:retries + 1]
    assert run.steps[0].id == step_id and run.steps[0].worker == attempt.worker
    return run
