"""`resolve(executor)`: the one reading of an `executor=` argument for every entry point."""

from __future__ import annotations

import re
from typing import Any

from ..errors import MLOpsError, MLOpsUsageError

LOCAL = "local"
# a port is required: Dask's tcp and tls connectors have no default one
ADDRESS = re.compile(r"(dask|tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}\Z")


class ExecutorError(MLOpsError):
    """The cluster cannot take the work: its scheduler is unreachable, it has no workers, or
    a worker cannot reach the store. Raised before any work is submitted."""


class Executor:
    """Local execution: `local` is True and nothing is submitted anywhere."""

    local = True
    name = LOCAL

    def __repr__(self) -> str:
        return f"<Executor {self.name}>"


def resolve(executor: Any = None) -> Executor:
    """The executor `executor` names: "local", "dask://host:port" (also tcp:// and tls://), a
    `distributed.Client`, or an Executor; None reads the `executor` setting (MLOPS_EXECUTOR)."""
    if executor is None:
        from .. import config

        executor = config.load().executor
    if isinstance(executor, Executor):
        return executor
    if isinstance(executor, str):
        text = executor.strip()
        if text == LOCAL:
            return Executor()
        if ADDRESS.match(text):
            from .dask import connect

            return connect(text)
        raise MLOpsUsageError(f"executor is 'local' or a Dask scheduler's address such as "
                              f"'dask://host:8786', got {executor!r}")
    kind = type(executor)
    if kind.__name__ == "Client" and kind.__module__.startswith("distributed"):
        from .dask import DaskExecutor

        return DaskExecutor(executor)
    raise MLOpsUsageError(f"executor is 'local', a Dask scheduler's address or a "
                          f"distributed.Client, not a {kind.__name__}")
