"""The lineage graph as a plotly figure: columns by depth from the sources, left to right."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..lineage import Lineage

COLOURS = {"run": "#1565c0", "dataset": "#2e7d32", "notebook": "#6a1b9a", "commit": "#5d4037",
           "model": "#c62828", "feature_view": "#ef6c00", "pipeline_run": "#00838f"}


def graph(lin: Lineage) -> go.Figure:
    import plotly.graph_objects as go

    depth = {n: 0 for n in lin.nodes}
    for _ in range(len(lin.nodes)):  # longest path from a source, cycles cut off
        changed = False
        for e in lin.edges:
            if depth[e.target] < depth[e.source] + 1 <= len(lin.nodes):
                depth[e.target] = depth[e.source] + 1
                changed = True
        if not changed:
            break
    columns: dict[int, list[str]] = {}
    for node_id in lin.nodes:
        columns.setdefault(depth[node_id], []).append(node_id)
    pos = {n: (x, -i) for x, ids in columns.items() for i, n in enumerate(sorted(ids))}
    fig = go.Figure()
    for e in lin.edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="text",
                                 text=e.relation, line={"color": "#b0b0b0", "width": 1.5},
                                 showlegend=False))
    for kind in sorted({n.kind for n in lin.nodes.values()}):
        ids = [n for n, node in lin.nodes.items() if node.kind == kind]
        fig.add_trace(go.Scatter(
            x=[pos[n][0] for n in ids], y=[pos[n][1] for n in ids], mode="markers+text",
            text=[lin.nodes[n].label for n in ids], textposition="top center", name=kind,
            marker={"size": 16 if kind != "run" else 20, "color": COLOURS.get(kind, "#455a64"),
                    "line": {"width": [3 if n == lin.root.id else 0 for n in ids],
                             "color": "#000"}},
            hovertext=ids, hoverinfo="text"))
    fig.update_layout(template="plotly_white", xaxis={"visible": False},
                      yaxis={"visible": False}, height=120 + 90 * max(map(len, columns.values())),
                      margin={"l": 20, "r": 20, "t": 30, "b": 20}, legend={"orientation": "h"})
    return fig
