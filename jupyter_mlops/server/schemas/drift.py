"""Drift and monitoring: monitored models, one model's history, rules, alerts, and the stored
reports of its batches."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import Epoch, Figure, Strict, absent

__all__ = ["MonitoredModels", "ModelDrift", "BatchReport"]


class MonitoredModel(Strict):
    model: str
    versions: list[int] = Field(description="the versions with a monitoring batch")
    batches: int
    last_at: Epoch | None
    last_drift_share: float | None
    last_drifted: bool | None
    last_method: str | None = Field(description="the drift preset of its last batch (auto, "
                                                "evidently), which its next batch keeps")
    alerts: int
    rules: int


class MonitoredModels(Strict):
    models: list[MonitoredModel]


class Batch(Strict):
    """One monitoring batch: drift of its inputs and predictions, performance when actuals
    were given (the metrics of its task; null otherwise)."""

    id: int
    at: Epoch
    version: int
    source: str
    method: str = Field(description="the drift preset it was computed with (auto, evidently)")
    rows: int
    columns: int
    drifted_columns: int
    drift_share: float
    drifted: bool
    prediction_drift: float | None
    prediction_drifted: bool | None
    accuracy: float | None
    f1: float | None
    roc_auc: float | None
    rmse: float | None
    mae: float | None
    alerts: int


class Alert(Strict):
    id: int
    model: str
    version: int
    at: Epoch
    rule_id: int
    condition: str
    reason: str
    pipeline: str | None
    pipeline_run_id: str | None = Field(description="the pipeline run the alert queued")
    webhook_status: str | None = Field(description="the webhook's answer")
    drift_share: float | None
    batch_id: int
    observed: dict[str, float | bool | None] = Field(
        description="what the rule saw: drift_share, drifted_columns, f1, …")


class AlertRule(Strict):
    id: int
    model: str
    ref: str
    condition: str
    pipeline: str | None
    webhook: str | None = Field(description="with secrets (tokens, passwords) redacted")
    created_by: str | None
    created_at: Epoch


class History(Strict):
    model: str
    batches: list[Batch] = Field(description="oldest first")
    alerts: list[Alert]
    rules: list[AlertRule]


class Sketch(Strict):
    """What a column's sketch says: numbers have mean, std, min, max; categories have their
    number of levels and the most frequent with their counts."""

    n: int
    missing: int
    mean: float | None = absent()
    std: float | None = absent()
    min: float | None = absent()
    max: float | None = absent()
    levels: int = absent()
    top: list[tuple[Any, int]] = absent()


class ColumnDrift(Strict):
    column: str
    type: str
    method: str
    statistic: float | None = Field(description="the effect size (or the p-value of a method "
                                                "that is only a test)")
    threshold: float
    pvalue: float | None = Field(description="the test's p-value, for a method with a test")
    alpha: float | None = Field(description="the test's level: drift needs pvalue < alpha")
    score: float | None = Field(description="how far past its threshold the column is: 1 at "
                                            "the threshold, above 1 drifted (with a test, the "
                                            "smaller of the effect's and the p-value's)")
    drifted: bool
    reference: Sketch
    current: Sketch
    note: str


class BatchReport(Strict):
    """A monitoring batch's stored drift report, with its figure."""

    batch_id: int
    model: str
    version: int
    at: Epoch
    reference: str
    current: str
    reference_rows: int
    current_rows: int
    method: str = Field(description="the preset or method the report was computed with")
    drifted: bool
    drift_share: float
    dataset_threshold: float
    drifted_columns: list[str]
    columns: list[ColumnDrift]
    figure: Figure


class ModelDrift(Strict):
    model: str
    history: History
    figure: Figure
    rules: list[AlertRule]
    alerts: list[Alert]
    last_report: BatchReport | None
