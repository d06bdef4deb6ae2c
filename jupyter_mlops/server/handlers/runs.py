"""Experiments, runs (search, one run, metric histories, charts, artifacts), comparisons and
two runs' deep diff."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from ..operations import INT64, Operation, Param, path
from .base import MLOpsHandler, reads

MAX_PAGE = 1000
MAX_POINTS = 1_000_000
RUN_ID = path("run_id", "a run id, or a prefix of it of at least 8 hex characters that only "
                        "one run has")
MAX_POINTS_PARAM = Param("max_points", "at most this many points per history, thinned on the "
                                       "server keeping each stretch's extremes", int,
                         default=2000, low=4, high=MAX_POINTS)
KEYS = Param("keys", "the metrics to chart (default: every metric of the runs)", many="csv")


def _runs_page(experiments: list[str] | None, filter: str | None, order_by: list[str] | None,
               limit: int, offset: int, archived: bool, columns: list[str] | None,
               parent: str | None, flat: bool) -> dict[str, Any]:
    from ...tracking.columns import BASE
    from ...tracking.search import count_runs, search_runs

    frame = search_runs(experiments, filter=filter, order_by=order_by or None, limit=limit,
                        offset=offset, include_archived=archived, columns=columns,
                        nested=not flat, parent=parent)
    fixed = {*BASE, "child_count", "matched_children"}
    return {"runs": frame, "total": count_runs(experiments, filter, archived, nested=not flat,
                                               parent=parent),
            "offset": offset, "limit": limit,
            "columns": [c for c in frame.columns if c not in fixed]}


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


def _diff(run_id: str, other_id: str) -> dict[str, Any]:
    from ...repro.diff import diff_runs

    return diff_runs(run_id, other_id).to_dict()


def _fields(experiments: list[str] | None) -> dict[str, list[str]]:
    from ...tracking.columns import run_fields

    return run_fields(experiments)


def _runs_chart(kind: str, fields: list[str], experiments: list[str] | None,
                filter: str | None, run_ids: list[str] | None, color: str | None,
                limit: int) -> Any:
    from ...tracking.charts import runs_chart

    return runs_chart(kind, fields, experiments, filter, run_ids, color, limit)


def _automl(run_id: str) -> dict[str, Any]:
    from ...automl.recorded import recorded_search

    search = recorded_search(run_id)
    return {**search.to_dict(), "history": search.figure("history"),
            "importances": None if search.best is None else search.figure("importances")}


def _experiments() -> Any:
    from ...tracking.manage import list_experiments

    return list_experiments()


def _artifact(run_id: str, name: str) -> tuple[bytes, str]:
    from ...tracking.fluent import get_run

    run = get_run(run_id)
    info = run._artifact(name)
    return run.store.artifacts.get_bytes(info.digest), info.media_type


class ExperimentsHandler(MLOpsHandler):
    GET = Operation("Experiments with their number of runs and last start", "Experiments")

    @reads
    async def get(self) -> None:
        self.reply({"experiments": await self.call(_experiments)})


EXPERIMENTS = Param("experiment", "only runs of these experiments (repeat it for several)",
                    many="repeat")
FILTER = Param("filter", "the expression language over metrics.*, params.*, tags.*, status, "
                         "name, …: `metrics.acc > 0.9 and params.model = 'rf'`")


class RunsHandler(MLOpsHandler):
    GET = Operation(
        "Search runs: a page of them and the total", "RunsPage",
        description="Rows are top-level runs (`parent`: one run's children; `flat`: every "
                    "run), each with its base fields, `child_count`, with a filter "
                    "`matched_children` (a run is a row when it or a run below it matches), "
                    "then the `columns` asked for, or by default the 3 metrics and 2 params "
                    "most runs of the page have. `flat=true` without `columns`: every "
                    "`params.<key>`, `metrics.<key>` (latest value) and `tags.<key>` of the "
                    "page, and `notebook`.",
        params=(
            EXPERIMENTS, FILTER,
            Param("order_by", "`key [ASC|DESC]`, repeated for ties: a field of the filter "
                              "language (a key with odd characters in backticks: "
                              "metrics.`val/loss`) or `duration` (runs without an end time "
                              "last); newest first by default", many="repeat"),
            Param("limit", "the page size", int, default=100, low=0, high=MAX_PAGE),
            Param("offset", "rows skipped before the page", int, default=0, high=INT64),
            Param("archived", "include archived runs and experiments", bool, default=False),
            Param("columns", "the fields each row carries besides its base fields: "
                             "params.<key>, metrics.<key>, tags.<key>, notebook, git_commit, "
                             "host, duration (null where a run has none); a key no run of the "
                             "experiments has is refused", many="csv"),
            Param("parent", "page this run's children instead (an id, or a prefix of 8+ "
                            "hex characters)"),
            Param("flat", "every matching run, nested ones too, without grouping", bool,
                  default=False),
        ), errors=(400, 404))

    @reads
    async def get(self) -> None:
        q = self.query()
        page = await self.call(_runs_page, q["experiment"], q["filter"], q["order_by"],
                               q["limit"], q["offset"], q["archived"], q["columns"],
                               q["parent"], q["flat"])
        self.reply(page)


class RunFieldsHandler(MLOpsHandler):
    GET = Operation("Every field a runs table may show or filter on: run attributes and every "
                    "param, metric and tag key logged", "RunFields", params=(EXPERIMENTS,))

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_fields, self.query()["experiment"]))


class RunHandler(MLOpsHandler):
    GET = Operation("One run: info, params, metrics, tags, inputs, outputs, artifacts", "Run",
                    params=(RUN_ID,), errors=(400, 404))

    @reads
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(_run, run_id))


class MetricHandler(MLOpsHandler):
    GET = Operation("A metric's history as columns (step, value, timestamp), thinned on the "
                    "server to at most max_points, keeping extremes", "MetricHistory",
                    params=(RUN_ID, path("key", "the metric's key"), MAX_POINTS_PARAM),
                    errors=(400, 404))

    @reads
    async def get(self, run_id: str, key: str) -> None:
        self.reply(await self.call(_history, run_id, key, self.query()["max_points"]))


class RunChartHandler(MLOpsHandler):
    GET = Operation("The metric histories of one run as a plotly figure (the notebook's)",
                    "Figure", params=(RUN_ID, KEYS, MAX_POINTS_PARAM), errors=(400, 404))

    @reads
    async def get(self, run_id: str) -> None:
        q = self.query()
        self.reply(await self.call(_chart, [run_id], q["keys"], q["max_points"]))


class MetricsChartHandler(MLOpsHandler):
    GET = Operation("The metric histories of several runs as one plotly figure", "Figure",
                    params=(Param("runs", "the runs: ids or prefixes of 8+ hex characters",
                                  many="csv", required=True, min_items=1,
                                  missing="give runs=ID,ID"),
                            KEYS, MAX_POINTS_PARAM), errors=(400, 404))

    @reads
    async def get(self) -> None:
        q = self.query()
        self.reply(await self.call(_chart, q["runs"], q["keys"], q["max_points"]))


class RunsChartHandler(MLOpsHandler):
    GET = Operation(
        "One plotly figure across runs: parallel coordinates, a scatter of two fields, or "
        "bars of a metric's final value", "Figure",
        description="The runs: `runs` (ids), else those of `experiment` matching `filter`, "
                    "nested ones included, newest first; at most `limit`.",
        params=(
            Param("kind", "parallel (an axis per field), scatter (fields x,y) or bars (one "
                          "metric's final value per run)", required=True,
                  choices=("parallel", "scatter", "bars"), missing="give kind=parallel, "
                                                                  "scatter or bars"),
            Param("fields", "params.<key>, metrics.<key>, tags.<key> or run attributes",
                  many="csv", required=True, min_items=1, missing="give fields=FIELD,FIELD"),
            EXPERIMENTS, FILTER,
            Param("runs", "these runs instead: ids or prefixes of 8+ hex characters",
                  many="csv"),
            Param("color", "the field colouring the lines or markers (parallel: the last "
                           "metric of fields by default)"),
            Param("limit", "at most this many runs", int, default=1000, low=1, high=10_000),
        ), errors=(400, 404))

    @reads
    async def get(self) -> None:
        q = self.query()
        self.reply(await self.call(_runs_chart, q["kind"], q["fields"], q["experiment"],
                                   q["filter"], q["runs"], q["color"], q["limit"]))


class AutoMLHandler(MLOpsHandler):
    GET = Operation("An AutoML search, rebuilt from its parent run's trial runs: leaderboard, "
                    "optimization history, importances, best trial (404 for a run that is "
                    "no search's parent)", "AutoMLSearch", params=(RUN_ID,), errors=(400, 404))

    @reads
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(_automl, run_id))


class CompareHandler(MLOpsHandler):
    GET = Operation("Runs side by side: params, latest metrics, their histories' figure",
                    "RunComparison",
                    params=(Param("runs", "two or more runs: ids or prefixes of 8+ hex "
                                          "characters", many="csv", required=True,
                                  min_items=2, missing="give at least two runs: runs=ID,ID"),),
                    errors=(400, 404))

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_compare, self.query()["runs"]))


class DiffHandler(MLOpsHandler):
    GET = Operation("What differs in the other run from this one: params, metrics, tags, "
                    "inputs by digest, Python and packages, and the code cell by cell (sources "
                    "and outputs, aligned by nbdime)", "RunDiff",
                    params=(RUN_ID, path("other_id", "the run to compare it with: an id or a "
                                                     "prefix of 8+ hex characters")),
                    errors=(400, 404))

    @reads
    async def get(self, run_id: str, other_id: str) -> None:
        self.reply(await self.call(_diff, run_id, other_id))


class ArtifactHandler(MLOpsHandler):
    GET = Operation("An artifact's bytes, by its name in the run, with its content type", None,
                    params=(RUN_ID, path("name", "the artifact's name in the run: a relative "
                                                 "path, slashes allowed")),
                    media_type="*/*", errors=(400, 404))

    @reads
    async def get(self, run_id: str, name: str) -> None:
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or ".." in parts or not all(parts):
            raise MLOpsUsageError(f"artifact name {name!r} must be a relative path inside the run")
        data, media_type = await self.call(_artifact, run_id, name)
        self.set_header("Content-Disposition",
                        f"attachment; filename=\"{parts[-1].replace(chr(34), '')}\"")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(data, set_content_type=media_type)  # APIHandler would say application/json


ROUTES = [
    ("/experiments", ExperimentsHandler),
    ("/runs", RunsHandler),
    ("/runs/fields", RunFieldsHandler),  # before /runs/{run_id}, which would take it
    ("/runs/{run_id}", RunHandler),
    ("/runs/{run_id}/automl", AutoMLHandler),
    ("/runs/{run_id}/metrics/{key}", MetricHandler),
    ("/runs/{run_id}/chart", RunChartHandler),
    ("/runs/{run_id}/diff/{other_id}", DiffHandler),
    ("/runs/{run_id}/artifacts/{name:path}", ArtifactHandler),
    ("/charts/metrics", MetricsChartHandler),
    ("/charts/runs", RunsChartHandler),
    ("/compare", CompareHandler),
]
