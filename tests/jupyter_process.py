"""A real Jupyter server process for the tests that talk to one over HTTP (schemathesis, the
browser tests), on a project whose store the test process shares."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@contextmanager
def shared_project(root: Path) -> Iterator[Path]:
    """This process uses the store of the project at `root` (no MLOPS_* setting of the
    caller's left), as the server started on it will; everything is restored afterwards."""
    from jupyter_mlops.store import reset
    from jupyter_mlops.tracking import writer

    saved, cwd = dict(os.environ), os.getcwd()
    for key in [k for k in os.environ if k.startswith("MLOPS_") or k == "JPY_SESSION_NAME"]:
        del os.environ[key]
    os.environ["MLOPS_PROJECT_ROOT"] = str(root)
    os.chdir(root)
    reset()
    try:
        yield root
    finally:
        writer.forget_all()
        reset()
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Server:
    base: str  # the server's URL, ending in its base_url ("http://127.0.0.1:PORT/base/")
    token: str
    log: Path  # what the server printed

    def errors(self) -> list[str]:
        """The lines of its log that report an exception."""
        return [line for line in self.log.read_text().splitlines()
                if "Traceback" in line or "Uncaught exception" in line]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_server(module: str, root: Path, scratch: Path, *args: str,
                   env: dict[str, str] | None = None, base_url: str = "/",
                   timeout: float = 90) -> Iterator[Server]:
    """`python -m MODULE` (jupyter_server or jupyterlab) serving `root` on a free loopback
    port with a token, its runtime files and log under `scratch`; yielded once its
    mlops/api answers, terminated afterwards."""
    port, token = _free_port(), uuid.uuid4().hex
    (scratch / "runtime").mkdir(parents=True, exist_ok=True)
    log_path = scratch / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
         f"--ServerApp.base_url={base_url}", *args],
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), **(env or {})},
        stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = Server(f"http://127.0.0.1:{port}{base_url}", token, log_path)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{server.base}mlops/api/changes?token={token}",
                                            timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError(f"{module} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
