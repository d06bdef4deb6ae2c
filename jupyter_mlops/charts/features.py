"""Figures for features: the distribution of every feature of a materialized view, drawn from
its stored profile (quantiles for numbers, top levels for categories)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAX_PANELS = 12


def feature_distributions(profile: dict[str, Any], title: str = "") -> go.Figure:
    """One panel a feature: a box from the 1 %, 25 %, 50 %, 75 % and 99 % quantiles for a
    number, bars of the most frequent levels for a category."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    columns = list(profile.get("columns", {}).items())[:MAX_PANELS]
    cols = min(max(len(columns), 1), 3)
    rows = max((len(columns) + cols - 1) // cols, 1)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[n for n, _ in columns] or ["—"],
                        vertical_spacing=min(0.25, 0.8 / rows))
    for i, (name, stats) in enumerate(columns):
        row, col = i // cols + 1, i % cols + 1
        if stats.get("kind") == "numeric" and stats.get("quantiles"):
            q = stats["quantiles"]
            fig.add_trace(go.Box(name=name, q1=[q["0.25"]], median=[q["0.5"]], q3=[q["0.75"]],
                                 lowerfence=[q["0.01"]], upperfence=[q["0.99"]],
                                 mean=[stats["mean"]], showlegend=False,
                                 hoverinfo="y"), row=row, col=col)
            fig.update_xaxes(showticklabels=False, row=row, col=col)  # one box: no x
        elif stats.get("top"):
            levels, counts = zip(*stats["top"][:10], strict=True)
            fig.add_trace(go.Bar(x=list(levels), y=list(counts), name=name, showlegend=False),
                          row=row, col=col)
    top = 80 if title else 40  # the figure's title above the panels' own
    fig.update_layout(height=230 * rows + top + 20, template="plotly_white",
                      title={"text": title, "y": 1 - 22 / (230 * rows + top + 20),
                             "yanchor": "top"} if title else None,
                      margin={"l": 40, "r": 10, "t": top, "b": 30})
    return fig
