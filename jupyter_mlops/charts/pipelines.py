"""A pipeline's DAG as a plotly figure: steps in columns by depth, coloured by status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..pipelines.spec import PipelineSpec

STATUS_COLOURS = {"finished": "#2e7d32", "failed": "#c62828", "killed": "#6d4c41",
                  "timeout": "#ef6c00", "running": "#1565c0", "skipped": "#9e9e9e",
                  None: "#455a64"}


def dag(spec: PipelineSpec, levels: list[list[str]],
        status: dict[str, str] | None = None) -> go.Figure:
    """One marker per step, placed in the column of its level (`levels`: step names by
    depth, as `pipelines.spec.levels` gives them), an arrow per dependency; `status`
    colours steps that ran."""
    import plotly.graph_objects as go

    status = status or {}
    steps = {s.name: s for s in spec.steps}
    pos = {n: (x, -i + (len(names) - 1) / 2) for x, names in enumerate(levels)
           for i, n in enumerate(names)}
    widest = max(map(len, levels))
    fig = go.Figure()
    for step in spec.steps:
        for dep in step.depends_on:
            (x0, y0), (x1, y1) = pos[dep], pos[step.name]
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2,
                               arrowcolor="#9e9e9e", standoff=12, startstandoff=12)
    names = list(steps)
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in names], y=[pos[n][1] for n in names], mode="markers+text",
        text=[f"{n}<br>{status.get(n, '')}" if n in status else n for n in names],
        textposition="top center", hovertext=[steps[n].notebook for n in names],
        hoverinfo="text", showlegend=False,
        marker={"size": 22, "color": [STATUS_COLOURS.get(status.get(n), "#455a64")
                                      for n in names]}))
    fig.update_layout(template="plotly_white", xaxis={"visible": False},
                      yaxis={"visible": False, "range": [-widest / 2 - 0.5, widest / 2 + 0.5]},
                      height=140 + 70 * widest, title=spec.name,
                      margin={"l": 20, "r": 20, "t": 40, "b": 20})
    return fig
