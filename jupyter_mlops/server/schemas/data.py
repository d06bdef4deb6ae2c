"""Datasets: their versions, one version's schema and profile, and diffs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import Epoch, Figure, ISOTime, Strict, absent

__all__ = ["Datasets", "DatasetVersions", "DatasetVersion", "DatasetDiff"]


class DatasetSummary(Strict):
    name: str
    versions: int
    latest: int
    updated: ISOTime


class Datasets(Strict):
    datasets: list[DatasetSummary]


class VersionRow(Strict):
    version: int
    digest: str
    kind: str = Field(description="frame, file or folder")
    format: str
    rows: int | None
    size: int
    created: ISOTime
    run_id: str | None


class DatasetVersions(Strict):
    name: str
    versions: list[VersionRow]


class SchemaColumn(Strict):
    name: str
    dtype: str
    nullable: bool
    categories: list[Any] = absent()


class NumericProfile(Strict):
    """Statistics of the finite values of a numeric column."""

    kind: Literal["numeric"]
    missing: int
    count: int
    sum: float
    sum_sq: float
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantiles: dict[str, float] = Field(description="quantile (0.01 … 0.99) → value")


class DatetimeProfile(Strict):
    kind: Literal["datetime"]
    missing: int
    min: str | None
    max: str | None


class CategoricalProfile(Strict):
    kind: Literal["categorical"]
    missing: int
    distinct: int
    top: list[tuple[str, int]] = Field(description="the most frequent values and their counts")
    counts: dict[str, int] = absent()


ColumnProfile = NumericProfile | DatetimeProfile | CategoricalProfile


class ProfileRow(Strict):
    """One column of a profile table (a dataset version's or a feature view's)."""

    column: str
    dtype: str
    missing: int | None
    min: float | str | None
    mean: float | None
    max: float | str | None
    distinct: int | None
    top: str | None


class DatasetVersion(Strict):
    name: str
    version: int
    ref: str
    digest: str
    kind: str
    format: str
    size: int
    rows: int | None
    created_at: Epoch
    run_id: str | None
    schema_: list[SchemaColumn] = Field(alias="schema")
    profile: dict[str, ColumnProfile] = Field(description="column → its statistics")
    table: list[ProfileRow]


class DatasetDiff(Strict):
    a: str
    b: str
    same: bool
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: dict[str, tuple[str, str]] = Field(description="column → (before, after)")
    rows: tuple[int | None, int | None]
    columns: dict[str, dict[str, tuple[Any, Any]]] = Field(
        description="column → statistic → (before, after), for what changed")
    key: list[str] = absent()
    added_rows: int = absent()
    removed_rows: int = absent()
    changed_rows: int = absent()
    figure: Figure
