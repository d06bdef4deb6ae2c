"""Figures for tracking: metric histories of several runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

MAX_PANELS = 8


def metric_histories(histories: dict[str, dict[str, pd.DataFrame]], keys: list[str]) -> go.Figure:
    """One panel per metric key (at most 8), one line per run: value against step.
    `histories` maps a run label to {key: frame with step and value columns}."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    keys = keys[:MAX_PANELS]
    rows = max(len(keys), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=False, subplot_titles=keys or ["no metrics"],
                        vertical_spacing=min(0.12, 0.5 / rows))
    palette = qualitative.Plotly
    for i, (label, per_key) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
        shown = False  # one legend entry per run, on its first panel
        for row, key in enumerate(keys, start=1):
            frame = per_key.get(key)
            if frame is None or frame.empty:
                continue
            fig.add_trace(
                go.Scatter(x=frame["step"], y=frame["value"], name=label, legendgroup=label,
                           showlegend=not shown,
                           mode="lines+markers" if len(frame) < 30 else "lines",
                           line={"color": colour}),
                row=row, col=1,
            )
            shown = True
    fig.update_xaxes(title_text="step", row=rows, col=1)  # the bottom panel only: no overlap
    fig.update_layout(height=260 * rows + 60, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      template="plotly_white", legend={"orientation": "h", "y": -0.08})
    return fig
