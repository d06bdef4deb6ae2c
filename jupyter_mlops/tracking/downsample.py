"""Long metric histories made small for charts: per bucket of consecutive points keep the
lowest and the highest, so spikes and dips survive (a plain stride would skip them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd


def downsample(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most `max_points` rows of a history ordered by step: the first and last points,
    and each bucket's minimum and maximum value in their original order."""
    import numpy as np

    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise MLOpsUsageError(f"max_points must be an integer of at least 4, got {max_points!r}")
    n = len(frame)
    if n <= max_points:
        return frame
    values = frame["value"].to_numpy(dtype="float64")
    buckets = (max_points - 2) // 2
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.int64)
    keep = [0, n - 1]
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        if stop <= start:
            continue
        part = values[start:stop]
        if np.isnan(part).all():
            keep.append(start)
            continue
        keep += [start + int(np.nanargmin(part)), start + int(np.nanargmax(part))]
    return frame.iloc[np.unique(np.asarray(keep))].reset_index(drop=True)
