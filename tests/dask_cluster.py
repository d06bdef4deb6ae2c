"""A real Dask cluster for the executor tests: `dask scheduler` and `dask worker` processes
(one thread each, each worker in a working directory of its own) started from this Python's
environment on localhost, and stopped with everything they started.

Dask is part of the test environment (the `dask` extra): under CI=true a missing Dask is a
failure, never a skip."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("Dask (the dask extra) is required under CI=true")
        pytest.skip("Dask is not installed (pip install 'jupyter-mlops[dask]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask() -> list[str]:
    return [str(Path(sys.executable).with_name("dask"))]


@dataclass
class Cluster:
    """The scheduler's address (tcp://127.0.0.1:PORT), the worker processes by name."""

    address: str
    root: Path
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "dask://" + self.address[len("tcp://"):]

    def start_worker(self, name: str, memory_limit: str | None = None,
                     env: dict[str, str] | None = None, nanny: bool = False,
                     host: str = "127.0.0.1") -> subprocess.Popen:
        """`dask worker` with one thread in its own folder `root/name`, no nanny unless asked
        (a killed worker stays dead); waits until the scheduler lists it."""
        cwd = self.root / name
        cwd.mkdir(parents=True, exist_ok=True)
        cmd = [*_dask(), "worker", self.address, "--nthreads", "1", "--name", name,
               "--host", host, "--local-directory", str(cwd / "dask-scratch"),
               "--no-dashboard", "--nanny" if nanny else "--no-nanny"]
        if memory_limit is not None:
            cmd += ["--memory-limit", memory_limit]
        with open(cwd / "worker.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.workers[name] = proc
        self.wait_for(lambda names: name in names, f"worker {name}")
        return proc

    def names(self) -> set[str]:
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return {w.get("name") for w in client.scheduler_info(n_workers=-1)["workers"].values()}

    def wait_for(self, check, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"the Dask scheduler exited: {self.log('scheduler')}")
            with contextlib.suppress(OSError, TimeoutError):
                if check(self.names()):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{what} did not join the cluster in {timeout} s")

    def log(self, name: str) -> str:
        path = self.root / name / ("scheduler.log" if name == "scheduler" else "worker.log")
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's process group: what a lost machine looks like."""
        proc = self.workers[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextlib.contextmanager
def dask_cluster(root: Path, workers: int = 2, memory_limit: str | None = None,
                 host: str = "127.0.0.1") -> Iterator[Cluster]:
    """A scheduler and `workers` workers named w1, w2, …; every process is stopped after."""
    require_dask()
    port = free_port()
    (root / "scheduler").mkdir(parents=True, exist_ok=True)
    with open(root / "scheduler" / "scheduler.log", "ab") as log:
        sched = subprocess.Popen(
            [*_dask(), "scheduler", "--host", host, "--port", str(port), "--no-dashboard"],
            cwd=root / "scheduler", stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    cluster = Cluster(f"tcp://{host}:{port}", root, sched)
    try:
        cluster.wait_for(lambda names: True, "the scheduler", timeout=60)
        for i in range(1, workers + 1):
            cluster.start_worker(f"w{i}", memory_limit=memory_limit)
        yield cluster
    finally:
        from jupyter_mlops.executors import dask as executors_dask

        for client in list(executors_dask._clients.values()):
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        executors_dask._clients.clear()
        for proc in [*cluster.workers.values(), sched]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*cluster.workers.values(), sched]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
