"""Row order of a view's frame by entity and time: the order itself, the duplicate (entity,
time) check and each entity's last row, all on numpy arrays of the key columns (numbers and
times as they are, other values by their sorted codes), several times faster than pandas'
sort_values / duplicated / drop_duplicates. Callers keep the frame as it came and take rows
through the order, so nothing copies the whole frame but the parquet writer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd


def key_arrays(frame: pd.DataFrame, columns: list[str]) -> list[Any]:
    """The columns as numpy arrays that order and compare like the values: numbers and
    times as integers or floats, anything else (text, missing values) by its code."""
    import pandas as pd

    arrays = []
    for c in columns:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            arrays.append(col.dt.as_unit("us").astype("int64").to_numpy())
        elif (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_complex_dtype(col)
              and not col.hasnans):
            arrays.append(col.to_numpy())
        else:
            try:
                arrays.append(pd.factorize(col, sort=True)[0])
            except TypeError:  # values that do not compare (mixed types): grouped, not sorted
                arrays.append(pd.factorize(col)[0])
    return arrays


def row_order(arrays: list[Any]) -> Any:
    """Positions that order the rows by the key arrays, first to last. Integer keys (codes
    and times included) whose ranges fit together in 64 bits are packed into one integer
    and sorted at once, about five times faster than `np.lexsort` (which also holds the
    GIL); the order of equal keys is then arbitrary, which the callers allow: repeated
    keys are refused, and repeats stay neighbours whatever their order."""
    import numpy as np

    if not len(arrays) or not len(arrays[0]):
        return np.arange(len(arrays[0]) if arrays else 0)
    packed = _packed(arrays)
    return np.lexsort(arrays[::-1]) if packed is None else np.argsort(packed)


def _packed(arrays: list[Any]) -> Any:
    """One int64 per row that orders like the key arrays together, or None when a key is
    not an integer or their ranges need more than 63 bits."""
    import numpy as np

    if any(a.dtype.kind not in "biu" for a in arrays):
        return None
    bounds = [(int(a.min()), int(a.max())) for a in arrays]
    total = 1
    for lo, hi in bounds:
        total *= hi - lo + 1
    if total >= 2**63:
        return None
    packed = np.zeros(len(arrays[0]), dtype="int64")
    for a, (lo, hi) in zip(arrays, bounds, strict=True):
        packed *= hi - lo + 1
        packed += (a - np.uint64(lo)).astype("int64") if a.dtype == np.uint64 else \
            a.astype("int64") - lo
    return packed


def refuse_duplicates(frame: pd.DataFrame, columns: list[str], arrays: list[Any] | None = None,
                      order: Any = None) -> None:
    """One clear error when rows repeat an (entity, timestamp) pair. Given the key arrays
    and their order, repeats are neighbours (one comparison a row)."""
    import numpy as np

    if arrays is None:
        arrays = key_arrays(frame, columns)
    if order is None:
        order = row_order(arrays)
    ordered = [a[order] for a in arrays]
    repeat = np.zeros(len(order), dtype=bool)
    if len(order):
        repeat[1:] = np.logical_and.reduce([a[1:] == a[:-1] for a in ordered])
    if repeat.any():
        first = frame.iloc[order[repeat]][columns].iloc[0].tolist()
        raise MLOpsUsageError(f"{int(repeat.sum())} rows repeat an (entity, timestamp) pair, "
                              f"e.g. {first}: a view has one row per entity and time")


def last_positions(arrays: list[Any], order: Any) -> Any:
    """Of rows in `order` (by entity, then time), the positions of each entity's last row;
    `arrays`: the entity key arrays."""
    import numpy as np

    if not len(order):
        return order
    ordered = [a[order] for a in arrays]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = np.logical_or.reduce([a[1:] != a[:-1] for a in ordered])
    return order[last]
