"""Experiments, runs, metric histories and run comparisons."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import Epoch, Figure, ISOTime, Strict, absent

__all__ = ["Experiments", "RunsPage", "RunFields", "Run", "MetricHistory", "RunComparison",
           "AutoMLSearch"]


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
    """One run of a search: its base fields, its numbers of children, then its `columns`:
    `params.<key>` (the param's JSON value), `metrics.<key>` (the latest value), `tags.<key>`
    (text), run attributes (`host`, `duration` in seconds, …); null where this run has no
    such key."""

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
    child_count: int = Field(default=None, ge=0, description=(
        "its direct children (archived ones only with archived=true); in every row but those "
        "of flat=true without columns"), json_schema_extra=lambda s: s.pop("default", None))
    matched_children: int = Field(default=None, ge=0, description=(
        "how many of its children match the filter or hold a run that does (grouped pages "
        "with a filter only)"), json_schema_extra=lambda s: s.pop("default", None))
    notebook: str | None = absent()


class RunsPage(Strict):
    runs: list[RunRow]
    total: int = Field(description="the rows of every page: top-level runs (or the "
                                   "parent's children, or with flat=true every run)")
    offset: int
    limit: int
    columns: list[str] = Field(description="the fields each row carries after its base "
                                           "fields and counts, in order")


class RunFields(Strict):
    """Every field a runs table may show or filter on, each list sorted."""

    attributes: list[str] = Field(description="the run's own fields: name, status, "
                                              "start_time, duration, …")
    params: list[str]
    metrics: list[str]
    tags: list[str]


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
    metric_points: dict[str, int] = Field(
        description="each metric's number of points: 1 for a single value, more for a history")
    tags: dict[str, str]
    kind: Literal["automl", "run"] = Field(
        description="automl: an AutoML search's parent run (see runs/{run_id}/automl)")
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


class LeaderboardRow(Strict):
    """One trial of an AutoML search, as its run recorded it."""

    trial: int
    estimator: str | None
    score: float | None = Field(description="the cross-validated metric (of the folds done, "
                                            "for a pruned trial)")
    score_std: float | None
    folds: int
    fit_time: float | None = Field(description="seconds")
    state: str = Field(description="complete, pruned, failed or killed")
    params: dict[str, Any]
    error: str | None
    run_id: str


class AutoMLBest(Strict):
    run_id: str
    params: dict[str, Any] = Field(description="the estimator family and its hyperparameters")
    score: float


class AutoMLSearch(Strict):
    """An AutoML search rebuilt from its trial runs."""

    run_id: str
    study: str | None
    metric: str
    direction: Literal["maximize", "minimize"]
    leaderboard: list[LeaderboardRow] = Field(description="best first")
    history: Figure
    importances: Figure | None = Field(description="the best family's hyperparameter "
                                                   "importances; null before a trial completes")
    trials: int
    best: AutoMLBest | None
