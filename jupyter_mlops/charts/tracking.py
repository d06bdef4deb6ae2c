"""Figures for tracking: metric histories of several runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

MAX_PANELS = 8
PANEL_PX, ROW_PX = 260, 28  # a history panel's height; a row of the values table


def metric_histories(histories: dict[str, dict[str, pd.DataFrame]], keys: list[str]) -> go.Figure:
    """One panel per metric key (at most 8), one line per run: value against step.
    `histories` maps a run label to {key: frame with step and value columns}.

    A metric that is one value in every run here (a final score, a count) is no line: such
    metrics share a table below the panels, a row each and a column per run. In a panel, a
    run with a single point of that metric is a marker."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    def points(label: str, key: str) -> int:
        frame = histories[label].get(key)
        return 0 if frame is None else len(frame)

    lines = [k for k in keys if any(points(label, k) > 1 for label in histories)][:MAX_PANELS]
    values = [k for k in keys if not any(points(label, k) > 1 for label in histories)]
    heights = [PANEL_PX] * len(lines)
    specs = [[{"type": "xy"}] for _ in lines]
    titles = list(lines)
    if values:
        heights.append(ROW_PX * (len(values) + 1) + 20)
        specs.append([{"type": "table"}])
        titles.append("single values")
    if not specs:
        heights, specs, titles = [PANEL_PX], [[{"type": "xy"}]], ["no metrics"]
    rows = len(specs)
    fig = make_subplots(rows=rows, cols=1, specs=specs, subplot_titles=titles,
                        row_heights=[h / sum(heights) for h in heights],
                        # 80 px between panels: room for the x title and the next one's
                        vertical_spacing=min(0.9 / max(rows - 1, 1), 80 / sum(heights)))
    palette = qualitative.Plotly
    for i, (label, per_key) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
        shown = False  # one legend entry per run, on its first panel
        for row, key in enumerate(lines, start=1):
            frame = per_key.get(key)
            if frame is None or frame.empty:
                continue
            mode = "markers" if len(frame) == 1 else "lines+markers" if len(frame) < 30 else "lines"
            fig.add_trace(
                go.Scatter(x=frame["step"], y=frame["value"], name=label, legendgroup=label,
                           showlegend=not shown, mode=mode, line={"color": colour},
                           marker={"color": colour}),
                row=row, col=1,
            )
            shown = True
    if values:
        fig.add_trace(_values_table(histories, values), row=rows, col=1)
    if lines:
        fig.update_xaxes(title_text="step", row=len(lines), col=1)  # the bottom panel only
    fig.update_layout(height=sum(heights) + 60, template="plotly_white",
                      margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      legend={"orientation": "h", "y": -0.08})
    return fig


def _values_table(histories: dict[str, dict[str, pd.DataFrame]], keys: list[str]) -> go.Table:
    """The single-value metrics: a row each, a column per run (— where a run has none)."""
    import plotly.graph_objects as go

    def shown(frame: pd.DataFrame | None) -> str:
        return "—" if frame is None or frame.empty else f"{frame['value'].iloc[-1]:.6g}"

    columns = [keys] + [[shown(per_key.get(k)) for k in keys] for per_key in histories.values()]
    return go.Table(header={"values": ["metric", *histories], "align": "left"},
                    cells={"values": columns, "align": "left", "height": ROW_PX},
                    columnwidth=[2] + [1] * len(histories))
