"""Long metric histories made small for charts: per bucket of consecutive points keep the
lowest and the highest, so spikes and dips survive (a plain stride would skip them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def downsample(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most `max_points` rows of a history ordered by step: the first and last points,
    and each bucket's minimum and maximum value in their original order (missing values are
    passed over; a bucket of missing values only keeps its first point)."""
    import numpy as np

    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise MLOpsUsageError(f"max_points must be an integer of at least 4, got {max_points!r}")
    n = len(frame)
    if n <= max_points:
        return frame
    values = frame["value"].to_numpy(dtype="float64")
    buckets = (max_points - 2) // 2
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.int64)
    starts = edges[:-1][np.diff(edges) > 0]  # the buckets that hold points: [start, next start)
    inner = values[: n - 1]  # the last bucket ends before the last point
    missing = np.isnan(inner)
    lows = _first_extreme(np.where(missing, np.inf, inner), starts, np.minimum)
    highs = _first_extreme(np.where(missing, -np.inf, inner), starts, np.maximum)
    keep = np.unique(np.concatenate(([0, n - 1], lows, highs)))
    return frame.iloc[keep].reset_index(drop=True)


def _first_extreme(values: np.ndarray, starts: np.ndarray, extreme: np.ufunc) -> np.ndarray:
    """For each segment [starts[i], starts[i+1]) (the last runs to the end of `values`), the
    position of the first value equal to the segment's extreme: numpy's argmin/argmax per
    segment, in a few passes over the array instead of a Python loop over segments. With
    missing values replaced by the extreme's identity (inf for the minimum), this is exactly
    nanargmin/nanargmax, and an all-missing segment gives its start."""
    import numpy as np

    best = extreme.reduceat(values, starts)
    lengths = np.diff(np.append(starts, len(values)))
    first = starts[0]
    # every segment holds its extreme: the first hit at or after its start is in it
    hits = np.flatnonzero(values[first:] == np.repeat(best, lengths)) + first
    return hits[np.searchsorted(hits, starts)]
