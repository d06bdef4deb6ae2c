"""Thinning a metric history: the vectorized buckets against a plain loop over them, on random
histories with missing and infinite values (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.tracking.downsample import downsample


def loop_downsample(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """The rule written out one bucket at a time: the first and last points, each bucket's
    nanargmin and nanargmax, an all-missing bucket's first point."""
    n = len(frame)
    if n <= max_points:
        return frame
    values = frame["value"].to_numpy(dtype="float64")
    edges = np.linspace(1, n - 1, (max_points - 2) // 2 + 1).astype(np.int64)
    keep = [0, n - 1]
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        part = values[start:stop]
        if stop <= start:
            continue
        if np.isnan(part).all():
            keep.append(start)
            continue
        keep += [start + int(np.nanargmin(part)), start + int(np.nanargmax(part))]
    return frame.iloc[np.unique(keep)].reset_index(drop=True)


def history(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": np.arange(len(values)), "value": np.asarray(values, "float64"),
                         "timestamp": pd.to_datetime(np.arange(len(values)), unit="s", utc=True)})


# few distinct values, so ties (the first of equal extremes is kept) are common
VALUE = st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf]),
                  st.floats(allow_nan=True, allow_infinity=True, width=32))


@settings(max_examples=400, deadline=None)
@given(values=st.lists(VALUE, min_size=0, max_size=300), max_points=st.integers(4, 80))
def test_buckets_match_the_loop_on_random_histories(values, max_points):
    frame = history(values)
    got = downsample(frame, max_points)
    pd.testing.assert_frame_equal(got, loop_downsample(frame, max_points))
    assert len(got) <= max_points


def test_spikes_dips_and_missing_buckets_survive():
    values = np.sin(np.linspace(0, 20, 10_000))
    values[1234], values[8765] = 50.0, -50.0
    values[3000:3600] = np.nan  # wider than a bucket (about 200 points): some are all missing
    frame = history(list(values))
    got = downsample(frame, 100)
    kept = got["step"].tolist()
    assert kept[0] == 0 and kept[-1] == 9_999 and kept == sorted(kept)
    assert {1234, 8765} <= set(kept)
    assert got["value"].isna().any()  # an all-missing bucket keeps its first point
    pd.testing.assert_frame_equal(got, loop_downsample(frame, 100))


@pytest.mark.parametrize("bad", [3, 0, -5, 2.5, True, "100"])
def test_max_points_is_an_integer_of_at_least_4(bad):
    with pytest.raises(MLOpsUsageError, match="max_points must be an integer of at least 4"):
        downsample(history([1.0] * 10), bad)
