"""Pipelines: specs, schedules, runs and their steps, starting and resuming runs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ...pipelines.spec import PipelineSpec
from .common import Epoch, Figure, ISOTime, Strict

__all__ = ["Pipelines", "Pipeline", "PipelineRun", "PipelineStart", "PipelineStarted",
           "PipelineResumed", "Notebook"]


class PipelineSummary(Strict):
    pipeline: str
    steps: int
    schedule: str | None = Field(description="cron")
    timezone: str | None
    next_run: str | None = Field(description="local time in the pipeline's time zone, to the "
                                             "minute (2026-12-07T02:00+00:00)")
    last_run: str | None = Field(description="as next_run")
    last_status: str | None


class Pipelines(Strict):
    pipelines: list[PipelineSummary]


class PipelineRunRow(Strict):
    run_id: str
    pipeline: str
    status: str
    trigger: str
    started: ISOTime
    error: str | None
    seconds: float | None = Field(description="null while it runs")


class PipelineParameter(Strict):
    """A parameter a run can set (`-p NAME=VALUE`), for one step that has it."""

    parameter: str
    step: str
    default: str = Field(description="its default, as Python source")
    source: str = Field(description="where the default comes from: step, pipeline or notebook")
    help: str = Field(description="the comment after it in the notebook's parameters cell")


class Pipeline(Strict):
    name: str
    spec: PipelineSpec
    yaml: str = Field(description="the spec file's text")
    figure: Figure
    parameters: list[PipelineParameter]
    runs: list[PipelineRunRow]


class StepRun(Strict):
    """One attempt of one step."""

    id: str
    step: str
    attempt: int
    status: str
    started_at: Epoch
    ended_at: Epoch | None
    params: dict[str, Any]
    notebook_digest: str | None
    error: str | None
    failed_cell: int | None
    runs: list[str] = Field(description="the runs the step tracked")
    output: str | None = Field(description="what the kernel printed to its log")
    worker: str | None = Field(description="the Dask worker the attempt ran on (its "
                                           "address); null for the local runner")


class PipelineRun(Strict):
    id: str
    pipeline: str
    status: str
    trigger: str
    params: dict[str, Any]
    started_at: Epoch
    ended_at: Epoch | None
    error: str | None
    steps: list[StepRun]
    figure: Figure


class PipelineStart(Strict):
    """Start a run, with parameters overriding the spec's."""

    params: dict[str, Any] = Field(default_factory=dict)


class PipelineStarted(Strict):
    pipeline: str
    started: bool
    run_id: str = Field(description="the new run, queued until its process starts it (it "
                                    "waits for the scheduler while max_active_runs are "
                                    "running)")


class PipelineResumed(Strict):
    run_id: str
    resumed: bool


class Notebook(Strict):
    """An nbformat 4 notebook."""

    cells: list[dict[str, Any]]
    metadata: dict[str, Any]
    nbformat: int
    nbformat_minor: int
