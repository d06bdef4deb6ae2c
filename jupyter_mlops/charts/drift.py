"""Figures for drift: a report's per-column scores and distributions, and drift and
performance over time."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

MAX_DISTRIBUTIONS = 6
DRIFT, STEADY, REFERENCE, CURRENT = "#d62728", "#2ca02c", "#1f77b4", "#ff7f0e"


def _hover(bar: dict[str, Any]) -> str:
    """One column's figures as hover text: the statistic against its threshold, the test's
    p-value against its level when there is one, the note."""
    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:.4g}"

    text = f"{bar['method']} = {num(bar['statistic'])} (threshold {num(bar['threshold'])})"
    if bar.get("alpha") is not None:
        text += f"<br>test p = {num(bar.get('pvalue'))} (below {num(bar['alpha'])} to drift)"
    return text + (f"<br>{bar['note']}" if bar["note"] else "")


def report_figure(title: str, bars: list[dict[str, Any]], panels: list[dict[str, Any]],
                  labels: tuple[str, str]) -> go.Figure:
    """Row 1: each column's score (`bars`: column, method, statistic, threshold, pvalue,
    alpha, score — 1 at the threshold —, drifted, note), red when drifted. Then one panel a
    column of `panels` (column, x, reference and current shares, axis "category" or "linear";
    at most MAX_DISTRIBUTIONS, in the order given): the two samples' distributions."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = panels[:MAX_DISTRIBUTIONS]
    grid = (len(panels) + 1) // 2
    specs = [[{"colspan": 2}, None]] + [[{}, {}] for _ in range(grid)]
    titles = ["score ÷ threshold (a column drifts at 1)"] + [p["column"] for p in panels]
    # pixels: the score row 260, each row of distributions 260, room for rotated names
    height = 120 + 260 * (1 + grid) + 110 * (grid > 0) + 40 * max(grid - 1, 0)
    fig = make_subplots(rows=1 + grid, cols=2, specs=specs, subplot_titles=titles,
                        vertical_spacing=(150 / height) if grid else 0.05)
    fig.add_trace(go.Bar(
        x=[b["column"] for b in bars],
        y=[b["score"] if b["score"] is not None and math.isfinite(b["score"]) else None
           for b in bars],
        marker={"color": [DRIFT if b["drifted"] else STEADY for b in bars]}, showlegend=False,
        text=[_hover(b) for b in bars], textposition="none",
        hovertemplate="%{x}<br>%{text}<extra></extra>"), row=1, col=1)
    fig.add_hline(y=1.0, line={"dash": "dash", "color": "#888"}, row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_xaxes(tickangle=-40, row=1, col=1)
    for i, panel in enumerate(panels):
        row, colno = 2 + i // 2, 1 + i % 2
        for label, shares, colour in ((labels[0], panel["reference"], REFERENCE),
                                      (labels[1], panel["current"], CURRENT)):
            fig.add_trace(go.Bar(x=panel["x"], y=shares, name=label, marker={"color": colour},
                                 opacity=0.6, legendgroup=label, showlegend=i == 0,
                                 hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>"),
                          row=row, col=colno)
        if panel["axis"] == "category":
            fig.update_xaxes(type="category", row=row, col=colno)
        fig.update_yaxes(tickformat=".0%", row=row, col=colno)
    fig.update_layout(barmode="overlay", height=height, template="plotly_white",
                      margin={"l": 50, "r": 10, "t": 50, "b": 40},
                      title={"text": title, "font": {"size": 13}},
                      legend={"orientation": "h", "y": -0.08})
    return fig


def history_figure(frame: pd.DataFrame, alerts: list[dict[str, Any]] | None = None) -> go.Figure:
    """Drift share over time (batches whose predictions drifted and alerts marked), and below
    it each performance metric recorded with actuals; one line per model version."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    metrics = [m for m in ("accuracy", "f1", "roc_auc", "rmse", "mae")
               if m in frame and frame[m].notna().any()]
    rows = 2 if metrics else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=["drift share of columns"]
                        + (["performance"] if metrics else []))
    palette = qualitative.Plotly
    for i, (version, part) in enumerate(frame.groupby("version", sort=True)):
        colour = palette[i % len(palette)]
        fig.add_trace(go.Scatter(x=part["at"], y=part["drift_share"], mode="lines+markers",
                                 name=f"v{version} drift share", line={"color": colour},
                                 hovertemplate="%{x}<br>drift share %{y:.0%}<extra></extra>"),
                      row=1, col=1)
        moved = part[part["prediction_drifted"].fillna(False).astype(bool)]
        if len(moved):  # its statistic may be a p-value or a distance: marked, not drawn
            fig.add_trace(go.Scatter(x=moved["at"], y=moved["drift_share"], mode="markers",
                                     name=f"v{version} predictions drifted",
                                     marker={"symbol": "diamond-open", "size": 13,
                                             "color": colour, "line": {"width": 2}},
                                     customdata=moved["prediction_drift"],
                                     hovertemplate="%{x}<br>predictions drifted (statistic "
                                                   "%{customdata:.3g})<extra></extra>"),
                          row=1, col=1)
        for j, metric in enumerate(metrics):
            fig.add_trace(go.Scatter(x=part["at"], y=part[metric], mode="lines+markers",
                                     name=f"v{version} {metric}",
                                     line={"color": palette[(i + j + 1) % len(palette)]}),
                          row=2, col=1)
    if alerts:
        fig.add_trace(go.Scatter(x=[a["at"] for a in alerts], y=[a["drift_share"] for a in alerts],
                                 mode="markers", name="alert",
                                 marker={"symbol": "x", "size": 12, "color": DRIFT},
                                 text=[a["reason"] for a in alerts],
                                 hovertemplate="%{text}<extra>alert</extra>"), row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=1)
    fig.update_layout(height=260 * rows + 80, template="plotly_white",
                      margin={"l": 50, "r": 10, "t": 40, "b": 30},
                      legend={"orientation": "h", "y": -0.15})
    return fig
