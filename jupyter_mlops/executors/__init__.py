"""Where AutoML trials, pipeline steps and large-data statistics run: `"local"` (this process
and the processes it starts, today's behaviour) or a Dask cluster (`"dask://host:8786"`, a
`distributed.Client`, or the `executor` setting, `MLOPS_EXECUTOR`). The same code runs on a
laptop's processes, on Kubernetes (dask-kubernetes) or on an HPC queue (dask-jobqueue)."""

from .choose import LOCAL, Executor, ExecutorError, resolve

__all__ = ["LOCAL", "Executor", "ExecutorError", "resolve"]
