"""A Dask cluster as an executor. The client's project settings travel with every task (the
store, the artifact location, the other `MLOPS_*` settings), and before the first task each
worker proves it reaches that store: a worker on another host needs a shared store
(PostgreSQL and object storage), never this machine's embedded one."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from .choose import Executor, ExecutorError
from .worker import in_project, probe

if TYPE_CHECKING:
    from collections.abc import Callable

    from distributed import Client, Future

CONNECT_TIMEOUT = 10  # seconds to reach a scheduler before saying it is unreachable
_clients: dict[str, Client] = {}
_lock = threading.Lock()
# settings that belong to this process, not to the work it sends out
LOCAL_ONLY = ("MLOPS_EXECUTOR", "MLOPS_NOTEBOOK")


def _client_class() -> type:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ExecutorError("a Dask executor needs the dask extra: pip install "
                            "'jupyter-mlops[dask]'") from exc
    return Client


def connect(address: str) -> DaskExecutor:
    """The executor of the scheduler at `address` (dask://, tcp:// or tls://), its client
    made once per process and address; an unreachable scheduler is one ExecutorError."""
    target = "tcp://" + address[len("dask://"):] if address.startswith("dask://") else address
    with _lock:
        client = _clients.get(target)
        if client is None or client.status not in ("running", "connecting"):
            Client = _client_class()
            try:
                client = Client(target, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ExecutorError(f"cannot reach the Dask scheduler at {address} within "
                                    f"{CONNECT_TIMEOUT} s ({type(exc).__name__}: {exc}): is "
                                    "it running, and is the address right?") from None
            _clients[target] = client
    return DaskExecutor(client, address)


def worker_env() -> dict[str, str]:
    """The settings a task runs with on a worker: this process's `MLOPS_*` variables and the
    project's resolved store, artifact location and root."""
    from .. import config
    from ..store import get_store

    settings = config.load()
    _ = get_store().artifacts  # a local artifact folder exists before workers look for it
    env = {k: v for k, v in os.environ.items() if k.startswith("MLOPS_") and k not in LOCAL_ONLY}
    env.update(MLOPS_PROJECT_ROOT=str(settings.project_root),
               MLOPS_STORE_URI=str(settings.store_uri),
               MLOPS_ARTIFACT_URI=str(settings.artifact_uri))
    return env


def _call(env: dict[str, str], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """On a worker: `fn` with the client's project settings in force."""
    with in_project(env):
        return fn(*args, **kwargs)


class DaskExecutor(Executor):
    """Tasks on a Dask cluster, through `client`."""

    local = False

    def __init__(self, client: Client, address: str | None = None):
        self.client = client
        self.name = address or str(client.scheduler.address)
        self._env: dict[str, str] | None = None

    def workers(self) -> dict[str, int]:
        """Worker address → threads, as the scheduler knows them now."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {addr: int(w.get("nthreads", 1)) for addr, w in info.items()}

    def threads(self) -> int:
        return sum(self.workers().values())

    def prepare(self) -> dict[str, str]:
        """Check the cluster can take the work: it has workers, and every worker reaches the
        store (each answers its own probe). The settings the tasks will carry."""
        env = worker_env()
        if not self.workers():
            raise ExecutorError(f"the Dask cluster at {self.name} has no workers")
        answers = self.client.run(probe, env, on_error="return")
        failed = {addr: answer for addr, answer in answers.items() if answer is not None}
        if failed:
            lines = "; ".join(f"{addr}: {why}" for addr, why in sorted(failed.items()))
            raise ExecutorError(
                f"{len(failed)} of {len(answers)} Dask worker(s) cannot reach the store "
                f"({lines}). Workers on other hosts need a shared store (PostgreSQL and "
                "object storage: docs/scale.md); nothing was submitted")
        self._env = env
        return env

    def submit(self, fn: Callable[..., Any], *args: Any, key: str | None = None,
               workers: list[str] | None = None, **kwargs: Any) -> Future:
        """Run `fn(*args, **kwargs)` as a task in the project (after `prepare`): never
        retried by Dask (retries are the caller's), each call a task of its own."""
        env = self._env if self._env is not None else self.prepare()
        options: dict[str, Any] = {"pure": False, "retries": 0}
        if key is not None:
            options["key"] = key
        if workers is not None:
            options.update(workers=workers, allow_other_workers=False)
        return self.client.submit(_call, env, fn, *args, **options, **kwargs)
