"""Runs side by side: params that differ, latest metrics, and their metric histories."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from .fluent import get_run

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from .run import Run


@dataclass
class RunComparison:
    """What `compare_runs` returns: `.to_frame()`, `.to_dict()`, `.figure()`, rich display."""

    runs: list[Run]
    params: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    keys: list[str]

    def label(self, run: Run) -> str:
        return f"{run.name} ({run.id[:8]})"

    def to_frame(self, only_differences: bool = False) -> pd.DataFrame:
        """Rows `params.<k>` then `metrics.<k>`, one column per run."""
        return side_by_side({self.label(r): (self.params[r.id], self.metrics[r.id])
                             for r in self.runs}, only_differences)

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [{"id": r.id, "name": r.name} for r in self.runs],
                "params": self.params, "metrics": self.metrics, "keys": self.keys}

    def figure(self) -> go.Figure:
        from ..charts.tracking import metric_histories

        histories = {self.label(r): {k: r.metric_history(k) for k in self.keys} for r in self.runs}
        return metric_histories(histories, self.keys)

    def _repr_html_(self) -> str:
        table = self.to_frame(only_differences=True).to_html(na_rep="—")
        return f"<div><b>{len(self.runs)} runs compared</b> (rows that differ){table}</div>"

    def __repr__(self) -> str:
        return f"<RunComparison of {', '.join(html.escape(r.id[:8]) for r in self.runs)}>"


def side_by_side(columns: dict[str, tuple[dict[str, Any], dict[str, float]]],
                 only_differences: bool = False) -> pd.DataFrame:
    """One column per label from its (params, metrics): rows `params.<k>` then `metrics.<k>`,
    keys sorted; `only_differences` drops rows whose values are all the same."""
    import pandas as pd

    rows: dict[str, dict[str, Any]] = {}
    for i, prefix in enumerate(("params", "metrics")):
        for key in sorted({k for values in columns.values() for k in values[i]}):
            row = {label: values[i].get(key) for label, values in columns.items()}
            if only_differences and len({repr(v) for v in row.values()}) == 1:
                continue
            rows[f"{prefix}.{key}"] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))


def compare_runs(run_ids: list[str], metric: str | list[str] | None = None) -> RunComparison:
    """Compare runs (ids or 8+ character prefixes); `metric` picks the histories to chart
    (default: every metric key the runs share, else all of them)."""
    if isinstance(run_ids, str) or len(run_ids) < 1:
        raise MLOpsUsageError("give a list of run ids to compare")
    runs = [get_run(r) for r in run_ids]
    params = {r.id: r.params for r in runs}
    metrics = {r.id: r.metrics for r in runs}
    if metric is None:
        sets = [set(m) for m in metrics.values()]
        shared = set.intersection(*sets) if sets else set()
        keys = sorted(shared or set.union(*sets))
    else:
        keys = [metric] if isinstance(metric, str) else list(metric)
        missing = [k for k in keys if not any(k in m for m in metrics.values())]
        if missing:
            raise MLOpsUsageError(f"none of these runs has the metric {missing[0]!r}")
    return RunComparison(runs, params, metrics, keys)
