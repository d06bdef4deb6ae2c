"""Versions of a model side by side: their runs' params and metrics, and a chart."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from .versions import ModelVersion, get_model_version

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


@dataclass
class ModelComparison:
    """What `compare_models` returns: `.to_frame()`, `.to_dict()`, `.figure()`, rich display."""

    versions: list[ModelVersion]
    params: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, float]]

    @staticmethod
    def label(version: ModelVersion) -> str:
        aliases = "".join(f" @{a}" for a in version.aliases)
        return f"v{version.version}{aliases}"

    def to_frame(self, only_differences: bool = False) -> pd.DataFrame:
        """Rows `params.<k>` then `metrics.<k>`, one column per version."""
        from ..tracking.compare import side_by_side

        return side_by_side({label: (self.params[label], self.metrics[label])
                             for label in map(self.label, self.versions)}, only_differences)

    def to_dict(self) -> dict[str, Any]:
        return {"versions": [v.to_dict() for v in self.versions], "params": self.params,
                "metrics": self.metrics}

    def figure(self) -> go.Figure:
        from ..charts.registry import version_metrics

        keys = sorted({k for m in self.metrics.values() for k in m})
        return version_metrics(self.metrics, keys)

    def _repr_html_(self) -> str:
        title = f"{html.escape(self.versions[0].name)}: versions " + ", ".join(
            str(v.version) for v in self.versions)
        return f"<div><b>{title}</b>{self.to_frame().to_html(na_rep='—')}</div>"


def compare_models(name: str, versions: list[int | str]) -> ModelComparison:
    """Compare versions of model `name` (numbers or aliases) by their runs."""
    if isinstance(versions, (str, int)) or not versions:
        raise MLOpsUsageError("give a list of versions (numbers or aliases) to compare")
    found = [get_model_version(f"{name}@{v}") for v in versions]
    params, metrics = {}, {}
    for version in found:
        run = version.run
        label = ModelComparison.label(version)
        params[label] = run.params if run else {}
        metrics[label] = run.metrics if run else {}
    return ModelComparison(found, params, metrics)
