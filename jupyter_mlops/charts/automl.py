"""Figures for AutoML: the optimization history (each trial's cross-validated score by
estimator family, pruned trials apart, the best so far as a step line) and the winning
family's hyperparameter importances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go


def optimization_history(rows: list[dict[str, Any]], metric: str,
                         greater_is_better: bool) -> go.Figure:
    """`rows` are the leaderboard's rows in trial order."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    families = sorted({r["estimator"] for r in rows if r["estimator"]})
    palette = qualitative.Plotly
    for i, family in enumerate(families):
        done = [r for r in rows if r["estimator"] == family and r["state"] == "complete"]
        if done:
            fig.add_trace(go.Scatter(
                x=[r["trial"] for r in done], y=[r["score"] for r in done], mode="markers",
                name=family, marker={"color": palette[i % len(palette)], "size": 8},
                hovertemplate=f"trial %{{x}}: %{{y:.4g}}<extra>{family}</extra>"))
    pruned = [r for r in rows if r["state"] == "pruned" and r["score"] is not None]
    if pruned:
        fig.add_trace(go.Scatter(
            x=[r["trial"] for r in pruned], y=[r["score"] for r in pruned], mode="markers",
            name="pruned", marker={"color": "#bbb", "symbol": "x", "size": 7},
            text=[r["estimator"] for r in pruned],
            hovertemplate="trial %{x}: %{y:.4g} after partial CV<extra>%{text}</extra>"))
    best, xs, ys = None, [], []
    for r in rows:
        if r["state"] == "complete":
            if best is None or (r["score"] > best if greater_is_better else r["score"] < best):
                best = r["score"]
            xs.append(r["trial"])
            ys.append(best)
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "color": "#222"},
                                 name="best so far", hoverinfo="skip"))
    fig.update_layout(title="Optimization history", xaxis_title="trial",
                      yaxis_title=f"cross-validated {metric}", template="plotly_white",
                      height=380, margin={"l": 50, "r": 10, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def param_importances(importances: dict[str, float], family: str) -> go.Figure:
    """One bar per hyperparameter of `family`, most important on top."""
    import plotly.graph_objects as go

    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker={"color": "#636efa"},
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=f"Hyperparameter importances ({family})",
                      xaxis_title="importance (fANOVA)", template="plotly_white",
                      height=120 + 30 * max(len(items), 1),
                      margin={"l": 140, "r": 10, "t": 50, "b": 40})
    if not items:
        fig.add_annotation(text=f"too few complete {family} trials to tell", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig
