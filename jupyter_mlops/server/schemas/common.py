"""What every part of the API shares: errors, plotly figures, and the pieces of the models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Error", "Figure", "OpenAPIDocument"]

Epoch = Annotated[float, Field(description="seconds since 1970-01-01 UTC")]
ISOTime = Annotated[datetime, Field(description="an ISO 8601 time in UTC")]


def absent() -> Any:
    """The default of a key that some answers leave out (never null when present)."""
    return Field(default=None, json_schema_extra=lambda schema: schema.pop("default", None))


class Strict(BaseModel):
    """An object with exactly these keys (every one present, some null)."""

    model_config = ConfigDict(extra="forbid")


class Error(Strict):
    """Every error: one message naming what is wrong and what is expected, and details where
    there are some (a gate's comparisons, for instance)."""

    error: str
    detail: Any


class Figure(BaseModel):
    """A plotly figure's JSON (what plotly.js renders): traces and layout."""

    model_config = ConfigDict(extra="forbid")
    data: list[dict[str, Any]]
    layout: dict[str, Any]


class OpenAPIDocument(BaseModel):
    """This document."""

    model_config = ConfigDict(extra="forbid")
    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    security: list[dict[str, Any]]
    components: dict[str, Any]
    paths: dict[str, Any]
