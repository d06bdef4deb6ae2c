"""Materializing a view over partitioned parquet (`feature_view(..., partitions=PATH)`).

Each partition's feature rows are computed where the executor says (here, a partition at a
time, or one Dask task per partition on the workers), written to the artifact store as a part,
summarized for the profile (mergeable partials: `drift.partials`) and reduced to each key's
latest row; only those small results come back. This side then joins the parts into the
view's one parquet file a part at a time, refuses an (entity, timestamp) pair repeated across
partitions (DuckDB, out of core) before anything is recorded, and writes each key's latest
row online when asked. Memory: a partition on a worker; here, a part at a time and each key's
latest row (what the online store holds anyway). Parts nothing refers to are left to `gc`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from ..store import get_store
from .frames import key_arrays, last_positions, refuse_duplicates, row_order

if TYPE_CHECKING:
    import pandas as pd

    from ..data.partitions import Partition
    from .views import FeatureView


def _latest(frame: pd.DataFrame, entities: list[str], timestamp: str) -> pd.DataFrame:
    """Each entity's newest row."""
    arrays = key_arrays(frame, [*entities, timestamp])
    return frame.take(last_positions(arrays[:-1], row_order(arrays))).reset_index(drop=True)


def compute_partition(part: Partition, view: FeatureView, fn: Callable[..., Any],
                      lo: float | None, hi: float | None, online: bool, *,
                      threads: int = 1) -> dict[str, Any]:
    """One partition's feature rows (window `lo` <= time < `hi`), stored as a part: its
    digest, rows, profile partials, event range and (`online`) each key's latest row."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..data.partitions import column_kind
    from ..drift.partials import summarize_array
    from .offline import _event_range, _in_window
    from .views import check_frame

    entities, names = list(view.entities), [n for n, _ in view.features]
    keys = [*entities, view.timestamp]
    try:
        rows = check_frame(fn(part.frame()), view.entities, view.timestamp, unique=False)
        extra = sorted(set(map(str, rows.columns)) - set(keys) - set(names))
        absent = [n for n in names if n not in rows.columns]
        if extra or absent:
            raise MLOpsUsageError(f"the rows have features {', '.join(extra) or 'none'} the "
                                  f"view does not, and lack {', '.join(absent) or 'none'}")
        rows = rows[[*keys, *names]]
        if lo is not None or hi is not None:
            rows = rows[_in_window(rows[view.timestamp], lo, hi)]
        arrays = key_arrays(rows, keys)
        order = row_order(arrays)
        refuse_duplicates(rows, keys, arrays, order)
    except MLOpsUsageError as exc:
        raise MLOpsUsageError(f"view {view.ref}, partition {part.label}: {exc}") from None
    table = pa.Table.from_pandas(rows, preserve_index=False).take(order)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    digest = get_store().artifacts.put_bytes(buf.getvalue())[0]
    kinds = {n: column_kind(table.schema.field(n).type) for n in names}
    columns = {n: summarize_array(table.column(n), "categorical" if k == "empty" else k).pack()
               for n, k in kinds.items()}
    first, last = _event_range(rows[view.timestamp])
    return {"parts": [(part.label, digest, len(rows))], "summary": {"rows": len(rows), "columns": columns},
            "first": first, "last": last,
            "latest": _latest(rows, entities, view.timestamp) if online and len(rows) else None}


def _merger(view: FeatureView) -> Callable[[Any, Any], Any]:
    from ..drift.partials import merge

    def fold(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
        if total is None:
            return part
        import pandas as pd

        total["parts"] += part["parts"]
        total["summary"] = merge(total["summary"], part["summary"])
        for key, pick in (("first", min), ("last", max)):
            seen = [v for v in (total[key], part[key]) if v is not None]
            total[key] = pick(seen) if seen else None
        latest = [f for f in (total["latest"], part["latest"]) if f is not None]
        total["latest"] = (_latest(pd.concat(latest, ignore_index=True), list(view.entities),
                                   view.timestamp) if len(latest) > 1
                           else latest[0] if latest else None)
        return total

    return fold


def _join(parts: list[tuple[str, str, int]], target: Path) -> Any:
    """The parts with rows, in partition order, written one after another into one parquet
    file (the first part alone when none has rows); its arrow schema (the first part's:
    later parts are cast to it)."""
    import pyarrow.parquet as pq

    artifacts = get_store().artifacts
    ordered = sorted(parts)
    schema, writer = None, None
    try:
        for label, digest, _ in [p for p in ordered if p[2]] or ordered[:1]:
            with artifacts.fs.open(artifacts.path(digest), "rb") as handle:
                table = pq.read_table(handle)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(target, schema, compression="zstd")
            elif table.schema != schema:
                try:
                    table = table.cast(schema)
                except Exception:
                    raise MLOpsUsageError(f"partition {label} gives the features other types "
                                          f"({table.schema}) than the first ({schema})") from None
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return schema


def _repeated(path: Path, keys: list[str]) -> tuple | None:
    """An (entity, timestamp) pair found on more than one row of the file, or None (DuckDB
    groups out of core)."""
    import duckdb

    cols = ", ".join('"' + k.replace('"', '""') + '"' for k in keys)
    with duckdb.connect() as con:
        return con.execute(f"SELECT {cols} FROM read_parquet(?) GROUP BY {cols} "
                           "HAVING count(*) > 1 LIMIT 1", [str(path)]).fetchone()


def compute(view: FeatureView, lo: float | None, hi: float | None, online: bool,
            executor: Any) -> dict[str, Any]:
    """The view's rows over its partitions, stored as one parquet blob: {digest, rows,
    profile, first, last, latest (each key's newest row, with `online`)}."""
    from ..data.partitions import open_partitioned, run_partitions
    from ..data.profile import describe_summary
    from .views import partition_function

    fn = partition_function(view)  # trust is decided here, never on a worker
    data = open_partitioned(view.partitions)
    total = run_partitions(compute_partition, data, _merger(view), view, fn, lo, hi, online,
                           executor=executor, desc=f"materialize {view.name}")
    keys = [*view.entities, view.timestamp]
    with tempfile.TemporaryDirectory() as tmp:
        joined = Path(tmp) / "rows.parquet"
        schema = _join(total["parts"], joined)
        repeat = _repeated(joined, keys)
        if repeat is not None:
            pairs = ", ".join(f"{k}={v!r}" for k, v in zip(keys, repeat, strict=True))
            raise MLOpsUsageError(f"view {view.ref}: the rows of more than one partition share "
                                  f"the key and time ({pairs}); nothing was stored")
        digest = get_store().artifacts.put_file(joined)[0]
    dtypes = {str(c): str(t) for c, t in schema.empty_table().to_pandas().dtypes.items()}
    names = [n for n, _ in view.features]
    _, profile = describe_summary(total["summary"], {n: dtypes[n] for n in names},
                                  len(data.partitions))
    return {"digest": digest, "rows": int(total["summary"]["rows"]), "profile": profile,
            "first": total["first"], "last": total["last"], "latest": total["latest"]}
