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
                 host: str = "127.0.0.1", listen: str | None = None) -> Iterator[Cluster]:
    """A scheduler and `workers` workers named w1, w2, …; every process is stopped after.
    The scheduler listens on `listen` (default `host`: 0.0.0.0 lets `other_host` reach it)."""
    require_dask()
    port = free_port()
    (root / "scheduler").mkdir(parents=True, exist_ok=True)
    with open(root / "scheduler" / "scheduler.log", "ab") as log:
        sched = subprocess.Popen(
            [*_dask(), "scheduler", "--host", listen or host, "--port", str(port),
             "--no-dashboard"],
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
        # the workers first: a worker whose scheduler is gone waits for it until killed
        for group in (list(cluster.workers.values()), [sched]):
            for proc in group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in group:
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)


@contextlib.contextmanager
def other_host(cluster: Cluster, name: str) -> Iterator[str]:
    """A worker on "another host": a network namespace of its own, joined to this one by a
    veth pair (10.77.0.1 here, 10.77.0.2 there). It shares the files but not the network:
    nothing listening on this host's 127.0.0.1 (PostgreSQL, Redis) answers it. Needs root and
    iproute2 (under CI=true their absence is a failure). The worker's address."""
    import shutil

    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("a network namespace (root and iproute2) is required under CI=true")
        pytest.skip("a network namespace needs root and iproute2")
    ns, here, there = f"mlops{os.getpid() % 100000}", f"vm{os.getpid() % 100000}", \
        f"vw{os.getpid() % 100000}"
    port = cluster.address.rsplit(":", 1)[1]

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", ns)
    try:
        ip("link", "add", here, "type", "veth", "peer", "name", there)
        ip("link", "set", there, "netns", ns)
        ip("addr", "add", "10.77.0.1/30", "dev", here)
        ip("link", "set", here, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", "10.77.0.2/30", "dev", there)
        ip("netns", "exec", ns, "ip", "link", "set", there, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        cwd = cluster.root / name
        cwd.mkdir(parents=True, exist_ok=True)
        with open(cwd / "worker.log", "ab") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, *_dask(), "worker", f"tcp://10.77.0.1:{port}",
                 "--nthreads", "1", "--name", name, "--host", "10.77.0.2", "--no-dashboard",
                 "--no-nanny", "--local-directory", str(cwd / "dask-scratch")],
                cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        cluster.workers[name] = proc
        cluster.wait_for(lambda names: name in names, f"worker {name} (other host)")
        yield name
    finally:
        proc = cluster.workers.pop(name, None)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        subprocess.run(["ip", "link", "delete", here], capture_output=True)
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
