"""Schema and profile of a DataFrame: what a dataset version and a feature materialization
show of their columns. Numbers keep count, sum and sum of squares (which merge exactly) and
exact quantiles; categories keep exact counts while they are few. (Drift keeps its own, finer
sketches: `drift.sketch`.) A partitioned parquet dataset gets the same profile from merged
partition summaries (`describe_partitioned`): everything exact but the quantiles, which come
from a merged KLL sketch and state their rank error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

CATEGORY_LEVELS = 50  # at most this many distinct values: the schema lists them
EXACT_COUNTS = 1000  # at most this many distinct values: the profile keeps every count
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PROFILE_VERSION = 2  # 1 also held a KLL sketch of each number column, never read


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_datetime(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(series)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def describe(df: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(schema, profile) in one pass over each column.

    Schema: column names, dtypes, nullability and the levels of low-cardinality columns.
    Profile: rows; per column missing values; numbers: min, max, mean, std and exact
    quantiles (numpy's partition, which leaves the GIL to the threads writing beside it);
    everything else: distinct values, the top 20, and all counts while few."""
    import numpy as np

    schema: list[dict[str, Any]] = []
    columns: dict[str, Any] = {}
    for name in df.columns:
        col = df[name]
        present = col.dropna()
        missing = int(len(col) - len(present))
        spec: dict[str, Any] = {"name": str(name), "dtype": str(col.dtype),
                                "nullable": missing > 0}
        entry: dict[str, Any] = {"missing": missing}
        if _is_numeric(col):
            values = present.to_numpy(dtype="float64", na_value=np.nan)
            values = values[np.isfinite(values)]  # a copy: the quantiles may reorder it
            n = len(values)
            entry.update(
                kind="numeric", count=n,
                sum=float(values.sum()) if n else 0.0,
                sum_sq=float(np.square(values).sum()) if n else 0.0,
                min=float(values.min()) if n else None,
                max=float(values.max()) if n else None,
                mean=float(values.mean()) if n else None,
                std=float(values.std(ddof=1)) if n > 1 else None,
                quantiles=dict(zip(map(str, QUANTILES), np.quantile(
                    values, QUANTILES, overwrite_input=True).tolist(), strict=True)) if n else {},
            )
        elif _is_datetime(col):
            entry.update(kind="datetime", min=str(present.min()) if len(present) else None,
                         max=str(present.max()) if len(present) else None)
        else:
            counts = present.value_counts()
            if len(counts) <= CATEGORY_LEVELS:
                spec["categories"] = sorted(map(_plain, counts.index), key=str)
            entry.update(kind="categorical", distinct=int(len(counts)),
                         top=[[str(_plain(k)), int(v)] for k, v in counts.head(20).items()])
            if len(counts) <= EXACT_COUNTS:
                entry["counts"] = {str(_plain(k)): int(v) for k, v in counts.items()}
        schema.append(spec)
        columns[str(name)] = entry
    return schema, {"version": PROFILE_VERSION, "rows": int(len(df)), "columns": columns}


def describe_partitioned(data: Any, executor: Any = None
                         ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(schema, profile) of a partitioned parquet dataset (`data.partitions.Partitioned`),
    computed one partition at a time here or on a Dask cluster (`executor`), as `describe`
    gives them for the whole frame: rows, missing, min, max, mean and std exact (merged), level
    counts exact, quantiles from the merged KLL sketch, each number column stating their rank
    error (`quantile_rank_error`: a value's true rank is within that share of the rows of the
    rank asked for; 0 when every value was kept)."""
    from ..drift.partials import summarize_partitioned

    total = summarize_partitioned(data, executor=executor)
    return describe_summary(total, data.dtypes(), len(data.partitions))


def describe_summary(total: dict[str, Any], dtypes: dict[str, str], partitions: int
                     ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(schema, profile) from merged partition summaries (`drift.partials.merge`'s total) of
    columns whose pandas dtypes are `dtypes`: see `describe_partitioned`."""
    import math

    from ..drift.partials import K

    schema: list[dict[str, Any]] = []
    columns: dict[str, Any] = {}
    for name, part in total["columns"].items():
        spec: dict[str, Any] = {"name": name, "dtype": dtypes[name],
                                "nullable": part.missing > 0}
        entry: dict[str, Any] = {"missing": part.missing}
        if part.kind == "numeric":
            n = part.n
            if part.missing and spec["dtype"].startswith(("int", "uint")):
                spec["dtype"] = "float64"  # as pandas reads an integer column with nulls
            quantiles, error = part.quantiles(QUANTILES) if n else ([], 0.0)
            entry.update(
                kind="numeric", count=n, sum=part.mean * n if n else 0.0,
                sum_sq=part.m2 + n * part.mean ** 2 if n else 0.0, min=part.min,
                max=part.max, mean=part.mean if n else None,
                std=math.sqrt(part.m2 / (n - 1)) if n > 1 else None,
                quantiles=dict(zip(map(str, QUANTILES), quantiles, strict=True)) if n else {},
                quantile_rank_error=error)
        elif part.kind == "datetime":
            entry.update(kind="datetime", min=part.text(part.min), max=part.text(part.max))
        else:
            ordered = sorted(part.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if len(ordered) <= CATEGORY_LEVELS:
                spec["categories"] = sorted((k for k, _ in ordered), key=str)
            entry.update(kind="categorical", distinct=len(ordered),
                         top=[[str(k), int(v)] for k, v in ordered[:20]])
            if len(ordered) <= EXACT_COUNTS:
                entry["counts"] = {str(k): int(v) for k, v in ordered}
        schema.append(spec)
        columns[name] = entry
    return schema, {"version": PROFILE_VERSION, "rows": int(total["rows"]), "columns": columns,
                    "partitions": partitions, "quantiles": {"sketch": "kll", "k": K}}


def profile_table(columns: list[tuple[str, str]], profile: dict[str, Any]) -> pd.DataFrame:
    """One row per (name, dtype) column: missing values and the profile's main statistics
    (the table a dataset version and a feature view both show)."""
    import pandas as pd

    stats = profile.get("columns", {})
    rows = []
    for name, dtype in columns:
        s = stats.get(name, {})
        top = ", ".join(f"{k} ({v})" for k, v in s.get("top", [])[:3])
        rows.append({"column": name, "dtype": dtype, "missing": s.get("missing"),
                     "min": s.get("min"), "mean": s.get("mean"), "max": s.get("max"),
                     "distinct": s.get("distinct"), "top": top or None})
    return pd.DataFrame(rows, columns=["column", "dtype", "missing", "min", "mean", "max",
                                       "distinct", "top"])
