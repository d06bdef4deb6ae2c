"""Figures across runs: parallel coordinates over chosen fields, a scatter of two fields,
bars of a metric's final value. Each takes the runs' ids and names and each field's values
(one per run, None where a run has none); a field whose values are not all numbers is
categorical (its categories sorted, a missing value shown as —)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

MISSING = "—"
LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 30, "t": 60, "b": 50}}


def _numeric(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in present)


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    return value if isinstance(value, str) else json.dumps(value)


def _coded(values: list[Any]) -> tuple[list[int], list[str]]:
    """Categorical values as codes into their sorted categories (missing last)."""
    cats = sorted({_text(v) for v in values if v is not None})
    if any(v is None for v in values):
        cats.append(MISSING)
    index = {c: i for i, c in enumerate(cats)}
    return [index[_text(v)] for v in values], cats


def _numbers(values: list[Any]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def labels(ids: list[str], names: list[str]) -> list[str]:
    """Run names, a repeated one followed by its id's first 8 characters."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else f"{name} ({run_id[:8]})"
            for run_id, name in zip(ids, names, strict=True)]


def parallel(ids: list[str], names: list[str], data: dict[str, list[Any]], fields: list[str],
             color: str | None) -> go.Figure:
    """A parcoords trace: one dimension per field (categorical ones with their categories
    as tick labels), each holding one value per run; lines coloured by `color`."""
    import plotly.graph_objects as go

    dimensions = []
    for field in fields:
        values = data[field]
        if _numeric(values):
            dimensions.append({"label": field, "values": _numbers(values)})
        else:
            codes, cats = _coded(values)
            dimensions.append({"label": field, "values": codes,
                               "tickvals": list(range(len(cats))), "ticktext": cats})
    line: dict[str, Any] = {}
    if color is not None:
        values = data[color]
        shade = _numbers(values) if _numeric(values) else _coded(values)[0]
        line = {"color": shade, "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": color}}}
    fig = go.Figure(go.Parcoords(dimensions=dimensions, line=line,
                                 labelangle=-15, labelside="top"))
    # the axis labels stand above the axes: the title goes left and the top margin grows
    fig.update_layout(title={"text": f"{len(ids)} runs", "x": 0.01, "xanchor": "left"},
                      height=480, **{**LAYOUT, "margin": {**LAYOUT["margin"], "t": 110}})
    return fig


def scatter(ids: list[str], names: list[str], data: dict[str, list[Any]], x: str, y: str,
            color: str | None) -> go.Figure:
    """One marker per run at (x, y), named on hover; coloured by `color` when given."""
    import plotly.graph_objects as go

    def axis(values: list[Any]) -> list[Any]:
        return _numbers(values) if _numeric(values) else [None if v is None else _text(v)
                                                          for v in values]

    marker: dict[str, Any] = {"size": 8, "opacity": 0.8}
    if color is not None:
        values = data[color]
        marker.update(color=_numbers(values) if _numeric(values) else _coded(values)[0],
                      colorscale="Viridis", showscale=True,
                      colorbar={"title": {"text": color}})
    fig = go.Figure(go.Scatter(
        x=axis(data[x]), y=axis(data[y]), mode="markers", text=names, customdata=ids,
        marker=marker,
        hovertemplate=f"%{{text}}<br>{x}: %{{x}}<br>{y}: %{{y}}<extra></extra>"))
    fig.update_layout(title=f"{y} against {x} ({len(ids)} runs)", xaxis_title=x,
                      yaxis_title=y, height=420, **LAYOUT)
    return fig


def bars(ids: list[str], names: list[str], values: list[float | None], metric: str
         ) -> go.Figure:
    """One bar per run: the metric's final value, labelled by the run's name."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=labels(ids, names), y=_numbers(values), customdata=ids,
                           marker={"color": "#636efa"},
                           hovertemplate=f"%{{x}}<br>{metric}: %{{y:.6g}}<extra></extra>"))
    fig.update_layout(title=f"{metric}, final value ({len(ids)} runs)", yaxis_title=metric,
                      height=380, xaxis={"type": "category"}, **LAYOUT)
    return fig
