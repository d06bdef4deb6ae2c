"""Feature views: the catalog with freshness, one version in full."""

from __future__ import annotations

from pydantic import Field

from .common import Epoch, Figure, Strict
from .data import ProfileRow

__all__ = ["FeatureViews", "FeatureView"]


class Feature(Strict):
    name: str
    dtype: str


class Materialization(Strict):
    """A materialization of a view version: parquet offline, keys online if asked."""

    view: str = Field(description="the view version, NAME@VERSION")
    rows: int
    digest: str
    at: Epoch
    start: Epoch | None
    end: Epoch | None
    first_event: Epoch | None
    last_event: Epoch | None
    online: int | None = Field(description="keys written to the online store, if it was")
    inputs: list[str] = Field(description="the dataset versions read")


class Freshness(Strict):
    """How current the view's data is; expired: its newest row is older than the ttl."""

    materialized_at: Epoch | None
    last_event: Epoch | None
    age: float | None = Field(description="seconds since the newest event")
    expired: bool | None


class ViewDefinition(Strict):
    """What a view version defines: its keys, event time, ttl and features."""

    name: str
    version: int
    kind: str
    entities: list[str]
    timestamp: str
    ttl: float | None = Field(description="seconds")
    features: list[Feature]
    description: str | None
    created_at: Epoch


class FeatureSummary(ViewDefinition):
    versions: int
    materialized: Materialization | None
    freshness: Freshness


class FeatureViews(Strict):
    views: list[FeatureSummary]


class ViewVersion(Strict):
    version: int
    digest: str
    kind: str
    features: int
    created_by: str | None
    created_at: Epoch


class FeatureView(ViewDefinition):
    digest: str
    tags: dict[str, str]
    source: str
    partitions: str | None = Field(
        None, description="the partitioned parquet the view reads a partition at a time")
    created_by: str | None
    versions: list[ViewVersion]
    materialized: Materialization | None
    materializations: list[Materialization]
    freshness: Freshness
    profile: list[ProfileRow]
    figure: Figure
