"""Pipelines: specs with their DAG, schedule and next run, pipeline runs and their steps, the
executed notebooks, and buttons to run and to re-run what failed (started as processes of
their own, so a long pipeline never holds the server)."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, path
from .base import MLOpsHandler, reads, writes

PIPELINE = path("name", "the pipeline's name")
RUN = path("run_id", "a pipeline run id, or a prefix of it of at least 8 hex characters")


def _pipelines() -> dict[str, Any]:
    from ...pipelines.scheduler import schedule_table
    from ...pipelines.status import list_pipeline_runs

    table = schedule_table()
    runs = list_pipeline_runs(limit=500)
    for row in table:
        mine = runs[runs["pipeline"] == row["pipeline"]]
        row["last_status"] = None if mine.empty else mine.iloc[0]["status"]
    return {"pipelines": table}


def _pipeline(name: str) -> dict[str, Any]:
    from ...pipelines.params import parameter_rows
    from ...pipelines.spec import dump, load_spec
    from ...pipelines.status import list_pipeline_runs

    spec = load_spec(name)
    return {"name": name, "spec": spec.model_dump(), "yaml": dump(spec), "figure": spec.figure(),
            "parameters": parameter_rows(spec), "runs": list_pipeline_runs(name)}


def _run(run_id: str) -> dict[str, Any]:
    from ...pipelines.status import get_pipeline_run

    run = get_pipeline_run(run_id)
    return {**run.to_dict(), "figure": run.figure()}


def _notebook(run_id: str, step_id: str) -> str:
    import nbformat

    from ...errors import NotFoundError
    from ...pipelines.status import get_pipeline_run

    run = get_pipeline_run(run_id)
    for step in run.steps:
        if step.id == step_id:
            return nbformat.writes(step.notebook())
    raise NotFoundError(f"pipeline run {run.id[:8]} has no step run {step_id!r}")


class PipelinesHandler(MLOpsHandler):
    GET = Operation("Pipelines with their steps, schedule, time zone, next run and last "
                    "status", "Pipelines")

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_pipelines))


class PipelineHandler(MLOpsHandler):
    GET = Operation("One pipeline: its spec (and YAML), its DAG as a plotly figure, the "
                    "parameters a run can set (per step, with their defaults and where each "
                    "comes from), its runs", "Pipeline", params=(PIPELINE,), errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_pipeline, name))


class PipelineRunsHandler(MLOpsHandler):
    POST = Operation("Start a run now, in a process of its own", "PipelineStarted",
                     params=(PIPELINE,), body="PipelineStart", status=202, errors=(400, 404))

    @writes
    async def post(self, name: str) -> None:
        from ...pipelines.runner import start_pipeline

        run_id = await self.call(start_pipeline, name, self.body().params)
        self.reply({"pipeline": name, "started": True, "run_id": run_id}, status=202)


class PipelineRunHandler(MLOpsHandler):
    GET = Operation("One pipeline run: every step attempt (status, times, error, failing "
                    "cell, tracked runs) and the DAG coloured by status", "PipelineRun",
                    params=(RUN,), errors=(400, 404))

    @reads
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(_run, run_id))


class ResumeHandler(MLOpsHandler):
    POST = Operation("Re-run the steps of a run that did not finish, in a process of its own",
                     "PipelineResumed", params=(RUN,), status=202, errors=(400, 404))

    @writes
    async def post(self, run_id: str) -> None:
        from ...pipelines.runner import resumable, start_pipeline

        run = await self.call(resumable, run_id)
        await self.call(start_pipeline, run.pipeline, resume=run.id)
        self.reply({"run_id": run.id, "resumed": True}, status=202)


class ExecutedNotebookHandler(MLOpsHandler):
    GET = Operation("A step's executed notebook, as papermill wrote it", "Notebook",
                    params=(RUN, path("step_id", "the step run's id")),
                    media_type="application/x-ipynb+json", errors=(400, 404))

    @reads
    async def get(self, run_id: str, step_id: str) -> None:
        text = await self.call(_notebook, run_id, step_id)
        self.set_header("Content-Disposition", f'attachment; filename="{step_id[:8]}.ipynb"')
        self.finish(text, set_content_type=self.operation().media_type)


ROUTES = [
    ("/pipelines", PipelinesHandler),
    ("/pipelines/{name}", PipelineHandler),
    ("/pipelines/{name}/runs", PipelineRunsHandler),
    ("/pipeline-runs/{run_id}", PipelineRunHandler),
    ("/pipeline-runs/{run_id}/resume", ResumeHandler),
    ("/pipeline-runs/{run_id}/steps/{step_id}/notebook", ExecutedNotebookHandler),
]
