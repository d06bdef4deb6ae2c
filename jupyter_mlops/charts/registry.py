"""Figures for the registry: versions of a model side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_PANELS = 8


def version_metrics(metrics: dict[str, dict[str, float]], keys: list[str]) -> go.Figure:
    """One panel per metric (at most 8), one bar per version, so scales never clash.
    `metrics` maps a version label to its run's latest metrics."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    keys = keys[:MAX_PANELS]
    cols = min(max(len(keys), 1), 2)
    rows = max((len(keys) + cols - 1) // cols, 1)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=keys or ["no metrics"],
                        vertical_spacing=min(0.2, 0.6 / rows))
    labels = list(metrics)
    palette = qualitative.Plotly
    for i, key in enumerate(keys):
        fig.add_trace(go.Bar(x=labels, y=[metrics[v].get(key) for v in labels], name=key,
                             marker={"color": [palette[j % len(palette)]
                                               for j in range(len(labels))]},
                             showlegend=False, hovertemplate="%{x}: %{y:.4g}<extra>" + key
                             + "</extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(height=240 * rows + 60, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      template="plotly_white", bargap=0.35)
    return fig
