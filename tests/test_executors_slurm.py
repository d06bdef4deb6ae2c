"""The Dask executor on Slurm (issue 24): a `SLURMCluster` (dask-jobqueue) whose worker is a
batch job of the one-node Slurm that scripts/slurm.sh runs on this machine. The executor
resolves from the cluster's client, proves the worker reaches the project's store, and work
submitted through it runs inside the Slurm job and writes to that store."""

from __future__ import annotations

import os
import subprocess

import pytest
from slurm_cluster import PARTITION, slurm_cluster, squeue


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """One Slurm job running one Dask worker (one thread), shared by the module's tests;
    cancelled after them."""
    with slurm_cluster(tmp_path_factory.mktemp("slurm"), jobs=1) as made:
        yield made


@pytest.mark.slow
def test_work_submitted_through_the_executor_runs_in_a_slurm_job(slurm, project, mlops):
    from jupyter_mlops.executors import resolve

    executor = resolve(slurm.client)
    assert not executor.local
    assert list(executor.workers().values()) == [1]
    env = executor.prepare()  # the worker, in its job, reaches the project's embedded store
    assert env["MLOPS_PROJECT_ROOT"] == str(project)
    assert env["MLOPS_STORE_URI"].startswith("sqlite:")

    def tracked_in_job(name: str) -> dict[str, str]:
        """On the worker: a tracked run that records the Slurm job it runs in. (A local
        function travels by value: the worker cannot import this test module.)"""
        import jupyter_mlops as mlops

        job = {"job_id": os.environ["SLURM_JOB_ID"],
               "partition": os.environ["SLURM_JOB_PARTITION"]}
        with mlops.start_run(name=name, params={"slurm_job_id": job["job_id"]}) as run:
            mlops.log_metric("pid", os.getpid())
        return {**job, "run": run.id, "pid": str(os.getpid())}

    done = executor.submit(tracked_in_job, "in-slurm").result(timeout=120)

    [job_id] = slurm.job_ids()
    assert done["job_id"] == job_id and done["partition"] == PARTITION
    [row] = squeue(job_id)  # Slurm's own view: the job is running in the debug partition
    assert row[:3] == [job_id, PARTITION, "RUNNING"], row
    shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                           text=True, timeout=30).stdout
    assert "JobName=mlops-dask" in shown and f"WorkDir={slurm.root / 'jobs'}" in shown, shown
    run = mlops.get_run(done["run"])  # written by the worker into this project's store
    assert run.name == "in-slurm" and run.status == "finished"
    assert run.params["slurm_job_id"] == job_id
    assert run.metrics["pid"] == float(done["pid"])


@pytest.mark.slow
def test_an_automl_search_runs_its_trials_in_the_slurm_job(slurm, project, mlops):
    from sklearn.datasets import load_wine

    from jupyter_mlops.executors import resolve

    X, y = load_wine(return_X_y=True, as_frame=True)
    result = mlops.automl(X, y, n_trials=3, time_budget=None, cv=3, estimators=["linear"],
                          executor=slurm.client, progress=False)
    runs = mlops.search_runs(filter=f"tags.`mlops.automl.study` = '{result.study}'")
    trials = runs[runs.parent_run_id == result.run_id]
    [worker] = resolve(slurm.client).workers()  # the Dask worker the Slurm job runs
    assert len(trials) == 3 and set(trials["tags.mlops.worker"]) == {worker}
    assert result.best_score > 0.9
