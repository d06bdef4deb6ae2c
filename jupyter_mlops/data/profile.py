"""Schema and profile of a DataFrame. Profiles are mergeable: numbers keep a KLL quantile
sketch (Apache DataSketches) beside count/sum/sum of squares, categories keep exact counts
while they are few, so drift and feature statistics reuse them without reading data again."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

CATEGORY_LEVELS = 50  # at most this many distinct values: the schema lists them
EXACT_COUNTS = 1000  # at most this many distinct values: the profile keeps every count
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PROFILE_VERSION = 1


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def schema_of(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Column names, dtypes, nullability and the levels of low-cardinality text columns."""
    out = []
    for name in df.columns:
        col = df[name]
        entry: dict[str, Any] = {"name": str(name), "dtype": str(col.dtype),
                                 "nullable": bool(col.isna().any())}
        if not _is_numeric(col) and not _is_datetime(col):
            levels = col.dropna().unique()
            if len(levels) <= CATEGORY_LEVELS:
                entry["categories"] = sorted(map(_plain, levels), key=str)
        out.append(entry)
    return out


def _is_datetime(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(series)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def profile_of(df: pd.DataFrame) -> dict[str, Any]:
    """Rows; per column missing values; numbers: min, max, mean, std, quantiles and the sketch;
    everything else: distinct values, the top 20, and all counts while they are few."""
    import numpy as np
    from datasketches import kll_doubles_sketch

    columns: dict[str, Any] = {}
    for name in df.columns:
        col = df[name]
        present = col.dropna()
        entry: dict[str, Any] = {"missing": int(len(col) - len(present))}
        if _is_numeric(col):
            values = present.to_numpy(dtype="float64", na_value=np.nan)
            values = values[np.isfinite(values)]
            sketch = kll_doubles_sketch(200)
            if len(values):
                sketch.update(values)
            entry.update(
                kind="numeric", count=int(len(values)),
                sum=float(values.sum()) if len(values) else 0.0,
                sum_sq=float(np.square(values).sum()) if len(values) else 0.0,
                min=float(values.min()) if len(values) else None,
                max=float(values.max()) if len(values) else None,
                mean=float(values.mean()) if len(values) else None,
                std=float(values.std(ddof=1)) if len(values) > 1 else None,
                quantiles=dict(zip(map(str, QUANTILES), sketch.get_quantiles(list(QUANTILES)),
                                   strict=True)) if len(values) else {},
                sketch=base64.b64encode(sketch.serialize()).decode(),
            )
        elif _is_datetime(col):
            entry.update(kind="datetime", min=str(present.min()) if len(present) else None,
                         max=str(present.max()) if len(present) else None)
        else:
            counts = present.astype(str).value_counts()
            entry.update(kind="categorical", distinct=int(len(counts)),
                         top=[[k, int(v)] for k, v in counts.head(20).items()])
            if len(counts) <= EXACT_COUNTS:
                entry["counts"] = {k: int(v) for k, v in counts.items()}
        columns[str(name)] = entry
    return {"version": PROFILE_VERSION, "rows": int(len(df)), "columns": columns}


def quantile_sketch(profile: dict[str, Any], column: str):
    """The KLL sketch of a numeric column of a stored profile (to merge or query)."""
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch.deserialize(
        base64.b64decode(profile["columns"][column]["sketch"]))
