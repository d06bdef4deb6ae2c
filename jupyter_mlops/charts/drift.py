"""Figures for drift: a report's per-column scores and distributions, and drift and
performance over time."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..drift.report import DriftReport
    from ..drift.sketch import Sketch

MAX_DISTRIBUTIONS = 6
MAX_LEVELS = 15
BINS = 30
DRIFT, STEADY, REFERENCE, CURRENT = "#d62728", "#2ca02c", "#1f77b4", "#ff7f0e"


def _score(statistic: float, threshold: float, pvalue: bool) -> float:
    """How far past its threshold a column is: 1 at the threshold, above 1 drifted (p-values
    on a log scale, so a p of 1e-6 against 0.05 reads as about 4.6)."""
    if statistic is None or not math.isfinite(statistic):
        return float("nan")
    if pvalue:
        p = max(statistic, 1e-300)
        return math.log(p) / math.log(threshold) if 0 < threshold < 1 else float("nan")
    return statistic / threshold if threshold > 0 else float("inf") if statistic > 0 else 0.0


def _distribution(ref: Sketch, cur: Sketch) -> tuple[list, list, list, str]:
    """(x, reference shares, current shares, axis kind) on common bins or levels."""
    import numpy as np

    if ref.kind == "categorical" or (ref.counts is not None and cur.counts is not None
                                     and len(set(ref.counts) | set(cur.counts)) <= MAX_LEVELS):
        levels = sorted(set(ref.counts) | set(cur.counts),
                        key=lambda k: -(ref.counts.get(k, 0) + cur.counts.get(k, 0)))[:MAX_LEVELS]
        return ([str(k) for k in levels],
                [ref.counts.get(k, 0) / max(ref.n, 1) for k in levels],
                [cur.counts.get(k, 0) / max(cur.n, 1) for k in levels], "category")
    lo = min(v for v in (ref.min, cur.min) if v is not None)
    hi = max(v for v in (ref.max, cur.max) if v is not None)
    if hi <= lo:
        return [lo], [1.0 if ref.n else 0.0], [1.0 if cur.n else 0.0], "linear"
    edges = np.linspace(lo, hi, BINS + 1)

    def shares(s: Sketch) -> list[float]:
        if not s.n:
            return [0.0] * BINS
        return np.diff(np.concatenate([[0.0], s.cdf(edges[1:-1], strict=True), [1.0]])).tolist()

    return ((edges[:-1] + edges[1:]) / 2).tolist(), shares(ref), shares(cur), "linear"


def report_figure(report: DriftReport) -> go.Figure:
    """Row 1: each column's score against its threshold (bars, red when drifted). Then one
    panel per drifted column (the most drifted first, at most 6): reference vs current."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..drift.methods import get_method

    cols = report.columns
    scores = [_score(c.statistic, c.threshold, get_method(c.method).pvalue) for c in cols]
    drifted = sorted((c for c in cols if c.drifted and c.reference["n"] and c.current["n"]),
                     key=lambda c: -(scores[cols.index(c)] if math.isfinite(
                         scores[cols.index(c)]) else 1e9))[:MAX_DISTRIBUTIONS]
    panels = len(drifted)
    grid = (panels + 1) // 2
    specs = [[{"colspan": 2}, None]] + [[{}, {}] for _ in range(grid)]
    titles = ["score ÷ threshold (a column drifts at 1)"] + [c.column for c in drifted]
    # pixels: the score row 260, each row of distributions 260, room for rotated names
    height = 120 + 260 * (1 + grid) + 110 * (grid > 0) + 40 * max(grid - 1, 0)
    fig = make_subplots(rows=1 + grid, cols=2, specs=specs, subplot_titles=titles,
                        vertical_spacing=(150 / height) if grid else 0.05)
    fig.add_trace(go.Bar(
        x=[c.column for c in cols], y=[s if math.isfinite(s) else None for s in scores],
        marker={"color": [DRIFT if c.drifted else STEADY for c in cols]}, showlegend=False,
        customdata=[[c.method, c.statistic, c.threshold, c.note] for c in cols],
        hovertemplate="%{x}<br>%{customdata[0]} = %{customdata[1]:.4g} "
                      "(threshold %{customdata[2]})<br>%{customdata[3]}<extra></extra>"),
        row=1, col=1)
    fig.add_hline(y=1.0, line={"dash": "dash", "color": "#888"}, row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_xaxes(tickangle=-40, row=1, col=1)
    for i, col in enumerate(drifted):
        x, p, q, axis = _distribution(report.reference.columns[col.column],
                                      report.current.columns[col.column])
        row, colno = 2 + i // 2, 1 + i % 2
        for label, shares, colour in ((report.labels[0], p, REFERENCE),
                                      (report.labels[1], q, CURRENT)):
            fig.add_trace(go.Bar(x=x, y=shares, name=label, marker={"color": colour},
                                 opacity=0.6, legendgroup=label, showlegend=i == 0,
                                 hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>"),
                          row=row, col=colno)
        if axis == "category":
            fig.update_xaxes(type="category", row=row, col=colno)
        fig.update_yaxes(tickformat=".0%", row=row, col=colno)
    fig.update_layout(barmode="overlay", height=height, template="plotly_white",
                      margin={"l": 50, "r": 10, "t": 50, "b": 40},
                      title={"text": report.summary(), "font": {"size": 13}},
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
