"""Experiments, runs (search, one run, metric histories, charts, artifacts) and comparisons."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from .base import MLOpsHandler, reads

MAX_PAGE = 1000


def _runs_page(experiments: list[str] | None, filter: str | None, order_by: list[str] | None,
               limit: int, offset: int, archived: bool) -> dict[str, Any]:
    from ...tracking.search import count_runs, search_runs

    frame = search_runs(experiments, filter=filter, order_by=order_by or None, limit=limit,
                        offset=offset, include_archived=archived)
    return {"runs": frame, "total": count_runs(experiments, filter, archived),
            "offset": offset, "limit": limit}


def _run(run_id: str) -> dict[str, Any]:
    from ...tracking.fluent import get_run

    return get_run(run_id).to_dict()


def _history(run_id: str, key: str, max_points: int) -> dict[str, Any]:
    from ...tracking.fluent import get_run

    run = get_run(run_id)
    if key not in run.metrics:
        from ...errors import NotFoundError

        raise NotFoundError(f"run {run.id[:8]} has no metric {key!r}")
    from ...tracking.downsample import downsample

    full = run.metric_history(key)  # read once; thinned here
    shown = downsample(full, max_points)
    seconds = shown["timestamp"].to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
    return {"key": key, "total": len(full), "step": shown["step"].tolist(),
            "value": [None if v != v else v for v in shown["value"].tolist()],
            "timestamp": seconds.tolist()}


def _chart(run_ids: list[str], keys: list[str] | None, max_points: int) -> Any:
    from ...charts.tracking import metric_histories
    from ...tracking.fluent import get_run

    runs = [get_run(r) for r in run_ids]
    if keys is None:
        keys = sorted({k for r in runs for k in r.metrics})
    histories = {f"{r.name} ({r.id[:8]})": {k: r.metric_history(k, max_points) for k in keys
                                            if k in r.metrics} for r in runs}
    return metric_histories(histories, keys)


def _compare(run_ids: list[str]) -> dict[str, Any]:
    from ...tracking.compare import compare_runs

    comparison = compare_runs(run_ids)
    return {**comparison.to_dict(), "table": comparison.to_frame().reset_index(names="key"),
            "figure": comparison.figure()}


def _experiments() -> Any:
    from ...tracking.manage import list_experiments

    return list_experiments()


def _artifact(run_id: str, name: str) -> tuple[bytes, str]:
    from ...tracking.fluent import get_run

    run = get_run(run_id)
    info = run._artifact(name)
    return run.store.artifacts.get_bytes(info.digest), info.media_type


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names or None


class ExperimentsHandler(MLOpsHandler):
    DOC = {"get": "Experiments with their number of runs"}

    @reads
    async def get(self) -> None:
        self.reply({"experiments": await self.call(_experiments)})


class RunsHandler(MLOpsHandler):
    DOC = {"get": "Search runs: experiment, filter (the expression language), order_by, "
                  "limit, offset, archived; returns a page and the total"}

    @reads
    async def get(self) -> None:
        experiments = self.get_query_arguments("experiment") or None
        order_by = self.get_query_arguments("order_by") or None
        page = await self.call(_runs_page, experiments, self.arg("filter") or None, order_by,
                               self.int_arg("limit", 100, 0, MAX_PAGE),
                               self.int_arg("offset", 0), self.arg("archived") == "true")
        self.reply(page)


class RunHandler(MLOpsHandler):
    DOC = {"get": "One run: info, params, metrics, tags, inputs, outputs, artifacts"}

    @reads
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(_run, run_id))


class MetricHandler(MLOpsHandler):
    DOC = {"get": "A metric's history as columns (step, value, timestamp), downsampled on the "
                  "server to at most max_points (default 2000), keeping extremes"}

    @reads
    async def get(self, run_id: str, key: str) -> None:
        max_points = self.int_arg("max_points", 2000, 4, 1_000_000)
        self.reply(await self.call(_history, run_id, key, max_points))


class RunChartHandler(MLOpsHandler):
    DOC = {"get": "Metric histories of one or more runs (runs=ID,ID; keys=K,K) as a plotly "
                  "figure, the one the notebook shows"}

    @reads
    async def get(self, run_id: str | None = None) -> None:
        runs = [run_id] if run_id else _names(self.arg("runs"))
        if not runs:
            raise MLOpsUsageError("give runs=ID,ID")
        figure = await self.call(_chart, runs, _names(self.arg("keys")),
                                 self.int_arg("max_points", 2000, 4, 1_000_000))
        self.reply(figure)


class CompareHandler(MLOpsHandler):
    DOC = {"get": "Runs side by side (runs=ID,ID): params, latest metrics, a plotly figure"}

    @reads
    async def get(self) -> None:
        runs = _names(self.arg("runs"))
        if not runs or len(runs) < 2:
            raise MLOpsUsageError("give at least two runs: runs=ID,ID")
        self.reply(await self.call(_compare, runs))


class ArtifactHandler(MLOpsHandler):
    DOC = {"get": "An artifact's bytes, by its name in the run, with its content type"}

    @reads
    async def get(self, run_id: str, name: str) -> None:
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or ".." in parts or not all(parts):
            raise MLOpsUsageError(f"artifact name {name!r} must be a relative path inside the run")
        data, media_type = await self.call(_artifact, run_id, name)
        self.set_header("Content-Type", media_type)
        self.set_header("Content-Disposition",
                        f"attachment; filename=\"{parts[-1].replace(chr(34), '')}\"")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(data)


ROUTES = [
    ("/experiments", ExperimentsHandler),
    ("/runs", RunsHandler),
    ("/runs/{run_id}", RunHandler),
    ("/runs/{run_id}/metrics/{key}", MetricHandler),
    ("/runs/{run_id}/chart", RunChartHandler),
    ("/runs/{run_id}/artifacts/{name:path}", ArtifactHandler),
    ("/charts/metrics", RunChartHandler),
    ("/compare", CompareHandler),
]
