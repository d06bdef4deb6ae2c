"""Metric history in chunks: each flush writes one row per (run, key) holding its points as
three packed little-endian arrays (int64 steps, float64 values, float64 timestamps).

A row per point would cap durable logging at SQLite's insert rate with an index (about half a
million rows a second here); a chunk costs one insert for up to CHUNK points, and a history of
a million points reads back as a handful of rows."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

CHUNK = 100_000  # points per row at most


def pack(steps: Sequence[int], values: Sequence[float], timestamps: Sequence[float]) -> bytes:
    """The bytes of one chunk."""
    arrays = (array("q", steps), array("d", values), array("d", timestamps))
    if sys.byteorder == "big":
        for a in arrays:
            a.byteswap()
    return b"".join(a.tobytes() for a in arrays)


def unpack(data: bytes, count: int):
    """(steps, values, timestamps) of one chunk as numpy arrays (no copy)."""
    import numpy as np

    steps = np.frombuffer(data, dtype="<i8", count=count)
    values = np.frombuffer(data, dtype="<f8", count=count, offset=8 * count)
    timestamps = np.frombuffer(data, dtype="<f8", count=count, offset=16 * count)
    return steps, values, timestamps
