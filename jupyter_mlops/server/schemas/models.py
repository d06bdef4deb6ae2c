"""Models: versions, aliases and their history, alias moves and promotions, comparisons."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt

from .common import Epoch, Figure, ISOTime, Strict, absent
from .runs import ComparisonRow

__all__ = ["Models", "Model", "ModelVersion", "AliasMove", "Promotion", "AliasRemoved",
           "ModelComparison"]


class ModelSummary(Strict):
    name: str
    versions: int
    latest: int
    updated: ISOTime
    aliases: str = Field(description="ALIAS→VERSION, comma separated")
    description: str | None


class Models(Strict):
    models: list[ModelSummary]


class DatasetInput(Strict):
    ref: str = Field(description="dataset:NAME@VERSION")
    digest: str | None = Field(description="null when the version is gone")


class DriftStatus(Strict):
    status: Literal["ok", "drifted", "unmonitored"]
    at: Epoch | None = Field(description="the newest monitoring batch's time")
    drift_share: float | None


class ModelVersionRow(Strict):
    version: int
    aliases: str = Field(description="the aliases held, comma separated")
    digest: str
    flavor: str
    run_id: str | None
    training_data: str | None
    created: ISOTime
    created_by: str | None
    description: str | None
    metrics: dict[str, float | None] = Field(description="its run's latest metrics")
    inputs: list[DatasetInput] = Field(description="the datasets it was trained on")
    drift: DriftStatus


class AliasEvent(Strict):
    alias: str
    from_version: int | None
    to_version: int | None = Field(description="null when the alias was removed")
    actor: str | None
    at: ISOTime
    comment: str | None = Field(description="the mover's comment (for an approved request: "
                                            "the requester's)")
    gate: str | None = Field(description="the gate a promotion or an approved request passed")
    request_id: int | None = Field(description="the approved promotion request that moved it")
    requested_by: str | None
    approved_by: str | None = Field(description="for an approved request: the actor")
    decision_comment: str | None = Field(description="the approver's comment")
    gate_values: dict[str, Any] | None = Field(
        description="what the gate compared at approval, by field")


class Model(Strict):
    """One model: its versions, where each alias points, every alias move."""

    name: str
    versions: list[ModelVersionRow]
    aliases: dict[str, int] = Field(description="alias → the version it points to")
    history: list[AliasEvent]


class SignatureColumn(Strict):
    name: str
    type: str


class SignatureOutput(Strict):
    kind: str = Field(description="classification, regression or unknown")
    classes: list[Any] = absent()


class Signature(Strict):
    inputs: list[SignatureColumn]
    output: SignatureOutput


class ModelVersion(Strict):
    name: str
    version: int
    ref: str
    digest: str
    flavor: str
    size: int
    signature: Signature | None
    run_id: str | None
    training_data: str | None
    description: str | None
    created_by: str | None
    created_at: Epoch
    aliases: list[str]
    untrusted_types: list[str] = Field(
        description="types outside skops's defaults that the model held when saved: "
                    "information only (a loader trusts skops's defaults and the project's "
                    "trusted_types setting, never this)")


class AliasMove(Strict):
    """Point an alias at a version."""

    alias: str = Field(description="[a-z][a-z0-9_-]*, never latest", examples=["production"])
    version: StrictInt
    comment: str | None = None


class Promotion(Strict):
    """Point an alias at a version if the gate holds."""

    version: StrictInt
    alias: str = Field(description="[a-z][a-z0-9_-]*, never latest", examples=["production"])
    require: str | None = Field(
        default=None, description="the gate, in the expression language over metrics.*, "
                                  "params.* and ALIAS.metrics.*",
        examples=["metrics.f1 >= production.metrics.f1"])
    comment: str | None = None


class AliasRemoved(Strict):
    name: str
    alias: str
    removed: bool


class ModelComparison(Strict):
    versions: list[ModelVersion]
    params: dict[str, dict[str, Any]] = Field(description="version label → param → value")
    metrics: dict[str, dict[str, float | None]] = Field(
        description="version label → metric → value")
    table: list[ComparisonRow]
    figure: Figure
