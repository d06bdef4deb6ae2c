"""Experiments, runs, metric histories and run comparisons."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .common import Epoch, Figure, ISOTime, Strict

__all__ = ["Experiments", "RunsPage", "Run", "MetricHistory", "RunComparison"]


class Experiment(Strict):
    name: str
    lifecycle: str
    created_at: ISOTime
    runs: int
    last_run: ISOTime | None
    description: str | None


class Experiments(Strict):
    experiments: list[Experiment]


class RunRow(BaseModel):
    """One run of a search: its info, then a column per key of any run of the page:
    `params.<key>` (the param's JSON value), `metrics.<key>` (the latest value), `tags.<key>`
    (text); null where this run has no such key."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Any]
    run_id: str
    name: str
    experiment: str
    status: str
    start_time: ISOTime
    end_time: ISOTime | None
    parent_run_id: str | None
    user: str | None
    notebook: str | None


class RunsPage(Strict):
    runs: list[RunRow]
    total: int
    offset: int
    limit: int


class Link(Strict):
    """A run's input or output: a dataset version, a model version, a feature view…"""

    direction: str
    kind: str
    ref: str
    role: str | None


class Artifact(Strict):
    name: str
    digest: str
    size: int
    media_type: str


class Run(Strict):
    """A run's record (its row in the store), then what it logged."""

    id: str
    name: str
    experiment: str
    status: str
    parent_run_id: str | None
    start_time: Epoch
    end_time: Epoch | None
    heartbeat: Epoch
    user: str | None
    host: str | None
    notebook: str | None
    source_digest: str | None
    git_commit: str | None
    git_dirty: bool | None
    python_version: str | None
    environment_digest: str | None
    error: str | None
    lifecycle: str
    params: dict[str, Any]
    metrics: dict[str, float | None]
    tags: dict[str, str]
    inputs: list[Link]
    outputs: list[Link]
    artifacts: list[Artifact]


class MetricHistory(Strict):
    """Columns of the same length; a value is null where it was not finite."""

    key: str
    total: int
    step: list[int]
    value: list[float | None]
    timestamp: list[Epoch]


class RunName(Strict):
    id: str
    name: str


class ComparisonRow(BaseModel):
    """One row of a comparison: `key` (`params.<k>` or `metrics.<k>`), then one column per
    run (or version) named by its label, holding its value or null."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Any]
    key: str


class RunComparison(Strict):
    runs: list[RunName]
    params: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, float | None]]
    keys: list[str]
    table: list[ComparisonRow]
    figure: Figure
