"""Figures for datasets: how the profile of each column moved between two versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..data.diff import DatasetDiff


def profile_changes(diff: DatasetDiff) -> go.Figure:
    """Per column: missing values and mean in both versions, side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = sorted(set(diff.a.profile.get("columns", {})) | set(diff.b.profile.get("columns", {})))
    fig = make_subplots(rows=2, cols=1, subplot_titles=["missing values", "mean"],
                        vertical_spacing=0.18)
    for version in (diff.a, diff.b):
        stats = version.profile.get("columns", {})
        fig.add_trace(go.Bar(x=cols, y=[stats.get(c, {}).get("missing") for c in cols],
                             name=version.ref, legendgroup=version.ref), row=1, col=1)
        fig.add_trace(go.Bar(x=cols, y=[stats.get(c, {}).get("mean") for c in cols],
                             name=version.ref, legendgroup=version.ref, showlegend=False),
                      row=2, col=1)
    fig.update_layout(barmode="group", template="plotly_white", height=520,
                      margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      title=f"{diff.a.ref} → {diff.b.ref}")
    return fig
