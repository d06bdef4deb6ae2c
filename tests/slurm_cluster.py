"""A Dask cluster whose workers are Slurm jobs: dask-jobqueue's `SLURMCluster` on the one-node
Slurm that `scripts/slurm.sh` installs and starts on this machine (partition "debug"). The
scheduler runs in this process; each worker is a batch job that starts `dask worker` with this
Python, and with this process's PYTHONPATH, so a test run from a checkout runs its code.

Slurm is part of the test setup (scripts/test runs scripts/slurm.sh): under CI=true a Slurm
that does not answer is a failure, never a skip."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTITION = "debug"
LIVE = ("PENDING", "CONFIGURING", "RUNNING", "SUSPENDED")  # a job's states before its end


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; under CI=true it must be")
    pytest.skip(message)


def require_slurm() -> str:
    """The SLURM_CONF of the Slurm `scripts/slurm.sh` started, or a skip (a failure under
    CI=true) saying why there is none."""
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        _missing("dask-jobqueue is not installed (the test extra)")
    out = subprocess.run(["bash", str(ROOT / "scripts" / "slurm.sh"), "--print"],
                         capture_output=True, text=True, timeout=60)
    found = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    if "SLURM_CONF" not in found:
        _missing(f"{out.stderr.strip() or 'no Slurm'}: run scripts/slurm.sh as root (it installs "
                 "slurm-wlm and starts a one-node Slurm)")
    return found["SLURM_CONF"]


@dataclass
class SlurmDask:
    """The cluster, a client of it, and the Slurm jobs its workers run in."""

    cluster: object  # dask_jobqueue.SLURMCluster
    client: object  # distributed.Client
    root: Path

    def job_ids(self) -> set[str]:
        """The ids of the Slurm jobs the cluster submitted and has not closed."""
        return {job.job_id for job in self.cluster.workers.values() if job.job_id}

    def logs(self) -> str:
        """The end of every job's output (the worker's log), for a failure's message."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
                         for path in sorted((self.root / "logs").glob("*")))


def squeue(*job_ids: str, fields: str = "%i %P %T %N %j") -> list[list[str]]:
    """`squeue` for these jobs in any state (ended ones stay listed for Slurm's MinJobAge):
    one row of `fields` per job."""
    out = subprocess.run(["squeue", "--noheader", "--states=all", "--jobs", ",".join(job_ids),
                          "--format", fields], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [line.split() for line in out.stdout.splitlines()]


@contextlib.contextmanager
def slurm_cluster(root: Path, jobs: int = 1, memory: str = "1GiB") -> Iterator[SlurmDask]:
    """`jobs` Slurm jobs in the debug partition, each one Dask worker (one process, one
    thread, `memory` for Dask and for Slurm), working in `root/jobs`; yielded once every
    worker joined. After: the cluster closed, its jobs cancelled and seen ended."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    conf = require_slurm()
    prologue = []
    if os.environ.get("PYTHONPATH"):
        prologue.append(f"export PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])}")
    (root / "jobs").mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", conf)  # for sbatch, squeue and scancel
        cluster = SLURMCluster(
            queue=PARTITION, cores=1, processes=1, memory=memory, walltime="00:10:00",
            job_name="mlops-dask", python=sys.executable, job_script_prologue=prologue,
            job_extra_directives=[f"--chdir={root / 'jobs'}"], interface="lo",
            local_directory=str(root / "dask-scratch"), log_directory=str(root / "logs"),
            scheduler_options={"dashboard_address": ":0"})
        submitted: set[str] = set()
        made = SlurmDask(cluster, Client(cluster, set_as_default=False), root)
        try:
            cluster.scale(jobs=jobs)
            deadline = time.monotonic() + 120
            while len(made.client.scheduler_info(n_workers=-1)["workers"]) < jobs:
                submitted |= made.job_ids()
                rows = squeue(*submitted) if submitted else []
                ended = [row for row in rows if row[2] not in LIVE]
                assert not ended and time.monotonic() < deadline, (
                    f"{jobs} worker(s) did not join ({'a job ended' if ended else 'in 120 s'}); "
                    f"jobs: {rows or 'none submitted'}\n{made.logs()}")
                time.sleep(0.3)
            submitted |= made.job_ids()
            yield made
        finally:
            made.client.close()
            cluster.close()
            left = [row for row in (squeue(*submitted) if submitted else []) if row[2] in LIVE]
            if left:  # the cluster did not cancel them: cancel them here, and say so
                subprocess.run(["scancel", *(row[0] for row in left)], timeout=30)
                raise AssertionError(f"jobs left running after the cluster closed: {left}")
