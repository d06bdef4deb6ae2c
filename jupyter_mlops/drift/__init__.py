"""Drift and production monitoring: sketches, statistics, reports, monitoring, alerts."""

from __future__ import annotations

from typing import Any


def summarize(data: Any, columns: list[str] | None = None) -> Any:
    """Sketch a DataFrame once, to reuse as the reference of many reports."""
    from .sketch import summarize as _summarize

    return _summarize(data, columns)
